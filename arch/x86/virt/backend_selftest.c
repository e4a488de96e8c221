/*
 * The backend contract self-test: what every struct virt_ops must do (probe,
 * prepare, enable, a VM with slot 0 = 64 KiB at guest-physical 0, every kind
 * of built-in guest, injected VM-entry failures, max_exits=0, slot
 * unmapping and remapping), driven through the ops alone, so VMX and SVM
 * are held to the same checks.  What only one technology has (its snapshot
 * fields, its enable/disable state, how NMIs reach a running guest) comes
 * from the backend's struct backend_checks.  The self-tests and benchmarks
 * registered by arch/x86/vmx/vmx_selftest.c and arch/x86/svm/svm_selftest.c
 * run it.  Everything is put back as found.
 */
#include <asm/apic.h>
#include <asm/virt_selftest.h>
#include <vigil/arch.h>
#include <vigil/mm.h>
#include <vigil/sched.h>
#include <vigil/smp.h>
#include <vigil/string.h>

int virt_selftest_check_normal_run(struct selftest_ctx *ctx, const char *what, int r, const struct vcpu_run *run,
				   uint64_t max)
{
	ST_ASSERT(ctx, r == 0 && !run->guest_failed, "%s: vcpu_run=%d failed=%d: %s", what, r, run->guest_failed, run->why);
	ST_ASSERT(ctx, run->exits == max, "%s: %lu exits, expected %lu", what, (unsigned long)run->exits,
		  (unsigned long)max);
	uint64_t sum = 0;
	for (unsigned e = 0; e < VEXIT_COUNT; e++)
		sum += run->exit_count[e];
	ST_ASSERT(ctx, sum == run->exits, "%s: exit counts add up to %lu, not %lu", what, (unsigned long)sum,
		  (unsigned long)run->exits);
	/* The guest's loop is CPUID, OUT, hypercall, HLT; the host's own
	 * interrupts ("intr") and NMIs ("other") may come in between. */
	uint64_t loop = run->exits - run->exit_count[VEXIT_OTHER] - run->exit_count[VEXIT_INTR];
	uint64_t each = loop / 4;
	const enum vexit kinds[] = { VEXIT_CPUID, VEXIT_IO, VEXIT_HYPERCALL, VEXIT_HLT };
	for (unsigned i = 0; i < ARRAY_SIZE(kinds); i++)
		ST_ASSERT(ctx, run->exit_count[kinds[i]] >= each && run->exit_count[kinds[i]] <= each + 1,
			  "%s: %lu %s exits of %lu", what, (unsigned long)run->exit_count[kinds[i]],
			  vexit_name(kinds[i]), (unsigned long)loop);
	ST_ASSERT(ctx, run->hypercalls == run->exit_count[VEXIT_HYPERCALL], "%s: %lu hypercalls, %lu exits", what,
		  (unsigned long)run->hypercalls, (unsigned long)run->exit_count[VEXIT_HYPERCALL]);
	ST_ASSERT(ctx, run->guest_ns > 0, "%s: guest_ns is 0", what);
	return 0;
}

#define SLOT0_SIZE  (64 * 1024)
#define SLOT0_ORDER 4

void backend_test_end_vm(struct backend_test *t)
{
	if (!t->vm)
		return;
	const struct virt_ops *ops = t->b->ops;
	struct vm_slot *s = &t->vm->slots[0];
	if (t->vm->arch && s->used)
		ops->vm_unmap_slot(t->vm, s);
	ops->vm_destroy(t->vm);
	if (s->hpa)
		pmm_free_pages(s->hpa, s->order);
	kfree(t->vm);
	t->vm = NULL;
}

void backend_test_end(struct backend_test *t)
{
	backend_test_end_vm(t);
	if (t->enabled_here) {
		t->b->ops->disable();
		t->enabled_here = false;
	}
}

int backend_test_begin(struct backend_test *t, const struct backend_checks *b, bool with_vm)
{
	const struct virt_ops *ops = b->ops;
	memset(t, 0, sizeof(*t));
	t->b = b;
	if (ops->probe(t->why, sizeof(t->why)))
		return 1;
	t->cpu = smp_processor_id();
	if (ops->prepare_cpu(t->cpu)) {
		snprintf(t->why, sizeof(t->why), "prepare_cpu(%u) failed", t->cpu);
		return -1;
	}
	/* Already on here (the core has a VM): use it as it is. */
	if (!ops->hw_enabled()) {
		if (ops->enable(t->why, sizeof(t->why)))
			return -1;
		t->enabled_here = true;
	}
	if (!with_vm)
		return 0;
	t->vm = kzalloc(sizeof(*t->vm));
	uint64_t pa = pmm_alloc_pages(SLOT0_ORDER);
	if (!t->vm || !pa) {
		if (pa)
			pmm_free_pages(pa, SLOT0_ORDER);
		snprintf(t->why, sizeof(t->why), "out of memory for the test VM");
		backend_test_end(t);
		return -1;
	}
	memset(phys_to_virt(pa), 0, SLOT0_SIZE);
	t->vm->id = b->vm_id;
	t->vm->slots[0] = (struct vm_slot){ .gpa = 0, .size = SLOT0_SIZE, .hpa = pa, .order = SLOT0_ORDER, .used = true };
	if (ops->vm_init(t->vm, t->why, sizeof(t->why)) ||
	    ops->vm_map_slot(t->vm, &t->vm->slots[0], t->why, sizeof(t->why))) {
		t->vm->slots[0].used = false;
		backend_test_end(t);
		return -1;
	}
	return 0;
}

int backend_test_open(struct selftest_ctx *ctx, struct backend_test *t, const struct backend_checks *b,
		      bool with_vm)
{
	preempt_disable();
	int r = backend_test_begin(t, b, with_vm);
	if (r == 1) {
		preempt_enable();
		st_note(ctx, "%s unavailable, nothing tested: %s", b->label, t->why);
	} else if (r < 0) {
		preempt_enable();
		st_fail(ctx, "setting up: %s", t->why);
	}
	return r;
}

int backend_run_guest(struct backend_test *t, enum guest_kind kind, uint64_t max_exits, struct vcpu_run *run)
{
	memset(run, 0, sizeof(*run));
	run->guest = kind;
	run->max_exits = max_exits;
	return t->b->ops->vcpu_run(t->vm, run);
}

int backend_check_normal(struct selftest_ctx *ctx, struct backend_test *t, const char *what, int r,
			 const struct vcpu_run *run, uint64_t max)
{
	if (virt_selftest_check_normal_run(ctx, what, r, run, max))
		return -1;
	return t->b->after_normal_run ? t->b->after_normal_run(ctx, t, what) : 0;
}

int backend_check_failed(struct selftest_ctx *ctx, const char *what, int r, const struct vcpu_run *run,
			 enum vexit last, const char *needle)
{
	ST_ASSERT(ctx, r == 0, "%s: vcpu_run returned %d: %s", what, r, run->why);
	ST_ASSERT(ctx, run->guest_failed, "%s: guest not reported as failed (%lu exits)", what,
		  (unsigned long)run->exits);
	ST_ASSERT(ctx, run->last_exit == last, "%s: last exit %s, expected %s (%s)", what,
		  vexit_name(run->last_exit), vexit_name(last), run->why);
	ST_ASSERT(ctx, strstr(run->why, needle), "%s: '%s' does not mention '%s'", what, run->why, needle);
	return 0;
}

int backend_test_firmware_off(struct selftest_ctx *ctx, struct backend_test *t)
{
	const struct backend_checks *b = t->b;
	struct virt_compat *c = kzalloc(sizeof(*c));
	ST_ASSERT(ctx, c, "out of memory");
	struct inject_point old = inject_arm_once(b->firmware_off, t->cpu);
	b->ops->snapshot(c);
	bool still_armed = b->firmware_off->armed;
	inject_restore(b->firmware_off, &old);
	char said[sizeof(c->unusable)];
	snprintf(said, sizeof(said), "%s", c->unusable);
	kfree(c);
	ST_ASSERT(ctx, !strcmp(said, b->firmware_off_reason), "snapshot with %s armed says '%s'",
		  b->firmware_off->name, said);
	ST_ASSERT(ctx, !still_armed, "%s still armed after its one hit", b->firmware_off->name);
	return 0;
}

/* Slot changes: a second mapping of the same range is refused and changes
 * nothing; after unmapping, the guest's first fetch faults (the TLB flush
 * at the start of the run, INVEPT or a new ASID, forgets the old
 * translation); mapping again brings it back. */
static int test_slot_changes(struct selftest_ctx *ctx, struct backend_test *t, struct vcpu_run *run)
{
	const struct virt_ops *ops = t->b->ops;
	struct vm_slot *slot0 = &t->vm->slots[0];
	char why[WHY_MAX] = "";
	ST_ASSERT(ctx, ops->vm_map_slot(t->vm, slot0, why, sizeof(why)) != 0 && strstr(why, "already mapped"),
		  "mapping slot 0 twice: '%s'", why);
	int r = backend_run_guest(t, GUEST_NORMAL, 100, run);
	if (backend_check_normal(ctx, t, "normal guest after a refused second mapping", r, run, 100))
		return -1;
	ops->vm_unmap_slot(t->vm, slot0);
	r = backend_run_guest(t, GUEST_NORMAL, 100, run);
	ST_ASSERT(ctx, r == -1 && strstr(run->why, "0x1000") && run->last_exit == VEXIT_MEM_FAULT,
		  "after unmap: vcpu_run=%d last=%s '%s'", r, vexit_name(run->last_exit), run->why);
	ST_ASSERT(ctx, ops->vm_map_slot(t->vm, slot0, why, sizeof(why)) == 0, "mapping slot 0 again: %s", why);
	r = backend_run_guest(t, GUEST_NORMAL, 100, run);
	if (backend_check_normal(ctx, t, "normal guest after remap", r, run, 100))
		return -1;
	return t->b->after_remap ? t->b->after_remap(ctx, t) : 0;
}

static int test_guest_kinds(struct selftest_ctx *ctx, struct backend_test *t, struct vcpu_run *run)
{
	const struct backend_checks *b = t->b;
	int r = backend_run_guest(t, GUEST_NORMAL, 100, run);
	if (backend_check_normal(ctx, t, "normal guest", r, run, 100))
		return -1;
	st_note(ctx, "normal guest on CPU %u: 100 exits in %lu ns (%lu ns/exit), %lu from host interrupts", t->cpu,
		(unsigned long)run->guest_ns, (unsigned long)(run->guest_ns / run->exits),
		(unsigned long)run->exit_count[VEXIT_INTR]);

	r = backend_run_guest(t, GUEST_WILD, 100, run);
	if (backend_check_failed(ctx, "wild guest", r, run, VEXIT_MEM_FAULT, "unmapped guest-physical 0x40000000"))
		return -1;
	r = backend_run_guest(t, GUEST_BAD_INSN, 100, run);
	if (backend_check_failed(ctx, "bad-instruction guest", r, run, VEXIT_EXCEPTION,
				 "undefined instruction at rip 0x1000"))
		return -1;

	for (unsigned i = 0; i < b->nr_entry_faults; i++) {
		const struct backend_entry_fault *f = &b->entry_faults[i];
		struct inject_point old = inject_arm_once(f->point, t->cpu);
		r = backend_run_guest(t, GUEST_NORMAL, 100, run);
		inject_restore(f->point, &old);
		if (backend_check_failed(ctx, f->what, r, run, VEXIT_ENTRY_FAILED, f->needle))
			return -1;
		ST_ASSERT(ctx, !f->one_exit || run->exits == 1, "%s: %lu exits, expected 1", f->what,
			  (unsigned long)run->exits);
	}

	r = backend_run_guest(t, GUEST_NORMAL, 0, run);
	ST_ASSERT(ctx, !r && !run->exits && !run->guest_failed, "max_exits=0: vcpu_run=%d exits=%lu: %s", r,
		  (unsigned long)run->exits, run->why);
	return 0;
}

/* With the caller's interrupts on, the host's interrupts make the guest
 * exit and are taken between two entries.  The spinning guest stays in the
 * guest for millions of instructions between its hypercalls, so timer
 * interrupts find it running: runs that together last at least 5 timer
 * periods see timer interrupts taken on this CPU and interrupt exits, and
 * every other exit is the guest's hypercall.  (With the old VMX design,
 * interrupts off for the whole run, both stayed 0.) */
static int test_interrupt_exits(struct selftest_ctx *ctx, struct backend_test *t, struct vcpu_run *run)
{
	if (!arch_irqs_enabled()) {
		st_note(ctx, "interrupts off in the self-test: interrupt exits not tested");
		return 0;
	}
	uint64_t want_ns = 5 * (1000000000ULL / (lapic_timer_hz ? lapic_timer_hz : 100));
	uint64_t ns = 0, intr = 0, ticks = 0;
	for (unsigned i = 0; i < 100 && (ns < want_ns || !intr); i++) {
		int r = backend_run_guest(t, GUEST_SPIN, 4, run);
		ST_ASSERT(ctx, r == 0 && !run->guest_failed, "spinning guest: vcpu_run=%d failed=%d: %s", r,
			  run->guest_failed, run->why);
		ST_ASSERT(ctx, run->hypercalls + run->exit_count[VEXIT_INTR] + run->exit_count[VEXIT_OTHER] == run->exits,
			  "spinning guest: %lu exits, %lu hypercalls, %lu interrupt exits", (unsigned long)run->exits,
			  (unsigned long)run->hypercalls, (unsigned long)run->exit_count[VEXIT_INTR]);
		ns += run->guest_ns;
		intr += run->exit_count[VEXIT_INTR];
		ticks += run->timer_ticks;
	}
	ST_ASSERT(ctx, ns >= want_ns, "spinning guest ran only %lu ns", (unsigned long)ns);
	ST_ASSERT(ctx, ticks > 0, "no timer interrupt taken on CPU %u in %lu ns of guest runs", t->cpu,
		  (unsigned long)ns);
	ST_ASSERT(ctx, intr > 0, "%lu timer ticks on CPU %u in %lu ns, none made the guest exit", (unsigned long)ticks,
		  t->cpu, (unsigned long)ns);
	st_note(ctx, "CPU %u, interrupts on: %lu ns in the spinning guest, %lu interrupt exits, %lu timer ticks",
		t->cpu, (unsigned long)ns, (unsigned long)intr, (unsigned long)ticks);
	return 0;
}

int backend_test_guests(struct selftest_ctx *ctx, struct backend_test *t)
{
	struct vcpu_run *run = kzalloc(sizeof(*run));
	ST_ASSERT(ctx, run, "out of memory");
	int r = test_guest_kinds(ctx, t, run);
	if (!r)
		r = test_slot_changes(ctx, t, run);
	if (!r)
		r = test_interrupt_exits(ctx, t, run);
	kfree(run);
	if (!r && t->b->nmis)
		r = t->b->nmis(ctx, t);
	return r;
}

unsigned backend_bench_exit(const struct backend_checks *b, uint64_t *samples, unsigned max)
{
	struct backend_test t;
	struct vcpu_run run;
	unsigned n = 0;
	preempt_disable();
	if (backend_test_begin(&t, b, true) == 0) {
		for (; n < max && n < 16; n++) {
			if (backend_run_guest(&t, GUEST_NORMAL, 1000, &run) || run.guest_failed || !run.exits)
				break;
			samples[n] = run.guest_ns / run.exits;
		}
		backend_test_end(&t);
	}
	preempt_enable();
	return n;
}

int backend_selftest(struct selftest_ctx *ctx, const struct backend_checks *b, unsigned parts, unsigned *cpu)
{
	struct backend_test t;
	int r = backend_test_open(ctx, &t, b, parts & BACKEND_TEST_GUESTS);
	if (r)
		return r;
	if (cpu)
		*cpu = t.cpu;
	bool was_enabled = !t.enabled_here;
	if (was_enabled && (parts & BACKEND_TEST_ON_OFF))
		st_note(ctx, "%s already on on CPU %u: enable/disable not tested", b->label, t.cpu);
	if (parts & BACKEND_TEST_SNAPSHOT) {
		r = b->snapshot(ctx, &t);
		if (!r)
			r = backend_test_firmware_off(ctx, &t);
	}
	if (!r && (parts & BACKEND_TEST_GUESTS))
		r = backend_test_guests(ctx, &t);
	backend_test_end_vm(&t);
	if (!r && (parts & BACKEND_TEST_ON_OFF) && !was_enabled)
		r = b->on_off(ctx, &t);
	backend_test_end(&t);
	preempt_enable();
	return r;
}
