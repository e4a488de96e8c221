/*
 * Self-tests and benchmark (`vmx_exit`) of the VMX backend on the CPU they
 * run on, without the virtualization core: the backend contract
 * (arch/x86/virt/backend_selftest.c) run with VMX's table (vmx_checks),
 * whose hooks below are what only VMX has:
 *
 *   vmx_cpu    the compatibility snapshot (and its injection points),
 *              enable/disable, refusing a CPU whose CR4.VMXE is already
 *              set, emergency disable with a VMCS loaded (twice); then on
 *              every other online CPU (cross-CPU call): same snapshot as
 *              here, enable, disable;
 *   vmx_guest  a VM with slot 0 (64 KiB at guest-physical 0) running every
 *              kind of built-in guest, injected VM-entry failures, slot
 *              unmapping and remapping, and (with a second CPU) NMIs sent
 *              while the guest runs: they exit and reach the host's NMI
 *              handler, and the guest carries on.
 *
 * Everything is put back as found.  Where VMX is unusable (an AMD CPU, QEMU
 * TCG, VMX disabled by firmware) the tests pass with a note saying why they
 * did nothing.  If VMX is already on on this CPU (the core has a VM),
 * vmx_guest uses it as it is and vmx_cpu skips the enable/disable part.
 */
#include "vmx_internal.h"
#include <asm/cpu.h>
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/cpu.h>
#include <vigil/inject.h>
#include <vigil/mm.h>
#include <vigil/sched.h>
#include <vigil/selftest.h>
#include <asm/virt_selftest.h>
#include <vigil/smp.h>
#include <vigil/string.h>

INJECT_DECLARE(vmx_cap);
INJECT_DECLARE(vmx_feature_control);
INJECT_DECLARE(vmx_bad_guest_state);
INJECT_DECLARE(vmx_bad_control);

static int test_snapshot(struct selftest_ctx *ctx, struct backend_test *t);
static int test_on_off(struct selftest_ctx *ctx, struct backend_test *t);
static int vmcs_released(struct selftest_ctx *ctx, struct backend_test *t, const char *what);
static int ept_tables(struct selftest_ctx *ctx, struct backend_test *t);
static int test_nmis(struct selftest_ctx *ctx, struct backend_test *t);

static const struct backend_entry_fault vmx_entry_faults[] = {
	{ &inject_vmx_bad_guest_state, "injected bad guest state", "invalid guest state", false },
	{ &inject_vmx_bad_control, "injected bad control", "VM-instruction error 7", true },
};

static const struct backend_checks vmx_checks = {
	.label = "VMX",
	.ops = &vmx_ops,
	.vm_id = 9998,
	.firmware_off = &inject_vmx_feature_control,
	.firmware_off_reason = "VMX disabled by firmware (IA32_FEATURE_CONTROL=0x1) (injected)",
	.entry_faults = vmx_entry_faults,
	.nr_entry_faults = ARRAY_SIZE(vmx_entry_faults),
	.snapshot = test_snapshot,
	.on_off = test_on_off,
	.after_normal_run = vmcs_released,
	.after_remap = ept_tables,
	.nmis = test_nmis,
};

/* ---- vmx_cpu ---- */

static const char *const required_fields[] = {
	"CPUID.1:ECX.VMX", "IA32_FEATURE_CONTROL", "VMX_BASIC", "VMX_PINBASED_CTLS", "VMX_PROCBASED_CTLS",
	"VMX_EXIT_CTLS", "VMX_ENTRY_CTLS", "VMX_MISC", "VMX_CR0_FIXED0", "VMX_CR0_FIXED1", "VMX_CR4_FIXED0",
	"VMX_CR4_FIXED1", "VMX_PROCBASED_CTLS2", "VMX_EPT_VPID_CAP",
};

static int find_field(const struct virt_compat *c, const char *name)
{
	for (unsigned i = 0; i < c->n; i++)
		if (!strcmp(c->f[i].name, name))
			return (int)i;
	return -1;
}

static int test_snapshot(struct selftest_ctx *ctx, struct backend_test *t)
{
	struct virt_compat *a = kzalloc(sizeof(*a)), *b = kzalloc(sizeof(*b));
	unsigned cpu = t->cpu;
	int ret = -1;
	if (!a || !b) {
		st_fail(ctx, "out of memory");
		goto out;
	}
	vmx_snapshot(a);
	if (a->unusable[0]) {
		st_fail(ctx, "snapshot says unusable: %s", a->unusable);
		goto out;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(required_fields); i++)
		if (find_field(a, required_fields[i]) < 0) {
			st_fail(ctx, "snapshot lacks %s (%u fields)", required_fields[i], a->n);
			goto out;
		}
	int fc = find_field(a, "IA32_FEATURE_CONTROL");
	if (a->f[fc].value != (FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON)) {
		st_fail(ctx, "IA32_FEATURE_CONTROL field is 0x%lx", (unsigned long)a->f[fc].value);
		goto out;
	}

	/* vmx_cap: exactly one field differs, VMX_PROCBASED_CTLS2, by one bit. */
	struct inject_point old = inject_arm_once(&inject_vmx_cap, cpu);
	vmx_snapshot(b);
	inject_restore(&inject_vmx_cap, &old);
	if (a->n != b->n || b->unusable[0]) {
		st_fail(ctx, "vmx_cap: %u fields instead of %u, unusable '%s'", b->n, a->n, b->unusable);
		goto out;
	}
	for (unsigned i = 0; i < a->n; i++) {
		bool want_diff = !strcmp(a->f[i].name, "VMX_PROCBASED_CTLS2");
		uint64_t x = a->f[i].value ^ b->f[i].value;
		if (want_diff ? (!x || (x & (x - 1))) : x != 0) {
			st_fail(ctx, "vmx_cap: %s 0x%lx -> 0x%lx", a->f[i].name, (unsigned long)a->f[i].value,
				(unsigned long)b->f[i].value);
			goto out;
		}
	}

	ret = 0;
out:
	kfree(a);
	kfree(b);
	return ret;
}

/* Emergency disable from a real NMI: the callback acts only on the CPU
 * named here (registered once, idle otherwise). */
static volatile int nmi_disable_cpu = -1;
static bool nmi_registered;

static bool nmi_emergency_cb(void)
{
	if (nmi_disable_cpu != (int)smp_processor_id())
		return false;
	vmx_emergency_disable();
	__atomic_store_n(&nmi_disable_cpu, -1, __ATOMIC_RELEASE);
	return true;
}

static int test_on_off(struct selftest_ctx *ctx, struct backend_test *t)
{
	char why[WHY_MAX] = "";
	struct vmx_cpu *st = &vmx_cpus[t->cpu];
	uint64_t cr4 = read_cr4();

	ST_ASSERT(ctx, (cr4 & X86_CR4_VMXE) && st->state == VMX_CPU_ON, "CR4.VMXE or state wrong after enable");
	/* The hardware says VMX is on: a second enable is refused and
	 * changes nothing. */
	ST_ASSERT(ctx, vmx_enable(why, sizeof(why)) == -1 &&
		  !strcmp(why, "CR4.VMXE already set: another hypervisor owns this CPU"), "second enable: '%s'", why);
	ST_ASSERT(ctx, read_cr4() == cr4 && st->state == VMX_CPU_ON, "refused enable changed the CPU");

	vmx_disable();
	t->enabled_here = false;
	uint64_t cr0_off = read_cr0(), cr4_off = read_cr4();
	ST_ASSERT(ctx, !vmx_hw_enabled() && st->state == VMX_CPU_OFF, "disable left CR4.VMXE set");
	ST_ASSERT(ctx, cr4_off == (cr4 & ~X86_CR4_VMXE), "CR4 0x%lx after disable, 0x%lx before enable",
		  (unsigned long)cr4_off, (unsigned long)(cr4 & ~X86_CR4_VMXE));

	/* Someone else's VMX (here: just the bit): refused, CR4 untouched. */
	write_cr4(cr4_off | X86_CR4_VMXE);
	int r = vmx_enable(why, sizeof(why));
	uint64_t cr4_foreign = read_cr4();
	write_cr4(cr4_off);
	ST_ASSERT(ctx, r == -1 && strstr(why, "another hypervisor"), "enable with a foreign CR4.VMXE: %d '%s'", r, why);
	ST_ASSERT(ctx, cr4_foreign == (cr4_off | X86_CR4_VMXE), "refused enable changed CR4");

	/* Emergency disable with a VMCS loaded, twice. */
	ST_ASSERT(ctx, vmx_enable(why, sizeof(why)) == 0, "enable again: %s", why);
	t->enabled_here = true;
	uint64_t vmcs = vmx_vmcs_load_new(why, sizeof(why));
	ST_ASSERT(ctx, vmcs && vmx_loaded_has(t->cpu, vmcs), "loading a VMCS: %s", why);
	vmx_emergency_disable();
	vmx_emergency_disable();
	t->enabled_here = false;
	pmm_free_page(vmcs);
	ST_ASSERT(ctx, !vmx_hw_enabled() && st->state == VMX_CPU_OFF && !vmx_loaded_count(t->cpu),
		  "emergency_disable left CR4.VMXE=%d state=%d, %u VMCS(s) active", vmx_hw_enabled(), st->state,
		  vmx_loaded_count(t->cpu));
	ST_ASSERT(ctx, read_cr0() == cr0_off && read_cr4() == cr4_off, "emergency_disable left CR0/CR4 changed");

	/* An emergency that interrupted enable() or disable() (state says
	 * "in between"): in VMX operation (the CR4.VMXE probe faults) and
	 * not (CR4.VMXE set, VMXON not yet done). */
	ST_ASSERT(ctx, vmx_enable(why, sizeof(why)) == 0, "enable for the in-between cases: %s", why);
	t->enabled_here = true;
	st->state = VMX_CPU_DISABLING;
	vmx_emergency_disable();
	t->enabled_here = false;
	ST_ASSERT(ctx, !vmx_hw_enabled() && st->state == VMX_CPU_OFF, "emergency_disable in DISABLING left VMX on");
	ST_ASSERT(ctx, vmx_enable(why, sizeof(why)) == 0, "enable after emergency disable in DISABLING: %s", why);
	vmx_disable();
	st->state = VMX_CPU_ENABLING;
	write_cr4(cr4_off | X86_CR4_VMXE);
	vmx_emergency_disable();
	ST_ASSERT(ctx, !vmx_hw_enabled() && st->state == VMX_CPU_OFF, "emergency_disable in ENABLING left CR4.VMXE set");
	ST_ASSERT(ctx, read_cr0() == cr0_off && read_cr4() == cr4_off, "in-between emergency_disable left CR0/CR4 changed");

	/* The same from NMI context: an NMI to this very CPU. */
	ST_ASSERT(ctx, vmx_enable(why, sizeof(why)) == 0, "enable after emergency disable: %s", why);
	t->enabled_here = true;
	vmcs = vmx_vmcs_load_new(why, sizeof(why));
	ST_ASSERT(ctx, vmcs, "loading a VMCS: %s", why);
	if (!nmi_registered) {
		nmi_register(nmi_emergency_cb);
		nmi_registered = true;
	}
	__atomic_store_n(&nmi_disable_cpu, (int)t->cpu, __ATOMIC_RELEASE);
	arch_send_nmi(t->cpu);
	uint64_t deadline = arch_time_ns() + 1000000000ULL;
	while (__atomic_load_n(&nmi_disable_cpu, __ATOMIC_ACQUIRE) >= 0 && arch_time_ns() < deadline)
		cpu_relax();
	bool delivered = nmi_disable_cpu < 0;
	__atomic_store_n(&nmi_disable_cpu, -1, __ATOMIC_RELEASE);
	ST_ASSERT(ctx, delivered, "the NMI to CPU %u never came", t->cpu);
	t->enabled_here = false;
	pmm_free_page(vmcs);
	ST_ASSERT(ctx, !vmx_hw_enabled() && st->state == VMX_CPU_OFF && !vmx_loaded_count(t->cpu),
		  "emergency_disable from NMI left CR4.VMXE=%d state=%d", vmx_hw_enabled(), st->state);
	ST_ASSERT(ctx, read_cr0() == cr0_off && read_cr4() == cr4_off, "NMI emergency_disable left CR0/CR4 changed");

	/* And VMX can be entered again after that. */
	ST_ASSERT(ctx, vmx_enable(why, sizeof(why)) == 0, "enable after NMI emergency disable: %s", why);
	vmx_disable();
	ST_ASSERT(ctx, read_cr0() == cr0_off && read_cr4() == cr4_off, "CR0/CR4 not restored by disable");
	return 0;
}

struct remote_check {
	struct virt_compat snap;
	bool was_enabled;
	int rc;
	char why[WHY_MAX];
};

/* On another CPU, in its cross-CPU call (interrupts off). */
static void remote_cpu_check(void *arg)
{
	struct remote_check *r = arg;
	vmx_snapshot(&r->snap);
	if (vmx_hw_enabled()) {
		r->was_enabled = true;
		return;
	}
	if (vmx_enable(r->why, sizeof(r->why))) {
		r->rc = -1;
		return;
	}
	if (!vmx_hw_enabled() || vmx_cpus[smp_processor_id()].state != VMX_CPU_ON) {
		snprintf(r->why, sizeof(r->why), "enable returned 0 but VMX is not on");
		r->rc = -1;
	}
	vmx_disable();
	if (vmx_hw_enabled()) {
		snprintf(r->why, sizeof(r->why), "disable left CR4.VMXE set");
		r->rc = -1;
	}
}

/* Interrupts on, preemption on: cross-CPU calls wait. */
static int test_other_cpus(struct selftest_ctx *ctx, unsigned self, unsigned *checked)
{
	struct virt_compat *mine = kzalloc(sizeof(*mine));
	struct remote_check *r = kzalloc(sizeof(*r));
	int ret = -1;
	if (!mine || !r) {
		st_fail(ctx, "out of memory");
		goto out;
	}
	preempt_disable();
	vmx_snapshot(mine);
	preempt_enable();
	for (unsigned cpu = 0; cpu < nr_possible_cpus; cpu++) {
		if (cpu == self || !cpu_is_online(cpu))
			continue;
		memset(r, 0, sizeof(*r));
		if (vmx_prepare_cpu(cpu)) {
			st_fail(ctx, "prepare_cpu(%u) failed", cpu);
			goto out;
		}
		if (smp_call_function_single(cpu, remote_cpu_check, r, true)) {
			st_fail(ctx, "CPU %u went offline", cpu);
			goto out;
		}
		if (r->rc) {
			st_fail(ctx, "CPU %u: %s", cpu, r->why);
			goto out;
		}
		if (r->snap.unusable[0] || r->snap.n != mine->n) {
			st_fail(ctx, "CPU %u: snapshot has %u fields (here %u), unusable '%s'", cpu, r->snap.n, mine->n,
				r->snap.unusable);
			goto out;
		}
		for (unsigned i = 0; i < mine->n; i++)
			if (strcmp(mine->f[i].name, r->snap.f[i].name) || mine->f[i].value != r->snap.f[i].value) {
				st_fail(ctx, "CPU %u: %s=0x%lx, CPU %u has %s=0x%lx", cpu, r->snap.f[i].name,
					(unsigned long)r->snap.f[i].value, self, mine->f[i].name,
					(unsigned long)mine->f[i].value);
				goto out;
			}
		(*checked)++;
	}
	ret = 0;
out:
	kfree(mine);
	kfree(r);
	return ret;
}

static int test_vmx_cpu(struct selftest_ctx *ctx)
{
	unsigned cpu = 0, checked = 0;
	int r = backend_selftest(ctx, &vmx_checks, BACKEND_TEST_SNAPSHOT | BACKEND_TEST_ON_OFF, &cpu);
	if (r)
		return r > 0 ? 0 : r;
	r = test_other_cpus(ctx, cpu, &checked);
	if (!r)
		st_note(ctx, "CPU %u and %u other CPU(s) checked", cpu, checked);
	return r;
}
SELFTEST(vmx_cpu, test_vmx_cpu);

/* ---- vmx_guest ---- */

/* After every normal run: vcpu_run leaves no VMCS loaded on this CPU. */
static int vmcs_released(struct selftest_ctx *ctx, struct backend_test *t, const char *what)
{
	(void)t;
	ST_ASSERT(ctx, !vmx_loaded_count(smp_processor_id()), "%s: a VMCS is still active after the run", what);
	return 0;
}

/* One table per level for 64 KiB at guest-physical 0. */
static int ept_tables(struct selftest_ctx *ctx, struct backend_test *t)
{
	unsigned tables = ((struct vmx_vm *)t->vm->arch)->ept.tables;
	ST_ASSERT(ctx, tables == 4, "EPT for slot 0 uses %u tables, expected 4", tables);
	return 0;
}

/* NMIs from another CPU while the guest runs. */
struct nmi_storm {
	unsigned target;
	const volatile uint64_t *nmi_exits;  /* the run's "other" exit count */
	volatile bool stop;
	volatile bool finished;
	unsigned sent;
};

/* On the other CPU, in its cross-CPU call: an NMI every 100 us until one
 * has made the guest exit, or the run is over. */
static void nmi_storm(void *arg)
{
	struct nmi_storm *s = arg;
	uint64_t deadline = arch_time_ns() + 2000000000ULL;
	while (!s->stop && !*s->nmi_exits && s->sent < 2000 && arch_time_ns() < deadline) {
		arch_send_nmi(s->target);
		s->sent++;
		uint64_t next = arch_time_ns() + 100000;
		while (arch_time_ns() < next && !s->stop)
			cpu_relax();
	}
	__atomic_store_n(&s->finished, true, __ATOMIC_RELEASE);
}

static int test_nmi_in_guest(struct selftest_ctx *ctx, struct backend_test *t, struct vcpu_run *run, unsigned *sent)
{
	unsigned other = t->cpu;
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		if (c != t->cpu && cpu_is_online(c)) {
			other = c;
			break;
		}
	if (other == t->cpu)
		return 1;
	struct nmi_storm s = { .target = t->cpu, .nmi_exits = &run->exit_count[VEXIT_OTHER] };
	uint64_t nmis = nmi_count[t->cpu];
	memset(run, 0, sizeof(*run));
	if (smp_call_function_single(other, nmi_storm, &s, false))
		return 1;
	int r = backend_run_guest(t, GUEST_NORMAL, 4000, run);
	s.stop = true;
	uint64_t deadline = arch_time_ns() + 1000000000ULL;
	while (!__atomic_load_n(&s.finished, __ATOMIC_ACQUIRE) && arch_time_ns() < deadline)
		cpu_relax();
	ST_ASSERT(ctx, s.finished, "the NMI sender on CPU %u did not finish", other);
	*sent = s.sent;
	if (backend_check_normal(ctx, t, "normal guest under NMIs", r, run, 4000))
		return -1;
	ST_ASSERT(ctx, run->exit_count[VEXIT_OTHER] > 0, "%u NMIs sent, none made the guest exit", s.sent);
	ST_ASSERT(ctx, nmi_count[t->cpu] - nmis >= run->exit_count[VEXIT_OTHER],
		  "%lu NMI exits but the NMI handler ran %lu times", (unsigned long)run->exit_count[VEXIT_OTHER],
		  (unsigned long)(nmi_count[t->cpu] - nmis));
	return 0;
}

/* With a second CPU: NMIs sent while the guest runs exit and reach the
 * host's NMI handler, and the guest carries on. */
static int test_nmis(struct selftest_ctx *ctx, struct backend_test *t)
{
	struct vcpu_run *run = kzalloc(sizeof(*run));
	ST_ASSERT(ctx, run, "out of memory");
	unsigned sent = 0;
	int r = test_nmi_in_guest(ctx, t, run, &sent);
	if (r == 0)
		st_note(ctx, "%lu of %u NMIs sent from another CPU arrived in the guest and exited",
			(unsigned long)run->exit_count[VEXIT_OTHER], sent);
	kfree(run);
	return r < 0 ? -1 : 0;
}

static int test_vmx_guest(struct selftest_ctx *ctx)
{
	int r = backend_selftest(ctx, &vmx_checks, BACKEND_TEST_GUESTS, NULL);
	return r > 0 ? 0 : r;
}
SELFTEST(vmx_guest, test_vmx_guest);

/* ns per exit of the normal guest (CPUID, OUT, VMCALL, HLT in turn). */
BACKEND_BENCH_EXIT(vmx_exit, vmx_checks);
