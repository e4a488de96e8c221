/*
 * Self-test `vmx_vcpu` of the VMX live-vCPU operations (vmx_vcpu.c), driven
 * directly through the ops the way the core's vCPU loop drives them
 * (vigil/vcpu.h), without the core (the benches are vmx_vcpu_bench.c):
 *
 *   vmx_vcpu       a VM of two vCPUs running the pattern guest, a few
 *                  hundred entries each on this CPU (progress hypercalls
 *                  arrive, no guest memory error); one moved to another
 *                  CPU (cross-CPU VMCLEAR there, VMPTRLD and VMLAUNCH here)
 *                  and back, carrying on each time; VMX disabled under a
 *                  loaded vCPU (the VMCS list emptied, the vCPU reloaded
 *                  with VMLAUNCH afterwards); more vCPUs than a CPU's list
 *                  holds (eviction); the emergency disable with vCPUs
 *                  loaded (by NMI on the other CPU, directly here), or
 *                  with `inject vmx_vcpu_panic` a real panic there; the
 *                  vmx_vmcs_lists invariant after each step; every list
 *                  empty once the vCPUs are destroyed and after disable.
 *
 * Where VMX is unusable the test passes with a note.  A CPU found with VMX
 * already on (the core has a VM) is used as it is and not disabled.
 */
#include "vmx_vcpu_test.h"
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/inject.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/selftest.h>
#include <vigil/smp.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>

#define NR_VCPUS 2
#define ROUNDS 150                        /* entries per vCPU and phase */

/* rounds entries of each listed vCPU, in turn, on this CPU. */
static int run_rounds(struct selftest_ctx *ctx, struct vcpu **v, unsigned n, unsigned rounds, const char *what)
{
	char why[WHY_MAX] = "";
	int rc = 0;
	preempt_disable();
	for (unsigned r = 0; r < rounds && !rc; r++)
		for (unsigned i = 0; i < n && !rc; i++) {
			enum vcpu_exit_action a = step(v[i], why, sizeof(why));
			if (a == VCPU_EXIT_GUEST_FAILED || a == VCPU_EXIT_HOST_FAILED)
				rc = st_fail(ctx, "%s: %s on CPU %u after %lu entries: %s", what, v[i]->name,
					     smp_processor_id(), (unsigned long)v[i]->entries, why);
		}
	preempt_enable();
	return rc;
}


static int guest_healthy(struct selftest_ctx *ctx, struct vcpu *v, uint64_t progress_before, const char *what)
{
	ST_ASSERT(ctx, v->run.guest_errors == 0, "%s: %s reported %lu guest memory errors", what, v->name,
		  (unsigned long)v->run.guest_errors);
	ST_ASSERT(ctx, v->run.progress > progress_before, "%s: %s made no progress (%lu progress hypercalls, %lu exits)",
		  what, v->name, (unsigned long)v->run.progress, (unsigned long)v->run.exits);
	return 0;
}

static int invariants_hold(struct selftest_ctx *ctx, const char *what)
{
	char why[WHY_MAX] = "";
	/* Only this one: the core's own invariants see VMX turned on behind
	 * its back by this test. */
	ST_ASSERT(ctx, vmx_vmcs_lists_check(why, sizeof(why)) == 0, "%s: check vmx_vmcs_lists: %s", what, why);
	return 0;
}

static void stats(const struct vcpu *v, struct vmx_vcpu_stats *s)
{
	vmx_vcpu_stats(v, s);
}

/* The vCPU vcpus[1] moves from here (a) to b, runs, and comes back. */
static int test_migration(struct selftest_ctx *ctx, struct live_test *t, unsigned a, unsigned b)
{
	struct vcpu *mover = t->vcpus[1];
	struct vmx_vcpu_stats s0, s1, s2;
	stats(mover, &s0);
	uint64_t p0 = mover->run.progress;
	ST_ASSERT(ctx, s0.cpu == (int)a && vmx_loaded_has(a, s0.vmcs), "%s not active on CPU %u before the move",
		  mover->name, a);

	sched_pin_current(b);
	int rc = run_rounds(ctx, &mover, 1, ROUNDS, "on the second CPU");
	unsigned here = smp_processor_id();
	if (rc)
		return rc;
	stats(mover, &s1);
	ST_ASSERT(ctx, here == b, "the test task runs on CPU %u, not %u", here, b);
	ST_ASSERT(ctx, s1.cpu == (int)b && vmx_loaded_has(b, s1.vmcs) && !vmx_loaded_has(a, s1.vmcs),
		  "after the move to CPU %u: last made active on %d, on CPU %u's list %d, on CPU %u's list %d", b,
		  s1.cpu, b, vmx_loaded_has(b, s1.vmcs), a, vmx_loaded_has(a, s1.vmcs));
	ST_ASSERT(ctx, s1.remote_clears == s0.remote_clears + 1, "the move VMCLEARed on CPU %u %lu time(s), expected 1",
		  a, (unsigned long)(s1.remote_clears - s0.remote_clears));
	ST_ASSERT(ctx, s1.launches == s0.launches + 1, "the move: %lu VMLAUNCH(es), expected 1 then VMRESUMEs",
		  (unsigned long)(s1.launches - s0.launches));
	ST_ASSERT(ctx, mover->migrations >= 1, "%s: migrations not counted", mover->name);
	if (guest_healthy(ctx, mover, p0, "after the move") || invariants_hold(ctx, "after the move"))
		return -1;

	sched_pin_current(a);
	uint64_t p1 = mover->run.progress;
	rc = run_rounds(ctx, t->vcpus, NR_VCPUS, ROUNDS, "back on the first CPU");
	if (rc)
		return rc;
	stats(mover, &s2);
	ST_ASSERT(ctx, s2.cpu == (int)a && vmx_loaded_has(a, s2.vmcs) && !vmx_loaded_has(b, s2.vmcs),
		  "after the move back: last active on %d", s2.cpu);
	ST_ASSERT(ctx, s2.remote_clears == s1.remote_clears + 1 && s2.launches == s1.launches + 1,
		  "the move back: %lu VMCLEAR(s) on CPU %u, %lu VMLAUNCH(es)",
		  (unsigned long)(s2.remote_clears - s1.remote_clears), b, (unsigned long)(s2.launches - s1.launches));
	if (guest_healthy(ctx, mover, p1, "after the move back"))
		return -1;
	st_note(ctx, "%s moved CPU %u -> %u -> %u: VMCLEAR by cross-CPU call, VMPTRLD, VMLAUNCH each time; "
		"%lu progress hypercalls", mover->name, a, b, a, (unsigned long)mover->run.progress);
	return 0;
}

/* disable() with both vCPUs active here: the list is emptied, and the
 * vCPUs come back with VMLAUNCH once VMX is on again. */
static int test_disable(struct selftest_ctx *ctx, struct live_test *t, unsigned a)
{
	if (!t->enabled[a]) {
		st_note(ctx, "VMX was already on on CPU %u: disable under loaded vCPUs not tested", a);
		return 0;
	}
	struct vmx_vcpu_stats s0, s1;
	stats(t->vcpus[0], &s0);
	unsigned before = vmx_loaded_count(a);
	ST_ASSERT(ctx, before >= NR_VCPUS, "only %u VMCS(s) active on CPU %u before disable", before, a);
	preempt_disable();
	vmx_disable();
	unsigned after = vmx_loaded_count(a);
	bool off = !vmx_hw_enabled();
	int r = vmx_enable(t->why, sizeof(t->why));
	preempt_enable();
	ST_ASSERT(ctx, off && after == 0, "disable with %u VMCSs active: VMX off %d, %u left on the list", before, off,
		  after);
	ST_ASSERT(ctx, r == 0, "enable again: %s", t->why);
	uint64_t p0 = t->vcpus[0]->run.progress;
	if (run_rounds(ctx, t->vcpus, NR_VCPUS, ROUNDS, "after disable and enable"))
		return -1;
	stats(t->vcpus[0], &s1);
	ST_ASSERT(ctx, s1.reloads == s0.reloads + 1 && s1.launches == s0.launches + 1,
		  "after disable: %lu reload(s), %lu VMLAUNCH(es), expected 1 each",
		  (unsigned long)(s1.reloads - s0.reloads), (unsigned long)(s1.launches - s0.launches));
	if (guest_healthy(ctx, t->vcpus[0], p0, "after disable and enable"))
		return -1;
	st_note(ctx, "disable on CPU %u VMCLEARed %u active VMCSs before VMXOFF; the vCPUs reloaded and went on", a,
		before);
	return 0;
}

/* More vCPUs than a CPU's list holds: the oldest is evicted (VMCLEAR) and
 * reloaded at its next entry; the list never overflows. */
static int test_eviction(struct selftest_ctx *ctx, unsigned a)
{
	struct live_test *t = kzalloc(sizeof(*t));
	ST_ASSERT(ctx, t, "out of memory");
	int rc = -1;
	if (make_vm(t, GUEST_PATTERN, EVICT_VCPUS)) {
		st_fail(ctx, "eviction VM: %s", t->why);
		goto out;
	}
	if (run_rounds(ctx, t->vcpus, EVICT_VCPUS, 3, "eviction"))
		goto out;
	unsigned n = vmx_loaded_count(a);
	struct vmx_vcpu_stats s;
	uint64_t reloads = 0;
	for (unsigned i = 0; i < EVICT_VCPUS; i++) {
		stats(t->vcpus[i], &s);
		reloads += s.reloads;
		if (t->vcpus[i]->run.guest_errors) {
			st_fail(ctx, "eviction: %s reported guest memory errors", t->vcpus[i]->name);
			goto out;
		}
	}
	if (n != VMX_MAX_LOADED || reloads < 2 * EVICT_VCPUS) {
		st_fail(ctx, "%u vCPUs in turn on CPU %u: %u VMCSs active (list of %u), %lu reloads", EVICT_VCPUS, a, n,
			VMX_MAX_LOADED, (unsigned long)reloads);
		goto out;
	}
	if (invariants_hold(ctx, "with a full list"))
		goto out;
	st_note(ctx, "%u vCPUs in turn on CPU %u: list full at %u, %lu reloads after eviction", EVICT_VCPUS, a, n,
		(unsigned long)reloads);
	rc = 0;
out:
	destroy_vm(t);
	kfree(t);
	return rc;
}

/* The emergency path (panic's NMI) with vCPUs loaded: every VMCS on the
 * CPU's list VMCLEARed, then VMXOFF.  On the other CPU from a real NMI, here
 * directly; then VMX on again and the vCPUs carry on. */
INJECT_POINT(vmx_vcpu_panic,
	     "the vmx_vcpu self-test panics with vCPUs loaded on this CPU and another (its emergency step)");

static volatile int nmi_cpu = -1;
static bool nmi_registered;

static bool nmi_emergency(void)
{
	if (nmi_cpu != (int)smp_processor_id())
		return false;
	vmx_emergency_disable();
	__atomic_store_n(&nmi_cpu, -1, __ATOMIC_RELEASE);
	return true;
}

static int emergency_on(struct selftest_ctx *ctx, unsigned cpu, bool by_nmi)
{
	const struct vmx_cpu *st = &vmx_cpus[cpu];
	unsigned n = vmx_loaded_count(cpu);
	uint64_t before = st->emergency_vmclears;
	ST_ASSERT(ctx, n > 0, "no VMCS active on CPU %u before the emergency", cpu);
	if (by_nmi) {
		if (!nmi_registered) {
			nmi_register(nmi_emergency);
			nmi_registered = true;
		}
		__atomic_store_n(&nmi_cpu, (int)cpu, __ATOMIC_RELEASE);
		arch_send_nmi(cpu);
		uint64_t deadline = arch_time_ns() + 1000000000ULL;
		while (__atomic_load_n(&nmi_cpu, __ATOMIC_ACQUIRE) >= 0 && arch_time_ns() < deadline)
			cpu_relax();
		bool came = nmi_cpu < 0;
		__atomic_store_n(&nmi_cpu, -1, __ATOMIC_RELEASE);
		ST_ASSERT(ctx, came, "the NMI to CPU %u never came", cpu);
	} else {
		unsigned long flags = arch_irq_save();
		vmx_emergency_disable();
		arch_irq_restore(flags);
	}
	ST_ASSERT(ctx, st->state == VMX_CPU_OFF && !vmx_loaded_count(cpu) && st->emergency_vmclears == before + n,
		  "emergency disable on CPU %u with %u VMCSs active: state %d, %u left, %lu VMCLEARed", cpu, n, st->state,
		  vmx_loaded_count(cpu), (unsigned long)(st->emergency_vmclears - before));
	return 0;
}

static int test_emergency(struct selftest_ctx *ctx, struct live_test *t, unsigned a, int b)
{
	if (!t->enabled[a] || (b >= 0 && !t->enabled[b])) {
		st_note(ctx, "VMX was already on: emergency disable under loaded vCPUs not tested");
		return 0;
	}
	/* vCPU 0 here, vCPU 1 on the other CPU. */
	if (run_rounds(ctx, t->vcpus, 1, 4, "before the emergency"))
		return -1;
	if (b >= 0) {
		sched_pin_current((unsigned)b);
		int rc = run_rounds(ctx, &t->vcpus[1], 1, 4, "before the emergency (other CPU)");
		sched_pin_current(a);
		if (rc)
			return rc;
	}
	if (inject_hit(&inject_vmx_vcpu_panic, a)) {
		/* The real thing: panic's NMIs and emergency callbacks
		 * (core/panic_stop.c) with these VMCSs active. */
		unsigned na = vmx_loaded_count(a), nb = b >= 0 ? vmx_loaded_count((unsigned)b) : 0;
		panic("vmx_vcpu: panic with %u VMCS(s) active on CPU %u and %u on CPU %d (injected)", na, a, nb, b);
	}
	if (b >= 0 && emergency_on(ctx, (unsigned)b, true))
		return -1;
	if (emergency_on(ctx, a, false))
		return -1;
	if (invariants_hold(ctx, "after the emergency"))
		return -1;
	t->enabled[a] = false;
	if (b >= 0)
		t->enabled[b] = false;
	if (vmx_on(t, a) || (b >= 0 && vmx_on(t, (unsigned)b)))
		return st_fail(ctx, "VMX on again after the emergency: %s", t->why);
	uint64_t p0 = t->vcpus[0]->run.progress, p1 = t->vcpus[1]->run.progress;
	if (run_rounds(ctx, t->vcpus, NR_VCPUS, ROUNDS, "after the emergency") ||
	    guest_healthy(ctx, t->vcpus[0], p0, "after the emergency") ||
	    guest_healthy(ctx, t->vcpus[1], p1, "after the emergency"))
		return -1;
	st_note(ctx, "emergency disable VMCLEARed every active VMCS before VMXOFF (CPU %d by NMI, CPU %u directly); "
		"the vCPUs went on after VMX came back", b, a);
	return 0;
}

static int live_body(struct selftest_ctx *ctx, struct live_test *t, unsigned a, int b, unsigned base_a,
		     unsigned base_b)
{
	if (vmx_on(t, a) || (b >= 0 && vmx_on(t, (unsigned)b)) || make_vm(t, GUEST_PATTERN, NR_VCPUS))
		return st_fail(ctx, "setting up: %s", t->why);

	if (run_rounds(ctx, t->vcpus, NR_VCPUS, ROUNDS, "first entries"))
		return -1;
	for (unsigned i = 0; i < NR_VCPUS; i++)
		if (guest_healthy(ctx, t->vcpus[i], 0, "first entries"))
			return -1;
	ST_ASSERT(ctx, vmx_loaded_count(a) == base_a + NR_VCPUS, "%u VMCSs active on CPU %u, expected %u",
		  vmx_loaded_count(a), a, base_a + NR_VCPUS);
	if (invariants_hold(ctx, "two vCPUs loaded"))
		return -1;
	st_note(ctx, "2 vCPUs on CPU %u: %lu + %lu entries, %lu + %lu progress hypercalls, 0 guest errors", a,
		(unsigned long)t->vcpus[0]->entries, (unsigned long)t->vcpus[1]->entries,
		(unsigned long)t->vcpus[0]->run.progress, (unsigned long)t->vcpus[1]->run.progress);

	if (b >= 0) {
		if (test_migration(ctx, t, a, (unsigned)b))
			return -1;
	} else {
		st_note(ctx, "one CPU online: migration not tested");
	}
	if (test_disable(ctx, t, a))
		return -1;
	if (test_eviction(ctx, a))
		return -1;
	if (test_emergency(ctx, t, a, b))
		return -1;

	destroy_vcpus(t);
	ST_ASSERT(ctx, vmx_loaded_count(a) == base_a, "%u VMCSs active on CPU %u after destroying the vCPUs",
		  vmx_loaded_count(a), a);
	if (b >= 0)
		ST_ASSERT(ctx, vmx_loaded_count((unsigned)b) == base_b, "%u VMCSs active on CPU %d after destroying the vCPUs",
			  vmx_loaded_count((unsigned)b), b);
	return invariants_hold(ctx, "vCPUs destroyed");
}

static int test_vmx_vcpu(struct selftest_ctx *ctx)
{
	char why[WHY_MAX];
	if (vmx_probe(why, sizeof(why)))
		return st_skip(ctx, "VMX unavailable, nothing tested: %s", why);
	struct live_test *t = kzalloc(sizeof(*t));
	ST_ASSERT(ctx, t, "out of memory");
	preempt_disable();
	unsigned a = smp_processor_id();
	preempt_enable();
	int old = sched_pin_current(a);
	int b = cpu_other_online(a);
	unsigned base_a = vmx_loaded_count(a), base_b = b >= 0 ? vmx_loaded_count((unsigned)b) : 0;
	int rc = live_body(ctx, t, a, b, base_a, base_b);
	sched_pin_current(a);
	destroy_vm(t);
	/* Disabling empties the list. */
	bool had_a = t->enabled[a], had_b = b >= 0 && t->enabled[b];
	vmx_off(t, a);
	if (b >= 0)
		vmx_off(t, (unsigned)b);
	if (!rc && had_a && vmx_loaded_count(a))
		rc = st_fail(ctx, "%u VMCS(s) on CPU %u's list after disable", vmx_loaded_count(a), a);
	if (!rc && had_b && vmx_loaded_count((unsigned)b))
		rc = st_fail(ctx, "%u VMCS(s) on CPU %d's list after disable", vmx_loaded_count((unsigned)b), b);
	sched_bind_current(old);
	kfree(t);
	return rc;
}
SELFTEST(vmx_vcpu, test_vmx_vcpu);

