/*
 * The host virtualization backend for unit tests: see host_virt.h.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/cpu.h>
#include <vigil/lockdep.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/virt.h>

#include "host_sched.h"
#include "host_virt.h"

/* Every field is accessed atomically: the test thread reads what worker
 * threads write. */
struct hv_cpu {
	int hw_on;               /* the fake CR4.VMXE / EFER.SVME */
	int fail_enable;         /* >0: that many enables fail; -1: all */
	int skew;                /* 0, or which field differs: 1 common, 2 backend */
	uint64_t enables, disables, failures, snapshots;
};

static struct hv_cpu hv[HOST_MAX_CPUS];
static int available = 1;
static unsigned fail_permille;
static uint64_t rng_state;
static host_virt_hook_fn hook;

static pthread_mutex_t violation_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned violations;
static char first_violation[256];

__printf(1, 2) static void violation(const char *fmt, ...)
{
	char msg[sizeof(first_violation)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printk("host_virt: VIOLATION: %s\n", msg);
	pthread_mutex_lock(&violation_mu);
	if (violations++ == 0)
		snprintf(first_violation, sizeof(first_violation), "%s", msg);
	pthread_mutex_unlock(&violation_mu);
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)
#define INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_SEQ_CST)

/* The per-CPU operations act on "this CPU": it must stay this CPU. */
static unsigned this_cpu(const char *op)
{
	unsigned cpu = smp_processor_id();

	if (!in_atomic())
		violation("%s on cpu %u with preemption and interrupts enabled", op, cpu);
	if (cpu >= nr_possible_cpus || cpu >= HOST_MAX_CPUS) {
		violation("%s on cpu %u, which is not a possible CPU", op, cpu);
		return 0;
	}
	return cpu;
}

/* ---- control (test thread) ---- */

void host_virt_reset(void)
{
	for (unsigned c = 0; c < HOST_MAX_CPUS; c++) {
		STORE(hv[c].hw_on, 0);
		STORE(hv[c].fail_enable, 0);
		STORE(hv[c].skew, 0);
		STORE(hv[c].enables, 0);
		STORE(hv[c].disables, 0);
		STORE(hv[c].failures, 0);
		STORE(hv[c].snapshots, 0);
	}
	STORE(available, 1);
	STORE(fail_permille, 0);
	STORE(hook, NULL);
	pthread_mutex_lock(&violation_mu);
	violations = 0;
	first_violation[0] = '\0';
	pthread_mutex_unlock(&violation_mu);
}

void host_virt_set_available(bool on)
{
	STORE(available, on ? 1 : 0);
}

void host_virt_set_hook(host_virt_hook_fn fn)
{
	STORE(hook, fn);
}

void host_virt_fail_enable(unsigned cpu, int count)
{
	STORE(hv[cpu].fail_enable, count);
}

void host_virt_fail_random(unsigned permille)
{
	STORE(fail_permille, permille);
}

void host_virt_skew_snapshot(unsigned cpu, const char *field)
{
	int skew = 0;

	if (field && !strcmp(field, HOST_VIRT_FIELD_COMMON))
		skew = 1;
	else if (field && !strcmp(field, HOST_VIRT_FIELD_BACKEND))
		skew = 2;
	else if (field)
		violation("host_virt_skew_snapshot: no field '%s'", field);
	STORE(hv[cpu].skew, skew);
}

bool host_virt_hw_on(unsigned cpu)
{
	return LOAD(hv[cpu].hw_on);
}

uint64_t host_virt_enables(unsigned cpu)
{
	return LOAD(hv[cpu].enables);
}

uint64_t host_virt_disables(unsigned cpu)
{
	return LOAD(hv[cpu].disables);
}

uint64_t host_virt_enable_failures(unsigned cpu)
{
	return LOAD(hv[cpu].failures);
}

uint64_t host_virt_snapshots(unsigned cpu)
{
	return LOAD(hv[cpu].snapshots);
}

unsigned host_virt_violations(void)
{
	pthread_mutex_lock(&violation_mu);
	unsigned n = violations;
	pthread_mutex_unlock(&violation_mu);
	return n;
}

const char *host_virt_first_violation(void)
{
	/* Written once, under the mutex, before violations became non-zero. */
	pthread_mutex_lock(&violation_mu);
	const char *s = first_violation;
	pthread_mutex_unlock(&violation_mu);
	return s;
}

/* ---- the backend (runs on the fake CPUs) ---- */

static bool random_failure(void)
{
	unsigned permille = LOAD(fail_permille);
	if (!permille)
		return false;
	/* splitmix64 over a shared counter: any thread, no lock. */
	uint64_t z = __atomic_add_fetch(&rng_state, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z % 1000 < permille;
}

static bool take_injected_failure(unsigned cpu)
{
	int n = LOAD(hv[cpu].fail_enable);
	while (n > 0) {
		if (__atomic_compare_exchange_n(&hv[cpu].fail_enable, &n, n - 1, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return true;
	}
	return n < 0 || random_failure();
}

static int hv_probe(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 0;
}

static int hv_prepare_cpu(unsigned cpu)
{
	(void)cpu;
	return 0;
}

static void hv_snapshot(struct virt_compat *c)
{
	unsigned cpu = this_cpu("snapshot");
	INC(hv[cpu].snapshots);
	virt_compat_add(c, HOST_VIRT_FIELD_BACKEND, 0x1234abcdull ^ (LOAD(hv[cpu].skew) == 2 ? 0x100 : 0));
}

static int hv_enable(char *why, size_t len)
{
	unsigned cpu = this_cpu("enable");
	lockdep_assert_preemption_disabled();
	if (LOAD(hv[cpu].hw_on)) {
		/* What VMXON with CR4.VMXE already set amounts to. */
		violation("enable on cpu %u, which is already enabled (the core must be idempotent)", cpu);
		snprintf(why, len, "already enabled");
		return -1;
	}
	if (virt_cpu_enabled(cpu))
		violation("enable on cpu %u, which the core already marks enabled", cpu);
	host_virt_hook_fn h = LOAD(hook);
	if (h)
		h("enable", cpu);
	if (take_injected_failure(cpu)) {
		INC(hv[cpu].failures);
		snprintf(why, len, HOST_VIRT_ENABLE_FAIL_MSG);
		return -1;   /* the CPU is left exactly as it was */
	}
	STORE(hv[cpu].hw_on, 1);
	INC(hv[cpu].enables);
	return 0;
}

static void hv_disable(void)
{
	unsigned cpu = this_cpu("disable");
	lockdep_assert_preemption_disabled();
	if (!LOAD(hv[cpu].hw_on)) {
		violation("disable on cpu %u, which is not enabled", cpu);
		return;
	}
	host_virt_hook_fn h = LOAD(hook);
	if (h)
		h("disable", cpu);
	STORE(hv[cpu].hw_on, 0);
	INC(hv[cpu].disables);
}

static bool hv_hw_enabled(void)
{
	unsigned cpu = this_cpu("hw_enabled");
	return LOAD(hv[cpu].hw_on);
}

static void hv_emergency_disable(void)
{
	STORE(hv[smp_processor_id()].hw_on, 0);
}

static const struct virt_ops host_virt_ops = {
	.name = HOST_VIRT_NAME,
	.probe = hv_probe,
	.prepare_cpu = hv_prepare_cpu,
	.snapshot = hv_snapshot,
	.enable = hv_enable,
	.disable = hv_disable,
	.hw_enabled = hv_hw_enabled,
	.emergency_disable = hv_emergency_disable,
	/* No VMs on the host: core/virt/vm.c is not built into these tests. */
};

const struct virt_ops *arch_virt_ops(const char *want, char *why, size_t len)
{
	(void)want;
	if (!LOAD(available)) {
		snprintf(why, len, "no virtualization (host test)");
		return NULL;
	}
	return &host_virt_ops;
}

void arch_virt_snapshot_common(struct virt_compat *c)
{
	unsigned cpu = this_cpu("snapshot_common");
	virt_compat_add(c, HOST_VIRT_FIELD_COMMON, 0xffffffffff8ff000ull ^ (LOAD(hv[cpu].skew) == 1 ? 0x1000 : 0));
}

/* ---- the heap, on libc ---- */

void *kmalloc(size_t size)
{
	return malloc(size ? size : 1);
}

void *kzalloc(size_t size)
{
	return calloc(1, size ? size : 1);
}

void kfree(const void *ptr)
{
	free((void *)ptr);
}
