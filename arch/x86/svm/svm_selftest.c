/*
 * Self-test `svm` and benchmark `svm_exit` of the SVM backend on the CPU they
 * run on, without the virtualization core: the backend contract
 * (arch/x86/virt/backend_selftest.c) with SVM's table, plus what only SVM
 * has: its snapshot fields, a guest run on another CPU with interrupts off
 * while NMIs arrive, VM_HSAVE_PA, and disable/emergency disable with GIF
 * clear.  Everything is put back as found.  On a machine without usable SVM
 * (Intel, Bochs, SVM disabled) the test passes with a note saying why it
 * did nothing.
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

/* The guest on another CPU, from an IPI callback (interrupts off for the
 * whole run), while this CPU keeps sending it NMIs: each NMI must end the
 * guest's time slice (an "other" exit), reach the host's NMI handler after
 * STGI, and leave the guest none the wiser. */
struct remote_run {
	struct backend_test *t;
	struct vcpu_run run;
	unsigned cpu;
	int r;
	char why[WHY_MAX];
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
		rr->r = backend_run_guest(rr->t, GUEST_NORMAL, 2000, &rr->run);
		if (!was_on)
			svm_disable();
	}
	__atomic_store_n(&rr->done, true, __ATOMIC_RELEASE);
}

static int test_remote_nmi(struct selftest_ctx *ctx, struct backend_test *t)
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
	else if (backend_check_normal(ctx, t, "guest on another CPU with NMIs", rr->r, &rr->run, 2000))
		r = -1;
	else if (nmis == 0)
		r = st_fail(ctx, "CPU %u handled none of the %lu NMIs sent", target, (unsigned long)sent);
	else
		st_note(ctx, "CPU %u, interrupts off: 2000 exits, %lu NMIs sent, %lu handled, %lu NMI/other exits",
			target, (unsigned long)sent, (unsigned long)nmis, (unsigned long)rr->run.exit_count[VEXIT_OTHER]);
	kfree(rr);
	return r;
}

static int test_snapshot(struct selftest_ctx *ctx, struct backend_test *t)
{
	struct virt_compat *c = kzalloc(sizeof(*c));
	ST_ASSERT(ctx, c, "out of memory");
	svm_snapshot(c);
	int ok = c->n == 4 && !strcmp(c->f[0].name, "cpuid.80000001.ecx.svm") && c->f[0].value == 1 &&
		 !c->unusable[0];
	char first[96];
	snprintf(first, sizeof(first), "n=%u unusable='%s'", c->n, c->unusable);
	kfree(c);
	(void)t;
	ST_ASSERT(ctx, ok, "snapshot: %s", first);
	return 0;
}

/* With interrupts on, the LAPIC timer must keep ticking: proof that GIF is
 * set (a CPU left with GIF clear takes no interrupt ever again). */
bool svm_timer_ticks_within(uint64_t ms)
{
	uint64_t start = this_cpu()->timer_ticks, deadline = arch_time_ns() + ms * 1000000ULL;
	while (arch_time_ns() < deadline)
		if (__atomic_load_n(&this_cpu()->timer_ticks, __ATOMIC_RELAXED) != start)
			return true;
	return false;
}

static int test_on_off(struct selftest_ctx *ctx, struct backend_test *t)
{
	char why[WHY_MAX] = "";
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
		ST_ASSERT(ctx, svm_timer_ticks_within(100), "no timer interrupt after disable: GIF left clear?");

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
		ST_ASSERT(ctx, svm_timer_ticks_within(100), "no timer interrupt after emergency_disable: GIF left clear?");
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

static const struct backend_entry_fault svm_entry_faults[] = {
	{ &inject_svm_bad_vmcb, "injected bad VMCB", "EFER.SVME", true },
};

static const struct backend_checks svm_checks = {
	.label = "SVM",
	.ops = &svm_ops,
	.vm_id = 9999,
	.firmware_off = &inject_svm_disabled,
	.firmware_off_reason = "SVM disabled by firmware (VM_CR.SVMDIS=1) (injected)",
	.entry_faults = svm_entry_faults,
	.nr_entry_faults = ARRAY_SIZE(svm_entry_faults),
	.snapshot = test_snapshot,
	.on_off = test_on_off,
	.nmis = test_remote_nmi,
};

static int test_svm(struct selftest_ctx *ctx)
{
	int nrip = test_nrip_rule(ctx);
	if (nrip)
		return nrip;
	int r = backend_selftest(ctx, &svm_checks,
				 BACKEND_TEST_SNAPSHOT | BACKEND_TEST_GUESTS | BACKEND_TEST_ON_OFF, NULL);
	return r > 0 ? 0 : r;
}
SELFTEST(svm, test_svm);

/* ns per exit of the normal guest (CPUID, OUT, VMMCALL, HLT in turn). */
BACKEND_BENCH_EXIT(svm_exit, svm_checks);
