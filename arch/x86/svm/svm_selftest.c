/*
 * Self-test and benchmark of the SVM backend on the CPU they run on, without
 * the virtualization core: probe, prepare, enable, a VM with slot 0 (64 KiB
 * at guest-physical 0), every kind of built-in guest, slot unmapping,
 * injected faults, disable and emergency disable.  Everything is put back as
 * found.  On a machine without usable SVM (Intel, Bochs, SVM disabled) the
 * test passes with a note saying why it did nothing.
 *
 * If SVM is already on here (the core has a VM running), the test uses it as
 * it is and leaves enable/disable alone.
 */
#include "svm_internal.h"
#include <asm/cpu.h>
#include <asm/percpu.h>
#include <asm/time.h>
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/inject.h>
#include <vigil/mm.h>
#include <vigil/sched.h>
#include <vigil/selftest.h>
#include <asm/virt_selftest.h>
#include <vigil/smp.h>
#include <vigil/cpu.h>
#include <vigil/string.h>

INJECT_DECLARE(svm_disabled);
INJECT_DECLARE(svm_bad_vmcb);

#define SLOT0_SIZE  (64 * 1024)
#define SLOT0_ORDER 4

struct svm_test {
	unsigned cpu;
	bool enabled_here;         /* we turned SVM on, so we turn it off */
	struct vm *vm;
	char why[128];
};

static void test_end_vm(struct svm_test *t)
{
	if (!t->vm)
		return;
	struct vm_slot *s = &t->vm->slots[0];
	if (t->vm->arch && s->used)
		svm_vm_unmap_slot(t->vm, s);
	svm_vm_destroy(t->vm);
	if (s->hpa)
		pmm_free_pages(s->hpa, s->order);
	kfree(t->vm);
	t->vm = NULL;
}

static void test_end(struct svm_test *t)
{
	test_end_vm(t);
	if (t->enabled_here) {
		svm_disable();
		t->enabled_here = false;
	}
}

/* Preemption must be off.  1: SVM unusable here (skip, t->why says why);
 * 0: SVM on and a VM with slot 0 ready; -1: failure (t->why). */
static int test_begin(struct svm_test *t)
{
	memset(t, 0, sizeof(*t));
	if (svm_probe(t->why, sizeof(t->why)))
		return 1;
	t->cpu = smp_processor_id();
	if (svm_prepare_cpu(t->cpu)) {
		snprintf(t->why, sizeof(t->why), "prepare_cpu(%u) failed", t->cpu);
		return -1;
	}
	if (!svm_hw_enabled()) {
		if (svm_enable(t->why, sizeof(t->why)))
			return -1;
		t->enabled_here = true;
	}
	t->vm = kzalloc(sizeof(*t->vm));
	uint64_t pa = pmm_alloc_pages(SLOT0_ORDER);
	if (!t->vm || !pa) {
		if (pa)
			pmm_free_pages(pa, SLOT0_ORDER);
		snprintf(t->why, sizeof(t->why), "out of memory for the test VM");
		test_end(t);
		return -1;
	}
	memset(phys_to_virt(pa), 0, SLOT0_SIZE);
	t->vm->id = 9999;
	t->vm->slots[0] = (struct vm_slot){ .gpa = 0, .size = SLOT0_SIZE, .hpa = pa, .order = SLOT0_ORDER, .used = true };
	if (svm_vm_init(t->vm, t->why, sizeof(t->why)) ||
	    svm_vm_map_slot(t->vm, &t->vm->slots[0], t->why, sizeof(t->why))) {
		t->vm->slots[0].used = false;
		test_end(t);
		return -1;
	}
	return 0;
}

static int run_guest(struct svm_test *t, enum guest_kind kind, uint64_t max_exits, struct vcpu_run *run)
{
	memset(run, 0, sizeof(*run));
	run->guest = kind;
	run->max_exits = max_exits;
	return svm_vcpu_run(t->vm, run);
}

static int check_normal(struct selftest_ctx *ctx, const char *what, int r, const struct vcpu_run *run, uint64_t max)
{
	return virt_selftest_check_normal_run(ctx, what, r, run, max);
}

static int check_failed(struct selftest_ctx *ctx, const char *what, int r, const struct vcpu_run *run,
			enum vexit last, const char *needle)
{
	ST_ASSERT(ctx, r == 0, "%s: vcpu_run returned %d: %s", what, r, run->why);
	ST_ASSERT(ctx, run->guest_failed, "%s: guest not reported as failed (%lu exits)", what,
		  (unsigned long)run->exits);
	ST_ASSERT(ctx, run->last_exit == last, "%s: last exit %s, expected %s", what, vexit_name(run->last_exit),
		  vexit_name(last));
	ST_ASSERT(ctx, strstr(run->why, needle), "%s: '%s' does not mention '%s'", what, run->why, needle);
	return 0;
}

/* The guest on another CPU, from an IPI callback (interrupts off for the
 * whole run), while this CPU keeps sending it NMIs: each NMI must end the
 * guest's time slice (an "other" exit), reach the host's NMI handler after
 * STGI, and leave the guest none the wiser. */
struct remote_run {
	struct svm_test *t;
	struct vcpu_run run;
	unsigned cpu;
	int r;
	char why[128];
	volatile bool done;
};

static void remote_run_fn(void *arg)
{
	struct remote_run *rr = arg;
	rr->cpu = smp_processor_id();
	rr->r = -1;
	bool was_on = svm_hw_enabled();
	if (svm_prepare_cpu(rr->cpu)) {
		snprintf(rr->why, sizeof(rr->why), "prepare_cpu(%u) failed", rr->cpu);
	} else if (was_on || svm_enable(rr->why, sizeof(rr->why)) == 0) {
		rr->r = run_guest(rr->t, GUEST_NORMAL, 2000, &rr->run);
		if (!was_on)
			svm_disable();
	}
	__atomic_store_n(&rr->done, true, __ATOMIC_RELEASE);
}

static int test_remote_nmi(struct selftest_ctx *ctx, struct svm_test *t)
{
	unsigned target = CONFIG_MAX_CPUS;
	for (unsigned c = 0; c < nr_possible_cpus && target == CONFIG_MAX_CPUS; c++)
		if (c != t->cpu && cpu_is_online(c))
			target = c;
	if (target == CONFIG_MAX_CPUS || !arch_irqs_enabled()) {
		st_note(ctx, "no other online CPU (or interrupts off): remote run with NMIs not tested");
		return 0;
	}
	struct remote_run *rr = kzalloc(sizeof(*rr));
	ST_ASSERT(ctx, rr, "out of memory");
	rr->t = t;
	uint64_t nmis_before = nmi_count[target], sent = 0;
	uint64_t deadline = arch_time_ns() + 20000000000ULL;
	if (smp_call_function_single(target, remote_run_fn, rr, false)) {
		kfree(rr);
		return st_fail(ctx, "CPU %u did not take the call", target);
	}
	while (!__atomic_load_n(&rr->done, __ATOMIC_ACQUIRE) && arch_time_ns() < deadline) {
		arch_send_nmi(target);
		sent++;
		udelay(200);
	}
	bool done = __atomic_load_n(&rr->done, __ATOMIC_ACQUIRE);
	uint64_t nmis = nmi_count[target] - nmis_before;
	int r = 0;
	if (!done) {
		/* The callback still uses rr and the VM: leak both rather than
		 * free them under its feet. */
		t->vm = NULL;
		return st_fail(ctx, "guest on CPU %u did not finish 2000 exits in 20 s", target);
	}
	if (rr->why[0])
		r = st_fail(ctx, "on CPU %u: %s", target, rr->why);
	else if (check_normal(ctx, "guest on another CPU with NMIs", rr->r, &rr->run, 2000))
		r = -1;
	else if (nmis == 0)
		r = st_fail(ctx, "CPU %u handled none of the %lu NMIs sent", target, (unsigned long)sent);
	else
		st_note(ctx, "CPU %u, interrupts off: 2000 exits, %lu NMIs sent, %lu handled, %lu NMI/other exits",
			target, (unsigned long)sent, (unsigned long)nmis, (unsigned long)rr->run.exit_count[VEXIT_OTHER]);
	kfree(rr);
	return r;
}

/* Arm an injection point for one hit on this CPU; returns the old state. */
static struct inject_point arm_once(struct inject_point *p, unsigned cpu)
{
	struct inject_point old = *p;
	p->cpu = (int)cpu;
	p->remaining = 1;
	__atomic_store_n(&p->armed, 1, __ATOMIC_RELEASE);
	return old;
}

static void restore_point(struct inject_point *p, const struct inject_point *old)
{
	p->cpu = old->cpu;
	p->remaining = old->remaining;
	__atomic_store_n(&p->armed, old->armed, __ATOMIC_RELEASE);
}

static int test_snapshot(struct selftest_ctx *ctx, struct svm_test *t)
{
	struct virt_compat *c = kzalloc(sizeof(*c));
	ST_ASSERT(ctx, c, "out of memory");
	svm_snapshot(c);
	int ok = c->n == 4 && !strcmp(c->f[0].name, "cpuid.80000001.ecx.svm") && c->f[0].value == 1 &&
		 !c->unusable[0];
	char first[96];
	snprintf(first, sizeof(first), "n=%u unusable='%s'", c->n, c->unusable);

	memset(c, 0, sizeof(*c));
	struct inject_point old = arm_once(&inject_svm_disabled, t->cpu);
	svm_snapshot(c);
	bool still_armed = inject_svm_disabled.armed;
	restore_point(&inject_svm_disabled, &old);
	bool injected = !strcmp(c->unusable, "SVM disabled by firmware (VM_CR.SVMDIS=1) (injected)");
	char second[96];
	snprintf(second, sizeof(second), "%s", c->unusable);
	kfree(c);
	ST_ASSERT(ctx, ok, "snapshot: %s", first);
	ST_ASSERT(ctx, injected, "snapshot with svm_disabled armed says '%s'", second);
	ST_ASSERT(ctx, !still_armed, "svm_disabled still armed after its one hit");
	return 0;
}

static int test_guests(struct selftest_ctx *ctx, struct svm_test *t)
{
	struct vcpu_run *run = kzalloc(sizeof(*run));
	ST_ASSERT(ctx, run, "out of memory");
	int r, ret = -1;

	r = run_guest(t, GUEST_NORMAL, 100, run);
	if (check_normal(ctx, "normal guest", r, run, 100))
		goto out;
	st_note(ctx, "normal guest: 100 exits in %lu ns (%lu ns/exit), %lu from host interrupts",
		(unsigned long)run->guest_ns, (unsigned long)(run->guest_ns / run->exits),
		(unsigned long)run->exit_count[VEXIT_OTHER]);

	r = run_guest(t, GUEST_WILD, 100, run);
	if (check_failed(ctx, "wild guest", r, run, VEXIT_MEM_FAULT, "unmapped guest-physical 0x40000000"))
		goto out;
	r = run_guest(t, GUEST_BAD_INSN, 100, run);
	if (check_failed(ctx, "bad-instruction guest", r, run, VEXIT_EXCEPTION,
			 "undefined instruction at rip 0x1000"))
		goto out;

	struct inject_point old = arm_once(&inject_svm_bad_vmcb, t->cpu);
	r = run_guest(t, GUEST_NORMAL, 100, run);
	restore_point(&inject_svm_bad_vmcb, &old);
	if (check_failed(ctx, "injected bad VMCB", r, run, VEXIT_ENTRY_FAILED, "EFER.SVME"))
		goto out;
	if (run->exits != 1) {
		st_fail(ctx, "injected bad VMCB: %lu exits, expected 1", (unsigned long)run->exits);
		goto out;
	}

	r = run_guest(t, GUEST_NORMAL, 0, run);
	if (r || run->exits || run->guest_failed) {
		st_fail(ctx, "max_exits=0: vcpu_run=%d exits=%lu: %s", r, (unsigned long)run->exits, run->why);
		goto out;
	}

	/* Slot changes: a second mapping of the same range is refused and
	 * changes nothing; after unmapping, the guest's first fetch faults
	 * (the TLB flush at entry forgets the old translation); mapping
	 * again brings it back. */
	char why[128] = "";
	if (svm_vm_map_slot(t->vm, &t->vm->slots[0], why, sizeof(why)) == 0 || !strstr(why, "already mapped")) {
		st_fail(ctx, "mapping slot 0 twice: '%s'", why);
		goto out;
	}
	r = run_guest(t, GUEST_NORMAL, 100, run);
	if (check_normal(ctx, "normal guest after a refused second mapping", r, run, 100))
		goto out;
	svm_vm_unmap_slot(t->vm, &t->vm->slots[0]);
	r = run_guest(t, GUEST_NORMAL, 100, run);
	if (r != -1 || !strstr(run->why, "0x1000") || run->last_exit != VEXIT_MEM_FAULT) {
		st_fail(ctx, "after unmap: vcpu_run=%d last=%s '%s'", r, vexit_name(run->last_exit), run->why);
		goto out;
	}
	if (svm_vm_map_slot(t->vm, &t->vm->slots[0], why, sizeof(why))) {
		st_fail(ctx, "mapping slot 0 again: %s", why);
		goto out;
	}
	r = run_guest(t, GUEST_NORMAL, 100, run);
	if (check_normal(ctx, "normal guest after remap", r, run, 100))
		goto out;
	ret = 0;
out:
	kfree(run);
	return ret;
}

/* With interrupts on, the LAPIC timer must keep ticking: proof that GIF is
 * set (a CPU left with GIF clear takes no interrupt ever again). */
static bool timer_ticks_within(uint64_t ms)
{
	uint64_t start = this_cpu()->timer_ticks, deadline = arch_time_ns() + ms * 1000000ULL;
	while (arch_time_ns() < deadline)
		if (__atomic_load_n(&this_cpu()->timer_ticks, __ATOMIC_RELAXED) != start)
			return true;
	return false;
}

static int test_on_off(struct selftest_ctx *ctx, struct svm_test *t)
{
	char why[128] = "";
	ST_ASSERT(ctx, svm_hw_enabled(), "EFER.SVME clear after enable");
	ST_ASSERT(ctx, rdmsr(MSR_VM_HSAVE_PA) == svm_hsave_pa[t->cpu], "VM_HSAVE_PA=0x%lx, expected 0x%lx",
		  (unsigned long)rdmsr(MSR_VM_HSAVE_PA), (unsigned long)svm_hsave_pa[t->cpu]);
	ST_ASSERT(ctx, svm_enable(why, sizeof(why)) == -1 && !strcmp(why, "EFER.SVME already set: another hypervisor owns this CPU"),
		  "second enable: '%s'", why);
	ST_ASSERT(ctx, svm_hw_enabled() && rdmsr(MSR_VM_HSAVE_PA) == svm_hsave_pa[t->cpu],
		  "refused enable changed the CPU");

	/* disable with GIF clear, as if interrupted in the middle of entering
	 * a guest: it must set GIF again. */
	bool irqs = arch_irqs_enabled();
	svm_clgi();
	svm_disable();
	t->enabled_here = false;
	ST_ASSERT(ctx, !svm_hw_enabled() && rdmsr(MSR_VM_HSAVE_PA) == 0, "disable left EFER.SVME=%d VM_HSAVE_PA=0x%lx",
		  svm_hw_enabled(), (unsigned long)rdmsr(MSR_VM_HSAVE_PA));
	if (irqs)
		ST_ASSERT(ctx, timer_ticks_within(100), "no timer interrupt after disable: GIF left clear?");

	/* Same for emergency_disable, twice (idempotent). */
	ST_ASSERT(ctx, svm_enable(why, sizeof(why)) == 0, "enable again: %s", why);
	t->enabled_here = true;
	svm_clgi();
	svm_emergency_disable();
	svm_emergency_disable();
	t->enabled_here = false;
	ST_ASSERT(ctx, !svm_hw_enabled() && rdmsr(MSR_VM_HSAVE_PA) == 0, "emergency_disable left EFER.SVME=%d",
		  svm_hw_enabled());
	if (irqs)
		ST_ASSERT(ctx, timer_ticks_within(100), "no timer interrupt after emergency_disable: GIF left clear?");
	return 0;
}

/* The nRIP rule (svm_exit.c): TCG never takes this path (no NRIPS), KVM's
 * nested SVM always does, so it is checked here on its own. */
static int test_nrip_rule(struct selftest_ctx *ctx)
{
	static const struct { uint32_t features; uint64_t rip, next; unsigned want; } cases[] = {
		{ SVM_FEAT_NRIPS, 0x1000, 0x1002, 2 },      /* CPUID */
		{ SVM_FEAT_NRIPS, 0x1000, 0x100F, 15 },     /* longest instruction */
		{ SVM_FEAT_NRIPS, 0x1000, 0, 0 },           /* exception exit: not written */
		{ SVM_FEAT_NRIPS, 0x1000, 0x1000, 0 },
		{ SVM_FEAT_NRIPS, 0x1000, 0x1010, 0 },      /* 16 bytes: impossible */
		{ SVM_FEAT_NRIPS, ~0ULL - 1, 1, 0 },        /* behind RIP */
		{ 0, 0x1000, 0x1002, 0 },                   /* no NRIPS: never trusted */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned got = svm_nrip_length(cases[i].features, cases[i].rip, cases[i].next);
		ST_ASSERT(ctx, got == cases[i].want, "nRIP case %u: length %u, want %u", i, got, cases[i].want);
	}
	return 0;
}

static int test_svm(struct selftest_ctx *ctx)
{
	struct svm_test t;
	int nrip = test_nrip_rule(ctx);
	if (nrip)
		return nrip;
	preempt_disable();
	int r = test_begin(&t);
	if (r == 1) {
		preempt_enable();
		st_note(ctx, "SVM unavailable, nothing tested: %s", t.why);
		return 0;
	}
	if (r < 0) {
		preempt_enable();
		return st_fail(ctx, "setting up: %s", t.why);
	}
	bool was_enabled = !t.enabled_here;
	if (was_enabled)
		st_note(ctx, "SVM already on on CPU %u: enable/disable not tested", t.cpu);
	r = test_snapshot(ctx, &t);
	if (!r)
		r = test_guests(ctx, &t);
	if (!r)
		r = test_remote_nmi(ctx, &t);
	test_end_vm(&t);
	if (!r && !was_enabled)
		r = test_on_off(ctx, &t);
	test_end(&t);
	preempt_enable();
	return r;
}
SELFTEST(svm, test_svm);

/* ns per exit of the normal guest (CPUID, OUT, VMMCALL, HLT in turn), one
 * sample per run of 1000 exits. */
static unsigned bench_svm_exit(uint64_t *samples, unsigned max)
{
	struct svm_test t;
	struct vcpu_run run;
	unsigned n = 0;
	preempt_disable();
	if (test_begin(&t) == 0) {
		for (; n < max && n < 16; n++) {
			if (run_guest(&t, GUEST_NORMAL, 1000, &run) || run.guest_failed || !run.exits)
				break;
			samples[n] = run.guest_ns / run.exits;
		}
		test_end(&t);
	}
	preempt_enable();
	return n;
}
BENCH(svm_exit, "ns", bench_svm_exit);
