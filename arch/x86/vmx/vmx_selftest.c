/*
 * Self-tests and benchmark of the VMX backend on the CPU they run on,
 * without the virtualization core:
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

#define SLOT0_SIZE  (64 * 1024)
#define SLOT0_ORDER 4

struct vmx_test {
	unsigned cpu;
	bool enabled_here;         /* we turned VMX on, so we turn it off */
	struct vm *vm;
	char why[128];
};

static void test_end_vm(struct vmx_test *t)
{
	if (!t->vm)
		return;
	struct vm_slot *s = &t->vm->slots[0];
	if (t->vm->arch && s->used)
		vmx_vm_unmap_slot(t->vm, s);
	vmx_vm_destroy(t->vm);
	if (s->hpa)
		pmm_free_pages(s->hpa, s->order);
	kfree(t->vm);
	t->vm = NULL;
}

static void test_end(struct vmx_test *t)
{
	test_end_vm(t);
	if (t->enabled_here) {
		vmx_disable();
		t->enabled_here = false;
	}
}

/* Preemption must be off.  1: VMX unusable here (skip, t->why says why);
 * 0: VMX on (and a VM with slot 0 ready when with_vm); -1: failure. */
static int test_begin(struct vmx_test *t, bool with_vm)
{
	memset(t, 0, sizeof(*t));
	if (vmx_probe(t->why, sizeof(t->why)))
		return 1;
	t->cpu = smp_processor_id();
	if (vmx_prepare_cpu(t->cpu)) {
		snprintf(t->why, sizeof(t->why), "prepare_cpu(%u) failed", t->cpu);
		return -1;
	}
	if (!vmx_hw_enabled()) {
		if (vmx_enable(t->why, sizeof(t->why)))
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
		test_end(t);
		return -1;
	}
	memset(phys_to_virt(pa), 0, SLOT0_SIZE);
	t->vm->id = 9998;
	t->vm->slots[0] = (struct vm_slot){ .gpa = 0, .size = SLOT0_SIZE, .hpa = pa, .order = SLOT0_ORDER, .used = true };
	if (vmx_vm_init(t->vm, t->why, sizeof(t->why)) ||
	    vmx_vm_map_slot(t->vm, &t->vm->slots[0], t->why, sizeof(t->why))) {
		t->vm->slots[0].used = false;
		test_end(t);
		return -1;
	}
	return 0;
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

static int test_snapshot(struct selftest_ctx *ctx, unsigned cpu)
{
	struct virt_compat *a = kzalloc(sizeof(*a)), *b = kzalloc(sizeof(*b));
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
	struct inject_point old = arm_once(&inject_vmx_cap, cpu);
	vmx_snapshot(b);
	restore_point(&inject_vmx_cap, &old);
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

	/* vmx_feature_control: the CPU looks locked without VMXON. */
	memset(b, 0, sizeof(*b));
	old = arm_once(&inject_vmx_feature_control, cpu);
	vmx_snapshot(b);
	bool still_armed = inject_vmx_feature_control.armed;
	restore_point(&inject_vmx_feature_control, &old);
	if (strcmp(b->unusable, "VMX disabled by firmware (IA32_FEATURE_CONTROL=0x1) (injected)") || still_armed) {
		st_fail(ctx, "vmx_feature_control: unusable '%s', still armed %d", b->unusable, still_armed);
		goto out;
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

static int test_on_off(struct selftest_ctx *ctx, struct vmx_test *t)
{
	char why[128] = "";
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
	ST_ASSERT(ctx, vmcs && st->loaded_vmcs == vmcs, "loading a VMCS: %s", why);
	vmx_emergency_disable();
	vmx_emergency_disable();
	t->enabled_here = false;
	pmm_free_page(vmcs);
	ST_ASSERT(ctx, !vmx_hw_enabled() && st->state == VMX_CPU_OFF && !st->loaded_vmcs,
		  "emergency_disable left CR4.VMXE=%d state=%d loaded_vmcs=0x%lx", vmx_hw_enabled(), st->state,
		  (unsigned long)st->loaded_vmcs);
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
	ST_ASSERT(ctx, !vmx_hw_enabled() && st->state == VMX_CPU_OFF && !st->loaded_vmcs,
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
	char why[128];
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
	struct vmx_test t;
	preempt_disable();
	int r = test_begin(&t, false);
	if (r == 1) {
		preempt_enable();
		st_note(ctx, "VMX unavailable, nothing tested: %s", t.why);
		return 0;
	}
	if (r < 0) {
		preempt_enable();
		return st_fail(ctx, "setting up: %s", t.why);
	}
	r = test_snapshot(ctx, t.cpu);
	bool was_enabled = !t.enabled_here;
	if (!r && !was_enabled)
		r = test_on_off(ctx, &t);
	test_end(&t);
	preempt_enable();
	if (was_enabled)
		st_note(ctx, "VMX already on on CPU %u: enable/disable not tested", t.cpu);
	unsigned checked = 0;
	if (!r)
		r = test_other_cpus(ctx, t.cpu, &checked);
	if (!r)
		st_note(ctx, "CPU %u and %u other CPU(s) checked", t.cpu, checked);
	return r;
}
SELFTEST(vmx_cpu, test_vmx_cpu);

/* ---- vmx_guest ---- */

static int run_guest(struct vmx_test *t, enum guest_kind kind, uint64_t max_exits, struct vcpu_run *run)
{
	memset(run, 0, sizeof(*run));
	run->guest = kind;
	run->max_exits = max_exits;
	return vmx_vcpu_run(t->vm, run);
}

static int check_normal(struct selftest_ctx *ctx, const char *what, int r, const struct vcpu_run *run, uint64_t max)
{
	if (virt_selftest_check_normal_run(ctx, what, r, run, max))
		return -1;
	ST_ASSERT(ctx, !vmx_cpus[smp_processor_id()].loaded_vmcs, "%s: a VMCS is still loaded after the run", what);
	return 0;
}

static int check_failed(struct selftest_ctx *ctx, const char *what, int r, const struct vcpu_run *run,
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

static int test_nmi_in_guest(struct selftest_ctx *ctx, struct vmx_test *t, struct vcpu_run *run, unsigned *sent)
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
	int r = run_guest(t, GUEST_NORMAL, 4000, run);
	s.stop = true;
	uint64_t deadline = arch_time_ns() + 1000000000ULL;
	while (!__atomic_load_n(&s.finished, __ATOMIC_ACQUIRE) && arch_time_ns() < deadline)
		cpu_relax();
	ST_ASSERT(ctx, s.finished, "the NMI sender on CPU %u did not finish", other);
	*sent = s.sent;
	if (check_normal(ctx, "normal guest under NMIs", r, run, 4000))
		return -1;
	ST_ASSERT(ctx, run->exit_count[VEXIT_OTHER] > 0, "%u NMIs sent, none made the guest exit", s.sent);
	ST_ASSERT(ctx, nmi_count[t->cpu] - nmis >= run->exit_count[VEXIT_OTHER],
		  "%lu NMI exits but the NMI handler ran %lu times", (unsigned long)run->exit_count[VEXIT_OTHER],
		  (unsigned long)(nmi_count[t->cpu] - nmis));
	return 0;
}

static int test_guests(struct selftest_ctx *ctx, struct vmx_test *t, uint64_t *ns, uint64_t *exits)
{
	struct vcpu_run *run = kzalloc(sizeof(*run));
	ST_ASSERT(ctx, run, "out of memory");
	int r, ret = -1;
	struct inject_point old;

	r = run_guest(t, GUEST_NORMAL, 100, run);
	if (check_normal(ctx, "normal guest", r, run, 100))
		goto out;
	*ns = run->guest_ns;
	*exits = run->exits;

	r = run_guest(t, GUEST_WILD, 100, run);
	if (check_failed(ctx, "wild guest", r, run, VEXIT_MEM_FAULT, "unmapped guest-physical 0x40000000"))
		goto out;
	r = run_guest(t, GUEST_BAD_INSN, 100, run);
	if (check_failed(ctx, "bad-instruction guest", r, run, VEXIT_EXCEPTION,
			 "undefined instruction at rip 0x1000"))
		goto out;

	old = arm_once(&inject_vmx_bad_guest_state, t->cpu);
	r = run_guest(t, GUEST_NORMAL, 100, run);
	restore_point(&inject_vmx_bad_guest_state, &old);
	if (check_failed(ctx, "injected bad guest state", r, run, VEXIT_ENTRY_FAILED, "invalid guest state"))
		goto out;
	old = arm_once(&inject_vmx_bad_control, t->cpu);
	r = run_guest(t, GUEST_NORMAL, 100, run);
	restore_point(&inject_vmx_bad_control, &old);
	if (check_failed(ctx, "injected bad control", r, run, VEXIT_ENTRY_FAILED, "VM-instruction error 7"))
		goto out;
	if (run->exits != 1) {
		st_fail(ctx, "injected bad control: %lu exits, expected 1", (unsigned long)run->exits);
		goto out;
	}

	r = run_guest(t, GUEST_NORMAL, 0, run);
	if (r || run->exits || run->guest_failed) {
		st_fail(ctx, "max_exits=0: vcpu_run=%d exits=%lu: %s", r, (unsigned long)run->exits, run->why);
		goto out;
	}

	/* Slot changes: a second mapping of the same range is refused; after
	 * unmapping, the guest's first fetch faults (the INVEPT at the start
	 * of the run forgets the old translation); mapping again brings it
	 * back. */
	char why[128] = "";
	if (vmx_vm_map_slot(t->vm, &t->vm->slots[0], why, sizeof(why)) == 0 || !strstr(why, "already mapped")) {
		st_fail(ctx, "mapping slot 0 twice: '%s'", why);
		goto out;
	}
	vmx_vm_unmap_slot(t->vm, &t->vm->slots[0]);
	r = run_guest(t, GUEST_NORMAL, 100, run);
	if (r != -1 || !strstr(run->why, "0x1000") || run->last_exit != VEXIT_MEM_FAULT) {
		st_fail(ctx, "after unmap: vcpu_run=%d last=%s '%s'", r, vexit_name(run->last_exit), run->why);
		goto out;
	}
	if (vmx_vm_map_slot(t->vm, &t->vm->slots[0], why, sizeof(why))) {
		st_fail(ctx, "mapping slot 0 again: %s", why);
		goto out;
	}
	r = run_guest(t, GUEST_NORMAL, 100, run);
	if (check_normal(ctx, "normal guest after remap", r, run, 100))
		goto out;
	/* One table per level for 64 KiB at guest-physical 0. */
	unsigned tables = ((struct vmx_vm *)t->vm->arch)->tables;
	if (tables != 4) {
		st_fail(ctx, "EPT for slot 0 uses %u tables, expected 4", tables);
		goto out;
	}

	unsigned sent = 0;
	r = test_nmi_in_guest(ctx, t, run, &sent);
	if (r < 0)
		goto out;
	if (r == 0)
		st_note(ctx, "%lu of %u NMIs sent from another CPU arrived in the guest and exited",
			(unsigned long)run->exit_count[VEXIT_OTHER], sent);
	ret = 0;
out:
	kfree(run);
	return ret;
}

static int test_vmx_guest(struct selftest_ctx *ctx)
{
	struct vmx_test t;
	uint64_t ns = 0, exits = 0;
	preempt_disable();
	int r = test_begin(&t, true);
	if (r == 1) {
		preempt_enable();
		st_note(ctx, "VMX unavailable, nothing tested: %s", t.why);
		return 0;
	}
	if (r < 0) {
		preempt_enable();
		return st_fail(ctx, "setting up: %s", t.why);
	}
	r = test_guests(ctx, &t, &ns, &exits);
	test_end(&t);
	preempt_enable();
	if (exits)
		st_note(ctx, "normal guest on CPU %u: %lu exits in %lu ns (%lu ns/exit)", t.cpu, (unsigned long)exits,
			(unsigned long)ns, (unsigned long)(ns / exits));
	return r;
}
SELFTEST(vmx_guest, test_vmx_guest);

/* ns per exit of the normal guest (CPUID, OUT, VMCALL, HLT in turn), one
 * sample per run of 1000 exits. */
static unsigned bench_vmx_exit(uint64_t *samples, unsigned max)
{
	struct vmx_test t;
	struct vcpu_run run;
	unsigned n = 0;
	preempt_disable();
	if (test_begin(&t, true) == 0) {
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
BENCH(vmx_exit, "ns", bench_vmx_exit);
