/*
 * Host tests of the live-vCPU core (core/virt/vcpu.c, vm_live.c,
 * vcpu_hotplug.c, vcpu_check.c, vcpu_request.c: the real code) against a
 * fake backend, on host_smp's fake CPUs, under ThreadSanitizer.
 *
 * The fake backend checks each call the way the hardware would punish a
 * mistake: vcpu_load with preemption off on the CPU it names, which must
 * have virtualization on; vcpu_enter with interrupts off, in guest mode, on
 * the CPU of the load.  Its "guest" polls for a kick IPI on its CPU (the
 * fake interrupt: arch_send_ipi below) and exits when one comes or after a
 * while by itself, reporting progress by "hypercall" and, every fourth
 * exit, a HLT.  Violations are counted and the first one kept; every test
 * ends with none.
 *
 * Around it, what the kernel would do: CPU offline = the vCPU hotplug
 * teardown in a task on the dying CPU, then virtualization off there, then
 * the CPU offline (under the hotplug write lock); suspend = the freezer's
 * flag, its kick hook, and a wait until every vCPU task is frozen.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vigil/arch.h>
#include <vigil/atomic.h>
#include <vigil/check.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/suspend.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>
#include <vigil/vm_gate.h>
#include <vigil/waitqueue.h>

#include "host_cpuhp_none.h"
#include "host_sched.h"
#include "host_smp.h"
#include "virt_internal.h"

const char vigil_version[] = "host-test";
const char vigil_commit[] = "host-test";

#define NCPUS 4
#define GUEST_POLLS 2000

/* ---- the fake backend ---- */

static int hw_on[HOST_MAX_CPUS];
static int ipi_pending[HOST_MAX_CPUS];
static int violations;
static char first_violation[256];
static int fail_index = -1;         /* this vCPU's guest fails at its 50th exit */
static unsigned long creates, destroys;

static void violation(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (__atomic_fetch_add(&violations, 1, __ATOMIC_SEQ_CST) == 0)
		strcpy(first_violation, buf);
	printk("VIOLATION: %s\n", buf);
}

struct fake_arch {
	int loaded_cpu;
	unsigned long exits;
	bool halted_exit;
};

static int fake_vcpu_create(struct vcpu *v, char *why, size_t len)
{
	(void)why;
	(void)len;
	struct fake_arch *a = calloc(1, sizeof(*a));
	a->loaded_cpu = -1;
	v->arch = a;
	__atomic_fetch_add(&creates, 1, __ATOMIC_RELAXED);
	return 0;
}

static void fake_vcpu_destroy(struct vcpu *v)
{
	free(v->arch);
	v->arch = NULL;
	__atomic_fetch_add(&destroys, 1, __ATOMIC_RELAXED);
}

static int fake_vcpu_load(struct vcpu *v, unsigned cpu, char *why, size_t len)
{
	(void)why;
	(void)len;
	struct fake_arch *a = v->arch;
	if (!in_atomic())
		violation("%s: vcpu_load preemptible", v->name);
	if (cpu != smp_processor_id())
		violation("%s: vcpu_load for cpu %u on cpu %u", v->name, cpu, smp_processor_id());
	if (!__atomic_load_n(&hw_on[cpu], __ATOMIC_SEQ_CST))
		violation("%s: vcpu_load on cpu %u with virtualization off", v->name, cpu);
	a->loaded_cpu = (int)cpu;
	return 0;
}

static bool take_ipi(unsigned cpu)
{
	return __atomic_exchange_n(&ipi_pending[cpu], 0, __ATOMIC_SEQ_CST) != 0;
}

static bool fake_vcpu_enter(struct vcpu *v)
{
	struct fake_arch *a = v->arch;
	unsigned cpu = smp_processor_id();
	if (arch_irqs_enabled())
		violation("%s: vcpu_enter with interrupts on", v->name);
	if (vcpu_mode(&v->req) == OUTSIDE_GUEST_MODE)
		violation("%s: vcpu_enter outside guest mode", v->name);
	if (a->loaded_cpu != (int)cpu)
		violation("%s: vcpu_enter on cpu %u, loaded on %d", v->name, cpu, a->loaded_cpu);
	if (!__atomic_load_n(&hw_on[cpu], __ATOMIC_SEQ_CST))
		return false;
	/* The guest runs until an interrupt (a kick) or its own exit. */
	for (unsigned i = 0; i < GUEST_POLLS; i++) {
		if (take_ipi(cpu))
			break;
		if (!__atomic_load_n(&hw_on[cpu], __ATOMIC_SEQ_CST))
			violation("%s: in the guest on cpu %u while virtualization went off", v->name, cpu);
	}
	a->exits++;
	a->halted_exit = a->exits % 4 == 0;
	return true;
}

static void add(uint64_t *p)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static enum vcpu_exit_action fake_vcpu_handle_exit(struct vcpu *v)
{
	struct fake_arch *a = v->arch;
	if (!in_atomic() || !arch_irqs_enabled())
		violation("%s: handle_exit must run with preemption off and interrupts on", v->name);
	add(&v->run.exits);
	if ((int)v->index == __atomic_load_n(&fail_index, __ATOMIC_SEQ_CST) && a->exits >= 50) {
		snprintf(v->run.why, sizeof(v->run.why), "injected guest failure");
		return VCPU_EXIT_GUEST_FAILED;
	}
	if (a->halted_exit) {
		add(&v->run.exit_count[VEXIT_HLT]);
		return VCPU_EXIT_HALT;
	}
	add(&v->run.exit_count[VEXIT_HYPERCALL]);
	add(&v->run.progress);
	return VCPU_EXIT_CONTINUE;
}

static const struct virt_ops fake_ops = {
	.name = "fake",
	.vcpu_create = fake_vcpu_create,
	.vcpu_destroy = fake_vcpu_destroy,
	.vcpu_load = fake_vcpu_load,
	.vcpu_enter = fake_vcpu_enter,
	.vcpu_handle_exit = fake_vcpu_handle_exit,
};

/* ---- what the rest of the kernel provides ---- */

void arch_send_ipi(unsigned cpu, enum ipi_kind kind)
{
	(void)kind;
	__atomic_store_n(&ipi_pending[cpu], 1, __ATOMIC_SEQ_CST);
}

const struct virt_ops *virt_ops_current(void)
{
	return &fake_ops;
}

bool virt_cpu_enabled(unsigned cpu)
{
	return __atomic_load_n(&hw_on[cpu], __ATOMIC_SEQ_CST) != 0;
}

/* For the CPU table's `cpus` reply. */
const char *virt_cpu_compat(unsigned cpu)
{
	(void)cpu;
	return "ok";
}

const char *virt_cpu_degraded(unsigned cpu)
{
	(void)cpu;
	return "";
}

static unsigned (*reboot_prepare)(void);
void virt_set_reboot_prepare(unsigned (*fn)(void))
{
	reboot_prepare = fn;
}

const char *vexit_name(enum vexit e)
{
	static const char *n[VEXIT_COUNT] = { "none", "hypercall", "cpuid", "hlt", "io", "mem_fault",
					      "exception", "entry_failed", "shutdown", "intr", "other" };
	return e < VEXIT_COUNT ? n[e] : "?";
}

void *kmalloc(size_t size)
{
	return malloc(size ? size : 1);
}

void *kzalloc(size_t size)
{
	return calloc(1, size ? size : 1);
}

void kfree(const void *p)
{
	free((void *)p);
}

/* Tasks: host threads; a vCPU task's CPU is its fake CPU. */
struct task *kthread_run(void (*fn)(void *), void *arg, int cpu, const char *name)
{
	static unsigned next = 1;
	unsigned c = cpu >= 0 ? (unsigned)cpu : 1 + __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % (NCPUS - 1);
	return host_task_spawn(fn, arg, c, name);
}

void kthread_join(struct task *t)
{
	host_task_join(t);
}

int sched_migrate(struct task *t, unsigned cpu)
{
	if (t != current_task())
		fail_msg("sched_migrate of another task");
	if (!cpu_is_online(cpu))
		return -1;
	host_task_set_cpu(cpu);
	return 0;
}

void sched_bind_current(int cpu)
{
	(void)cpu;
}

void sleep_ns(uint64_t ns)
{
	usleep((useconds_t)(ns / 1000 > 50 ? ns / 1000 : 50));
}

/* The freezer: the flag, the kick hook, the thaw queue. */
static int fz, frozen_count, freezable_count;
static DECLARE_WAIT_QUEUE_HEAD(thaw_wq);
static void (*freezer_kick)(void);

int freezer_register_kick(void (*fn)(void))
{
	freezer_kick = fn;
	return 0;
}

bool freezing(void)
{
	return __atomic_load_n(&fz, __ATOMIC_SEQ_CST) != 0;
}

void set_freezable(void)
{
	__atomic_fetch_add(&freezable_count, 1, __ATOMIC_SEQ_CST);
}

void freezer_exit(void)
{
	__atomic_fetch_sub(&freezable_count, 1, __ATOMIC_SEQ_CST);
}

bool try_to_freeze(void)
{
	if (!freezing())
		return false;
	__atomic_fetch_add(&frozen_count, 1, __ATOMIC_SEQ_CST);
	wait_event(&thaw_wq, !freezing());
	__atomic_fetch_sub(&frozen_count, 1, __ATOMIC_SEQ_CST);
	return true;
}

/* The VM list (core/virt/vm.c is not built on the host). */
DEFINE_MUTEX(vm_list_lock);
static struct vm *vms;

/* The fake VMs have no slot layer: vm_start's "no memory slots" check
 * sees none and lets them start. */
struct memslot_pair *vm_memslot_pair(struct vm *vm)
{
	(void)vm;
	return NULL;
}

struct vm *vm_find_locked(unsigned id)
{
	for (struct vm *vm = vms; vm; vm = vm->next)
		if (vm->id == id)
			return vm;
	return NULL;
}

struct vm *vm_first_locked(void)
{
	return vms;
}

static struct vm *make_vm(unsigned id, unsigned nr)
{
	char why[WHY_MAX];
	struct vm *vm = calloc(1, sizeof(*vm));
	vm->id = id;
	vm->guest = GUEST_PATTERN;
	vm->gate = calloc(1, sizeof(*vm->gate));
	vm_gate_init(vm->gate);
	assert_int_equal(vm_vcpus_alloc(vm, nr, why, sizeof(why)), 0);
	vm_vcpus_name(vm);
	mutex_lock(&vm_list_lock);
	vm->next = vms;
	vms = vm;
	mutex_unlock(&vm_list_lock);
	return vm;
}

static void destroy_vm(struct vm *vm)
{
	mutex_lock(&vm_life_lock);
	vm_live_stop_locked(vm);
	mutex_unlock(&vm_life_lock);
	mutex_lock(&vm_list_lock);
	for (struct vm **pp = &vms; *pp; pp = &(*pp)->next)
		if (*pp == vm) {
			*pp = vm->next;
			break;
		}
	mutex_unlock(&vm_list_lock);
	vm_vcpus_free(vm);
	free(vm);
}

/* ---- helpers ---- */

static bool booted;

static void boot(void)
{
	host_smp_start(NCPUS, NCPUS);
	for (unsigned c = 0; c < NCPUS; c++)
		hw_on[c] = 1;
	violations = 0;
	fail_index = -1;
	host_console_clear();
	if (!booted) {
		vcpu_lifecycle_init();
		booted = true;
	}
}

static int teardown(void **state)
{
	while (vms)
		destroy_vm(vms);
	host_smp_stop();
	if (violations) {
		host_console_dump();
		fail_msg("%d backend violations, the first: %s", violations, first_violation);
	}
	return host_teardown_no_violations(state);
}

static uint64_t progress(const struct vcpu *v)
{
	return __atomic_load_n(&v->run.progress, __ATOMIC_RELAXED);
}

/* Wait (the watchdog bounds it) until every vCPU of vm progressed by n. */
static void wait_progress(struct vm *vm, uint64_t n)
{
	uint64_t base[16];
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		base[i] = progress(vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		while (progress(vm->vcpus[i]) < base[i] + n)
			host_msleep(1);
}

static void expect_error(int r, const char *why, const char *substr)
{
	assert_int_not_equal(r, 0);
	if (!strstr(why, substr))
		fail_msg("error '%s' does not say '%s'", why, substr);
}

static void check_ok(void)
{
	char why[WHY_MAX];
	if (invariants_check(why, sizeof(why)) != 0) {
		host_console_dump();
		fail_msg("check: %s", why);
	}
}

/* ---- tests ---- */

static void test_start_progress_stop(void **state)
{
	(void)state;
	char why[WHY_MAX];
	boot();
	struct vm *vm = make_vm(1, 3);
	assert_int_equal(vm_start(1, why, sizeof(why)), 0);
	check_ok();  /* baseline */
	wait_progress(vm, 20);
	check_ok();  /* progress since the baseline */
	assert_int_equal(vm_live_state(1), VM_RUNNING);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(vm->vcpus[i]->state, VCPU_RUNNING);
		assert_string_equal(vm->vcpus[i]->name, i == 0 ? "vcpu1.0" : i == 1 ? "vcpu1.1" : "vcpu1.2");
	}
	assert_int_equal(vm_stop(1, why, sizeof(why)), 0);
	for (unsigned i = 0; i < 3; i++) {
		struct vcpu *v = vm->vcpus[i];
		assert_int_equal(v->state, VCPU_STOPPED);
		assert_null(v->task);
		assert_true(v->entries > 0);
		assert_true(v->halts > 0);  /* every fourth exit is a HLT */
		assert_int_equal(vcpu_mode(&v->req), OUTSIDE_GUEST_MODE);
	}
	uint64_t e = vm->vcpus[0]->entries;
	host_msleep(20);
	assert_int_equal(vm->vcpus[0]->entries, e);  /* stopped means no entry */
	/* Started again, it goes on. */
	assert_int_equal(vm_start(1, why, sizeof(why)), 0);
	wait_progress(vm, 5);
	assert_int_equal(__atomic_load_n(&freezable_count, __ATOMIC_SEQ_CST), 3);
}

static void stat_count(const char *line, void *arg)
{
	(void)line;
	(*(unsigned *)arg)++;
}

static void test_lifecycle_errors(void **state)
{
	(void)state;
	char why[WHY_MAX];
	boot();
	struct vm *vm = make_vm(2, 2);
	expect_error(vm_start(9, why, sizeof(why)), why, "no VM with id 9");
	expect_error(vm_stop(2, why, sizeof(why)), why, "vm 2 is not running");
	expect_error(vm_pause(2, why, sizeof(why)), why, "stopped: nothing to pause");
	expect_error(vm_resume(2, why, sizeof(why)), why, "not paused");
	expect_error(vcpu_pin(2, 2, 1, why, sizeof(why)), why, "vm 2 has no vCPU 2");
	expect_error(vcpu_pin(3, 0, 1, why, sizeof(why)), why, "no VM with id 3");
	expect_error(vcpu_pin(2, 0, 7, why, sizeof(why)), why, "cpu 7 does not exist");
	host_cpu_offline(3);
	expect_error(vcpu_pin(2, 0, 3, why, sizeof(why)), why, "cpu 3 is offline");
	host_cpu_online(3);
	hw_on[2] = 0;
	expect_error(vcpu_pin(2, 0, 2, why, sizeof(why)), why, "virtualization is not enabled");
	hw_on[2] = 1;
	unsigned lines = 0;
	expect_error(vm_stat(5, stat_count, &lines, why, sizeof(why)), why, "no VM with id 5");
	assert_int_equal(vm_start(2, why, sizeof(why)), 0);
	expect_error(vm_start(2, why, sizeof(why)), why, "vm 2 is already running");
	expect_error(vm_resume(2, why, sizeof(why)), why, "running, not paused");
	assert_int_equal(vm_pause(2, why, sizeof(why)), 0);
	expect_error(vm_pause(2, why, sizeof(why)), why, "already paused");
	expect_error(vm_start(2, why, sizeof(why)), why, "already paused");
	assert_int_equal(vm_stat(2, stat_count, &lines, why, sizeof(why)), 0);
	assert_int_equal(lines, 1 + 2 + 1);  /* the VM, one per vCPU, the exits */
	/* Destroying a running VM stops it first. */
	assert_int_equal(vm_resume(2, why, sizeof(why)), 0);
	wait_progress(vm, 3);
	destroy_vm(vm);
	assert_int_equal(creates, destroys);
}

static void test_pause_resume(void **state)
{
	(void)state;
	char why[WHY_MAX];
	boot();
	struct vm *vm = make_vm(3, 3);
	assert_int_equal(vm_start(3, why, sizeof(why)), 0);
	wait_progress(vm, 10);
	assert_int_equal(vm_pause(3, why, sizeof(why)), 0);
	/* On return every vCPU is out of the guest and no entry follows. */
	uint64_t e[3];
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(vm->vcpus[i]->state, VCPU_PAUSED);
		e[i] = __atomic_load_n(&vm->vcpus[i]->entries, __ATOMIC_RELAXED);
	}
	host_msleep(30);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(vcpu_mode(&vm->vcpus[i]->req), OUTSIDE_GUEST_MODE);
		/* At most the entry that was past its re-check when paused. */
		assert_true(__atomic_load_n(&vm->vcpus[i]->entries, __ATOMIC_RELAXED) <= e[i] + 1);
	}
	check_ok();  /* a paused VM owes no progress */
	assert_int_equal(vm_resume(3, why, sizeof(why)), 0);
	wait_progress(vm, 10);
	check_ok();
	/* Stop from paused. */
	assert_int_equal(vm_pause(3, why, sizeof(why)), 0);
	assert_int_equal(vm_stop(3, why, sizeof(why)), 0);
}

struct offline_arg {
	unsigned cpu;
	cpuhp_teardown_fn teardown;
	unsigned still_there;   /* vCPUs looping on the CPU after the teardown */
};

static void count_there(struct vcpu *v, void *arg)
{
	struct offline_arg *o = arg;
	if (READ_ONCE(v->state) == VCPU_RUNNING && READ_ONCE(v->task) && !READ_ONCE(v->outside) &&
	    !READ_ONCE(v->frozen) && __atomic_load_n(&v->where, __ATOMIC_SEQ_CST) == (int)o->cpu)
		o->still_there++;
}

/* The dying CPU's hotplug thread: the vCPUs' teardown, then (owning the
 * CPU, as virt's teardown does with preemption off) virtualization off. */
static void cpuhp_thread(void *arg)
{
	struct offline_arg *o = arg;
	o->teardown(o->cpu);
	vcpu_for_each(count_there, o);
	preempt_disable();
	__atomic_store_n(&hw_on[o->cpu], 0, __ATOMIC_SEQ_CST);
	preempt_enable();
}

static cpuhp_teardown_fn vcpu_teardown(void)
{
	for (unsigned i = 0; i < host_cpuhp_none_count; i++)
		if (!strcmp(host_cpuhp_none_states[i].name, "vcpu:online"))
			return host_cpuhp_none_states[i].teardown;
	fail_msg("vcpu:online not registered");
	return NULL;
}

static cpuhp_startup_fn vcpu_startup(void)
{
	for (unsigned i = 0; i < host_cpuhp_none_count; i++)
		if (!strcmp(host_cpuhp_none_states[i].name, "vcpu:online"))
			return host_cpuhp_none_states[i].startup;
	return NULL;
}

/* What cpu_down does, in order: the ONLINE teardowns in the CPU's hotplug
 * thread (the vCPUs' first, then virtualization's), then the CPU goes. */
static void cpu_offline(unsigned cpu)
{
	struct offline_arg o = { cpu, vcpu_teardown(), 0 };
	cpus_write_lock();
	host_task_run(cpuhp_thread, &o, cpu, "cpuhp");
	host_cpu_offline(cpu);
	cpus_write_unlock();
	assert_int_equal(o.still_there, 0);
	assert_int_equal(host_console_count("did not leave"), 0);
}

static void cpu_online(unsigned cpu)
{
	char why[WHY_MAX];
	cpus_write_lock();
	host_cpu_online(cpu);
	__atomic_store_n(&hw_on[cpu], 1, __ATOMIC_SEQ_CST);
	assert_int_equal(vcpu_startup()(cpu, why, sizeof(why)), 0);
	cpus_write_unlock();
}

static void test_cpu_offline_pushes_vcpus(void **state)
{
	(void)state;
	char why[WHY_MAX];
	boot();
	struct vm *vm = make_vm(4, 3);
	assert_int_equal(vcpu_pin(4, 1, 2, why, sizeof(why)), 0);
	assert_int_equal(vm_start(4, why, sizeof(why)), 0);
	wait_progress(vm, 10);
	check_ok();
	for (unsigned round = 0; round < 6; round++) {
		unsigned cpu = 1 + round % (NCPUS - 1);
		cpu_offline(cpu);
		/* No vCPU there, and none can go there. */
		for (unsigned i = 0; i < 3; i++) {
			struct vcpu *v = vm->vcpus[i];
			assert_true(vcpu_mode(&v->req) == OUTSIDE_GUEST_MODE || READ_ONCE(v->req.cpu) != (int)cpu);
		}
		wait_progress(vm, 10);
		check_ok();
		cpu_online(cpu);
		wait_progress(vm, 10);
		check_ok();
	}
	assert_int_equal(vm->vcpus[1]->pin, TASK_ANY_CPU);
	assert_true(host_console_count("vcpu4.1: cpu 2 is going offline: its pin to it is dropped") == 1);
	uint64_t moves = 0;
	for (unsigned i = 0; i < 3; i++)
		moves += vm->vcpus[i]->moves;
	assert_true(moves > 0);
}

static void wait_frozen(unsigned n)
{
	while (__atomic_load_n(&frozen_count, __ATOMIC_SEQ_CST) < (int)n)
		host_msleep(1);
}

static void test_freeze_parks_vcpus(void **state)
{
	(void)state;
	char why[WHY_MAX];
	boot();
	struct vm *a = make_vm(5, 2), *b = make_vm(6, 2);
	assert_int_equal(vm_start(5, why, sizeof(why)), 0);
	assert_int_equal(vm_start(6, why, sizeof(why)), 0);
	assert_int_equal(vm_pause(6, why, sizeof(why)), 0);  /* a paused one freezes too */
	wait_progress(a, 5);
	check_ok();
	for (unsigned round = 0; round < 5; round++) {
		__atomic_store_n(&fz, 1, __ATOMIC_SEQ_CST);
		freezer_kick();
		wait_frozen(4);
		uint64_t e = __atomic_load_n(&a->vcpus[0]->entries, __ATOMIC_RELAXED);
		for (unsigned i = 0; i < 2; i++) {
			assert_int_equal(vcpu_mode(&a->vcpus[i]->req), OUTSIDE_GUEST_MODE);
			assert_true(a->vcpus[i]->frozen);
		}
		/* The CPUs go down while the vCPUs are frozen. */
		cpu_offline(3);
		host_msleep(5);
		assert_int_equal(__atomic_load_n(&a->vcpus[0]->entries, __ATOMIC_RELAXED), e);
		cpu_online(3);
		__atomic_store_n(&fz, 0, __ATOMIC_SEQ_CST);
		wake_up_all(&thaw_wq);
		wait_progress(a, 5);
		check_ok();
	}
	assert_int_equal(vm_resume(6, why, sizeof(why)), 0);
	wait_progress(b, 5);
}

static void test_failed_vcpu_reported(void **state)
{
	(void)state;
	char why[WHY_MAX];
	boot();
	struct vm *vm = make_vm(7, 2);
	__atomic_store_n(&fail_index, 1, __ATOMIC_SEQ_CST);
	assert_int_equal(vm_start(7, why, sizeof(why)), 0);
	while (__atomic_load_n(&vm->vcpus[1]->state, __ATOMIC_ACQUIRE) != VCPU_FAILED)
		host_msleep(1);
	assert_non_null(strstr(vm->vcpus[1]->error, "injected guest failure"));
	assert_int_not_equal(invariants_check(why, sizeof(why)), 0);
	assert_non_null(strstr(why, "vcpu7.1 failed"));
	uint64_t p0 = progress(vm->vcpus[0]);
	while (progress(vm->vcpus[0]) < p0 + 5)  /* the other one goes on */
		host_msleep(1);
	assert_int_equal(vm_stop(7, why, sizeof(why)), 0);
	assert_int_equal(vm->vcpus[1]->state, VCPU_FAILED);  /* until started again */
	__atomic_store_n(&fail_index, -1, __ATOMIC_SEQ_CST);
	destroy_vm(vm);
}

/* Last: the latch never clears in a process. */
static void test_reboot_refuses_entries(void **state)
{
	(void)state;
	char why[WHY_MAX];
	boot();
	struct vm *vm = make_vm(8, 3);
	assert_int_equal(vm_start(8, why, sizeof(why)), 0);
	wait_progress(vm, 10);
	assert_non_null(reboot_prepare);
	assert_int_equal(reboot_prepare(), 0);  /* every vCPU out of its guest */
	uint64_t e[3];
	for (unsigned i = 0; i < 3; i++)
		e[i] = __atomic_load_n(&vm->vcpus[i]->entries, __ATOMIC_RELAXED);
	for (unsigned c = 0; c < NCPUS; c++)
		__atomic_store_n(&hw_on[c], 0, __ATOMIC_SEQ_CST);  /* virt_reboot disables */
	host_msleep(30);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(__atomic_load_n(&vm->vcpus[i]->entries, __ATOMIC_RELAXED), e[i]);
	expect_error(vm_stop(9, why, sizeof(why)), why, "no VM");
	assert_int_equal(vm_stop(8, why, sizeof(why)), 0);
	expect_error(vm_start(8, why, sizeof(why)), why, "rebooting");
}

int main(void)
{
	host_watchdog(300);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_start_progress_stop, teardown),
		cmocka_unit_test_teardown(test_lifecycle_errors, teardown),
		cmocka_unit_test_teardown(test_pause_resume, teardown),
		cmocka_unit_test_teardown(test_cpu_offline_pushes_vcpus, teardown),
		cmocka_unit_test_teardown(test_freeze_parks_vcpus, teardown),
		cmocka_unit_test_teardown(test_failed_vcpu_reported, teardown),
		cmocka_unit_test_teardown(test_reboot_refuses_entries, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
