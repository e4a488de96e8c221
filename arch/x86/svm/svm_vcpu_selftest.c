/*
 * Self-test `svm_vcpu` and benchmarks `svm_exit_raw`, `svm_exit_live`,
 * `svm_exit_ratio`: SVM's live-vCPU operations (svm_vcpu.c) driven through
 * struct virt_ops the way the core's loop drives them (vigil/vcpu.h), on the
 * CPU they run on, outside the usage core.  On a machine without usable SVM
 * they pass (or refuse) with a note saying why.
 *
 * svm_vcpu: a VM of 2 vCPUs running GUEST_PATTERN, entered in turn on this
 * CPU (so every switch of vCPU flushes and reloads), each a few hundred
 * entries; progress hypercalls must arrive, the guest must report no memory
 * error and its pattern area must hold its own pattern.  Then vCPU 0
 * migrates: the test task moves to another online CPU and runs it there
 * through the same ops, then comes back, and it continues each time.  Then, when this test turned SVM on itself,
 * the emergency disable is run between two entries with GIF clear: SVM must
 * be off, GIF set (the timer still ticks), the next vcpu_enter must refuse,
 * and after enabling again the vCPU continues.
 *
 * The benches measure one exit round trip of GUEST_HCLOOP (loop {
 * hypercall }), the cheapest there is: raw is CLGI, VMRUN, STGI and RIP += 3
 * with interrupts off, nothing else; live is vcpu_load, interrupts off,
 * guest mode published, vcpu_enter, interrupts on, vcpu_handle_exit -- the
 * core loop's work per entry.  svm_exit_ratio alternates the two, 1000 round
 * trips each, and reports live/raw in percent per pair, so both sides of
 * each sample see the same machine.
 */
#include "svm_internal.h"
#include <asm/percpu.h>
#include <asm/time.h>
#include <asm/vexit.h>
#include <asm/virt_selftest.h>
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/selftest.h>
#include <vigil/smp.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>

static const struct backend_checks live_checks = {
	.label = "SVM",
	.ops = &svm_ops,
};

#define LIVE_VM_ID 9998
#define NR_VCPUS 2

struct live_rig {
	struct backend_test t;     /* the enable and the VM, put back by backend_test_end */
	struct vcpu *vcpus[NR_VCPUS];
	unsigned nr;
};

static void rig_close(struct live_rig *r)
{
	for (unsigned i = 0; i < r->nr; i++) {
		if (r->vcpus[i]) {
			if (r->vcpus[i]->arch)
				svm_ops.vcpu_destroy(r->vcpus[i]);
			kfree(r->vcpus[i]);
			r->vcpus[i] = NULL;
		}
	}
	if (r->t.vm)
		r->t.vm->vcpus = NULL;
	backend_test_end(&r->t);
}

/* Preemption off.  SVM on here, a VM whose slot 0 is 4 KiB << order at
 * guest-physical 0 running kind on nr vCPUs, each created through the ops.
 * 1: SVM unusable (r->t.why), 0: ready, -1: failure (r->t.why). */
static int rig_open(struct live_rig *r, enum guest_kind kind, unsigned nr, unsigned order)
{
	memset(r, 0, sizeof(*r));
	int rc = backend_test_begin(&r->t, &live_checks, false);
	if (rc)
		return rc;
	struct vm *vm = kzalloc(sizeof(*vm));
	uint64_t pa = pmm_alloc_pages(order);
	if (!vm || !pa) {
		if (pa)
			pmm_free_pages(pa, order);
		kfree(vm);
		snprintf(r->t.why, sizeof(r->t.why), "out of memory for the test VM");
		backend_test_end(&r->t);
		return -1;
	}
	memset(phys_to_virt(pa), 0, PAGE_SIZE << order);
	r->t.vm = vm;
	vm->id = LIVE_VM_ID;
	vm->guest = kind;
	vm->nr_vcpus = nr;
	vm->vcpus = r->vcpus;
	vm->slots[0] = (struct vm_slot){ .gpa = 0, .size = PAGE_SIZE << order, .hpa = pa, .order = order, .used = true };
	if (svm_ops.vm_init(vm, r->t.why, sizeof(r->t.why)) ||
	    svm_ops.vm_map_slot(vm, &vm->slots[0], r->t.why, sizeof(r->t.why))) {
		vm->slots[0].used = false;      /* backend_test_end frees the pages */
		rig_close(r);
		return -1;
	}
	r->nr = nr;
	for (unsigned i = 0; i < nr; i++) {
		struct vcpu *v = kzalloc(sizeof(*v));
		r->vcpus[i] = v;
		if (!v) {
			snprintf(r->t.why, sizeof(r->t.why), "out of memory for vCPU %u", i);
			rig_close(r);
			return -1;
		}
		v->vm = vm;
		v->index = i;
		v->last_cpu = -1;
		snprintf(v->name, sizeof(v->name), "vcpu%u.%u", vm->id, i);
		vcpu_requests_init(&v->req);
		char why[WHY_MAX];
		if (svm_ops.vcpu_create(v, why, sizeof(why))) {
			snprintf(r->t.why, sizeof(r->t.why), "vcpu_create(%u): %s", i, why);
			rig_close(r);
			return -1;
		}
	}
	return 0;
}

/* One pass of the core's loop (vigil/vcpu.h) without the sleeping: load on
 * this CPU, enter with interrupts off and guest mode published, handle the
 * exit with interrupts on.  HLT goes straight on.  0, or -1 with why. */
static int live_entry(struct vcpu *v, char *why, size_t len)
{
	unsigned cpu = smp_processor_id();
	if (svm_ops.vcpu_load(v, cpu, why, len))
		return -1;
	unsigned long flags = arch_irq_save();
	bool entered = false;
	if (vcpu_enter_guest_mode(&v->req, cpu, NULL, NULL)) {
		entered = svm_ops.vcpu_enter(v);
		vcpu_exit_guest_mode(&v->req);
	}
	arch_irq_restore(flags);
	if (!entered) {
		snprintf(why, len, "vcpu_enter on CPU %u refused: SVM is off", cpu);
		return -1;
	}
	if (v->last_cpu >= 0 && v->last_cpu != (int)cpu)
		v->migrations++;
	v->last_cpu = (int)cpu;
	v->entries++;
	enum vcpu_exit_action a = svm_ops.vcpu_handle_exit(v);
	if (a == VCPU_EXIT_GUEST_FAILED || a == VCPU_EXIT_HOST_FAILED) {
		snprintf(why, len, "%s failed after %lu entries: %s", v->name, (unsigned long)v->entries, v->error);
		return -1;
	}
	return 0;
}

/* The vCPU's pattern area holds one whole pass of its own pattern: every
 * dword is (index << 24 ^ pass) ^ offset for one pass.  Checked after a
 * progress hypercall, which the guest makes once a pass is written and
 * read back. */
static int check_area(struct selftest_ctx *ctx, struct vcpu *v)
{
	struct guest_pattern_layout l;
	char why[WHY_MAX];
	const struct vm *vm = v->vm;
	ST_ASSERT(ctx, !guest_pattern_layout(vm->slots[0].size, vm->nr_vcpus, v->index, &l, why, sizeof(why)), "%s",
		  why);
	const uint32_t *a = (const uint32_t *)((const uint8_t *)phys_to_virt(vm->slots[0].hpa) + l.area);
	uint32_t seed = a[0];
	ST_ASSERT(ctx, seed >> 24 == v->index, "%s: its area at 0x%lx starts with 0x%08x, not its own pattern", v->name,
		  (unsigned long)l.area, seed);
	for (uint64_t off = 0; off < l.area_size; off += 4)
		ST_ASSERT(ctx, (a[off / 4] ^ (uint32_t)off) == seed, "%s: 0x%08x at area offset 0x%lx, pass seed 0x%08x",
			  v->name, a[off / 4], (unsigned long)off, seed);
	return 0;
}

/* Run v until it has made n more entries, then on to its next progress
 * hypercall; check it progressed and reported no error. */
static int run_entries(struct selftest_ctx *ctx, struct vcpu *v, unsigned n, const char *what)
{
	char why[WHY_MAX];
	uint64_t progress0 = v->run.progress, entries0 = v->entries;
	for (unsigned i = 0; i < n || v->run.progress == progress0 || v->run.last_exit != VEXIT_HYPERCALL; i++) {
		ST_ASSERT(ctx, i < n + 1000, "%s, %s: no progress hypercall in %u entries", what, v->name, i);
		ST_ASSERT(ctx, !live_entry(v, why, sizeof(why)), "%s: %s", what, why);
	}
	ST_ASSERT(ctx, v->run.guest_errors == 0, "%s, %s: the guest reported %lu memory errors", what, v->name,
		  (unsigned long)v->run.guest_errors);
	ST_ASSERT(ctx, v->run.hypercalls == v->run.progress, "%s, %s: %lu hypercalls, %lu progress", what, v->name,
		  (unsigned long)v->run.hypercalls, (unsigned long)v->run.progress);
	uint64_t sum = 0;
	for (unsigned e = 0; e < VEXIT_COUNT; e++)
		sum += v->run.exit_count[e];
	ST_ASSERT(ctx, sum == v->run.exits && v->run.exits == v->entries, "%s, %s: %lu entries, %lu exits, counts add to %lu",
		  what, v->name, (unsigned long)v->entries, (unsigned long)v->run.exits, (unsigned long)sum);
	ST_ASSERT(ctx, v->entries - entries0 >= n, "%s, %s: %lu entries", what, v->name,
		  (unsigned long)(v->entries - entries0));
	return check_area(ctx, v);
}

/* vCPU 0 on another CPU: the test task moves there, as the vCPU task
 * would between two passes of its loop, turns SVM on there for the
 * occasion if it was off, and runs it; then back home. */
static int run_elsewhere(struct selftest_ctx *ctx, struct vcpu *v, unsigned target, unsigned home)
{
	char why[WHY_MAX] = "";
	preempt_enable();
	sched_pin_current(target);
	preempt_disable();
	int r = 0;
	bool was_on = svm_hw_enabled();
	if (smp_processor_id() != target)
		r = st_fail(ctx, "the test task did not move to CPU %u", target);
	else if (svm_prepare_cpu(target))
		r = st_fail(ctx, "prepare_cpu(%u) failed", target);
	else if (!was_on && svm_enable(why, sizeof(why)))
		r = st_fail(ctx, "enabling SVM on CPU %u: %s", target, why);
	else {
		r = run_entries(ctx, v, 300, "vCPU 0 on another CPU");
		if (!was_on)
			svm_disable();
	}
	preempt_enable();
	sched_pin_current(home);
	preempt_disable();
	if (!r && smp_processor_id() != home)
		r = st_fail(ctx, "the test task did not come back to CPU %u", home);
	return r;
}

static int test_migration(struct selftest_ctx *ctx, struct live_rig *r)
{
	int target = cpu_other_online(r->t.cpu);
	if (target < 0) {
		st_note(ctx, "no other online CPU: migration not tested");
		return 0;
	}
	struct vcpu *v = r->vcpus[0];
	uint64_t p0 = v->run.progress, m0 = v->migrations;
	if (run_elsewhere(ctx, v, (unsigned)target, r->t.cpu))
		return -1;
	ST_ASSERT(ctx, v->last_cpu == target && v->migrations == m0 + 1 && v->run.progress > p0,
		  "vCPU 0 on CPU %d: last_cpu=%d migrations=%lu progress %lu -> %lu", target, v->last_cpu,
		  (unsigned long)v->migrations, (unsigned long)p0, (unsigned long)v->run.progress);
	/* And back here, after vCPU 1 ran here in between. */
	if (run_entries(ctx, r->vcpus[1], 50, "vCPU 1 while vCPU 0 was away") ||
	    run_entries(ctx, v, 100, "vCPU 0 back on its first CPU"))
		return -1;
	ST_ASSERT(ctx, v->migrations == m0 + 2, "vCPU 0: %lu migrations, expected %lu", (unsigned long)v->migrations,
		  (unsigned long)(m0 + 2));
	st_note(ctx, "vCPU 0 migrated to CPU %d and back: %lu progress hypercalls, no guest error", target,
		(unsigned long)v->run.progress);
	return 0;
}

/* What a panic's NMI does to a CPU between two entries of a live vCPU. */
static int test_emergency(struct selftest_ctx *ctx, struct live_rig *r)
{
	if (!r->t.enabled_here) {
		st_note(ctx, "SVM was already on here: emergency disable between entries not tested");
		return 0;
	}
	struct vcpu *v = r->vcpus[1];
	char why[WHY_MAX];
	unsigned cpu = smp_processor_id();
	ST_ASSERT(ctx, !svm_ops.vcpu_load(v, cpu, why, sizeof(why)), "load: %s", why);
	unsigned long flags = arch_irq_save();
	svm_clgi();                     /* as if stopped inside an entry */
	svm_emergency_disable();
	bool entered = svm_ops.vcpu_enter(v);
	arch_irq_restore(flags);
	r->t.enabled_here = false;
	ST_ASSERT(ctx, !svm_hw_enabled(), "EFER.SVME still set after the emergency disable");
	ST_ASSERT(ctx, !entered, "vcpu_enter entered with SVM off");
	if (arch_irqs_enabled())
		ST_ASSERT(ctx, svm_timer_ticks_within(100), "no timer interrupt after the emergency disable: GIF left clear?");
	ST_ASSERT(ctx, svm_enable(why, sizeof(why)) == 0, "enable again: %s", why);
	r->t.enabled_here = true;
	return run_entries(ctx, v, 50, "vCPU 1 after the emergency disable and a new enable");
}

static int test_svm_vcpu(struct selftest_ctx *ctx)
{
	struct live_rig *r = kzalloc(sizeof(*r));
	ST_ASSERT(ctx, r, "out of memory");
	/* CPUs stay online; the task stays on its CPU but when it moves on
	 * purpose (test_migration). */
	cpus_read_lock();
	preempt_disable();
	unsigned home = smp_processor_id();
	preempt_enable();
	int old_bound = sched_pin_current(home);
	preempt_disable();
	/* 256 KiB: code, the stacks, and a pattern area per vCPU. */
	int rc = rig_open(r, GUEST_PATTERN, NR_VCPUS, 6);
	if (rc) {
		preempt_enable();
		sched_bind_current(old_bound);
		cpus_read_unlock();
		if (rc > 0)
			st_note(ctx, "SVM unavailable, nothing tested: %s", r->t.why);
		else
			st_fail(ctx, "setting up: %s", r->t.why);
		kfree(r);
		return rc > 0 ? 0 : -1;
	}
	/* Each alone, then taking turns pass by pass of the guest's loop. */
	rc = run_entries(ctx, r->vcpus[0], 200, "vCPU 0 alone");
	if (!rc)
		rc = run_entries(ctx, r->vcpus[1], 200, "vCPU 1 alone");
	for (unsigned i = 0; !rc && i < 100; i++)
		rc = run_entries(ctx, r->vcpus[i & 1], 1, "vCPUs taking turns");
	if (!rc)
		st_note(ctx, "SVM features 0x%x: NRIPS %s, VMCB clean bits %s, flush by ASID %s", svm_caps.features,
			svm_caps.features & SVM_FEAT_NRIPS ? "yes" : "no (instructions decoded from guest memory)",
			svm_caps.features & SVM_FEAT_VMCB_CLEAN ? "yes" : "no",
			svm_caps.features & SVM_FEAT_FLUSH_BY_ASID ? "yes" : "no (full flushes)");
	if (!rc)
		st_note(ctx, "CPU %u: vCPU 0 %lu entries %lu progress, vCPU 1 %lu entries %lu progress, no guest error",
			r->t.cpu, (unsigned long)r->vcpus[0]->entries, (unsigned long)r->vcpus[0]->run.progress,
			(unsigned long)r->vcpus[1]->entries, (unsigned long)r->vcpus[1]->run.progress);
	if (!rc)
		rc = test_migration(ctx, r);
	if (!rc)
		rc = test_emergency(ctx, r);
	rig_close(r);
	preempt_enable();
	sched_bind_current(old_bound);
	cpus_read_unlock();
	kfree(r);
	return rc;
}
SELFTEST(svm_vcpu, test_svm_vcpu);

/* ---- benches ---- */

#define ROUND_TRIPS 1000
#define BENCH_SAMPLES 16

/* The raw side: a VMCB of its own on the same VM, the same guest. */
struct raw_guest {
	uint64_t vmcb_pa;
	struct vmcb *v;
	struct svm_guest_regs regs;
};

static int raw_open(struct raw_guest *g, struct live_rig *r)
{
	struct svm_guest_start st;
	memset(g, 0, sizeof(*g));
	if (svm_guest_load(r->t.vm, GUEST_HCLOOP, 0, 1, &st, r->t.why, sizeof(r->t.why)))
		return -1;
	g->vmcb_pa = pmm_alloc_page();
	if (!g->vmcb_pa) {
		snprintf(r->t.why, sizeof(r->t.why), "out of memory for a VMCB");
		return -1;
	}
	g->v = phys_to_virt(g->vmcb_pa);
	svm_vmcb_setup(g->v, r->t.vm->arch, st.rip, st.rsp);
	return 0;
}

/* ns per round trip of ROUND_TRIPS bare entries; 0 when the guest did
 * something else than its hypercall. */
static uint64_t raw_round_trips(struct raw_guest *g, unsigned cpu)
{
	struct vmcb *v = g->v;
	unsigned long flags = arch_irq_save();
	/* This CPU's TLB now holds what this VMCB's guest left (svm_cpu.c). */
	svm_last_vcpu[cpu] = 0;
	uint64_t t0 = arch_time_ns();
	for (unsigned i = 0; i < ROUND_TRIPS; i++) {
		svm_clgi();
		svm_vmrun(g->vmcb_pa, &g->regs, svm_host_vmsave_pa[cpu]);
		svm_stgi();
		if (v->control.exit_code != SVM_EXIT_VMMCALL) {
			arch_irq_restore(flags);
			printk("bench: svm_exit_raw: exit 0x%lx at rip 0x%lx\n", (unsigned long)v->control.exit_code,
			       (unsigned long)v->save.rip);
			return 0;
		}
		v->save.rip += 3;       /* VMMCALL: 0F 01 D9 */
		v->control.tlb_control = SVM_TLB_FLUSH_NOTHING;
		v->control.clean = (svm_caps.features & SVM_FEAT_VMCB_CLEAN) ? SVM_CLEAN_ALL_STABLE : 0;
	}
	uint64_t t1 = arch_time_ns();
	arch_irq_restore(flags);
	return (t1 - t0) / ROUND_TRIPS;
}

/* ns per round trip of ROUND_TRIPS passes of the core's loop; 0 on failure. */
static uint64_t live_round_trips(struct vcpu *v, const char *name)
{
	char why[WHY_MAX];
	uint64_t t0 = arch_time_ns();
	for (unsigned i = 0; i < ROUND_TRIPS; i++) {
		if (live_entry(v, why, sizeof(why))) {
			printk("bench: %s: %s\n", name, why);
			return 0;
		}
	}
	return (arch_time_ns() - t0) / ROUND_TRIPS;
}

enum exit_bench { RAW, LIVE, RATIO };

static unsigned exit_bench(enum exit_bench which, const char *name, uint64_t *samples, unsigned max)
{
	struct live_rig *r = kzalloc(sizeof(*r));
	struct raw_guest g;
	unsigned n = 0;
	if (!r)
		return 0;
	preempt_disable();
	int rc = rig_open(r, GUEST_HCLOOP, 1, 4);
	if (rc == 0 && which != LIVE && raw_open(&g, r))
		rc = -1;
	else if (rc == 0 && which == LIVE)
		g.vmcb_pa = 0;
	if (rc)
		printk("bench: %s: refused: %s\n", name, r->t.why);
	unsigned cpu = r->t.cpu;
	if (max > BENCH_SAMPLES)
		max = BENCH_SAMPLES;
	struct vcpu *v = rc ? NULL : r->vcpus[0];
	uint64_t intr0 = 0, exits0 = 0;
	/* Round 0 warms up (first touch, the flush of the first entry). */
	for (unsigned round = 0; !rc && n < max; round++) {
		if (round == 1) {
			intr0 = v->run.exit_count[VEXIT_INTR];
			exits0 = v->run.exits;
		}
		uint64_t raw = which != LIVE ? raw_round_trips(&g, cpu) : 1;
		uint64_t live = which != RAW ? live_round_trips(r->vcpus[0], name) : 1;
		if (!raw || !live)
			break;
		if (round == 0)
			continue;
		samples[n++] = which == RAW ? raw : which == LIVE ? live : live * 100 / raw;
	}
	/* The live side's round trips include the host's own interrupts (the
	 * raw side runs with interrupts off): say how many. */
	if (v && which != RAW && n)
		printk("bench: %s: %lu live round trips, %lu of them interrupt exits\n", name,
		       (unsigned long)(v->run.exits - exits0), (unsigned long)(v->run.exit_count[VEXIT_INTR] - intr0));
	if (rc == 0 && g.vmcb_pa)
		pmm_free_page(g.vmcb_pa);
	if (rc <= 0 && r->t.b)
		rig_close(r);
	preempt_enable();
	kfree(r);
	return n;
}

static unsigned bench_svm_exit_raw(uint64_t *samples, unsigned max)
{
	return exit_bench(RAW, "svm_exit_raw", samples, max);
}
BENCH(svm_exit_raw, "ns", bench_svm_exit_raw);

static unsigned bench_svm_exit_live(uint64_t *samples, unsigned max)
{
	return exit_bench(LIVE, "svm_exit_live", samples, max);
}
BENCH(svm_exit_live, "ns", bench_svm_exit_live);

static unsigned bench_svm_exit_ratio(uint64_t *samples, unsigned max)
{
	return exit_bench(RATIO, "svm_exit_ratio", samples, max);
}
BENCH(svm_exit_ratio, "%", bench_svm_exit_ratio);
