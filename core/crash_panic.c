/*
 * `crash panic [cpu=<n>] [in=task|irq|nmi] [also=|slow=|stuck=<m>] [nested=1]`: the panic
 * test aid, in the places a real panic can come from, to test that panic
 * stops every CPU and leaves virtualization off on each (core/panic_stop.c):
 *
 *   (no cpu=)        the boot CPU panics in the shell's task, moved there
 *   cpu=<n> [in=irq] CPU n panics in a cross-CPU call (interrupt context)
 *   cpu=<n> in=task  CPU n panics in the shell's task, moved there first
 *   in=nmi           CPU n (default this one) panics in its NMI handler,
 *                    where the panicking CPU's own NMIs are blocked
 *   also=<m>         CPU m panics too, from NMI context, while this one is
 *                    already panicking: the second panic must stop CPU m
 *                    rather than start a second report
 *   nested=1         formatting the panic message faults, so the kernel
 *                    panics again inside panic
 *   slow=<m>         CPU m is busy in its NMI handler (NMIs blocked) for
 *                    300 ms when the panic starts: it answers late, within
 *                    the panicking CPU's wait
 *   stuck=<m>        CPU m is stuck in its NMI handler for good: it never
 *                    answers, and the panic must still end
 *
 * Like the rest of `crash`, it stops the machine and says so in `help`.
 */
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/panic.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/shell.h>
#include <vigil/smp.h>
#include <vigil/string.h>
#include <vigil/task.h>

int crash_panic(struct shell_ctx *ctx, int argc, char **argv);

/* What a CPU does in its NMI handler for this command. */
enum nmi_act {
	NMI_PANIC,    /* in=nmi: panic */
	NMI_SECOND,   /* also=: panic once another CPU's panic is under way */
	NMI_SLOW,     /* slow=: stay 300 ms, then return */
	NMI_STUCK,    /* stuck=: stay for good */
};

/* The CPU that acts in its NMI handler, and how. */
static volatile int nmi_panic_cpu = -1;
static volatile int nmi_act;
static volatile bool nmi_panic_entered;
static bool nmi_cb_registered;

/* An address nothing maps: the page fault of `crash pagefault`. */
static const char *volatile unmapped_text = (const char *)0x10;

static bool crash_nmi(void)
{
	unsigned cpu = smp_processor_id();
	if (__atomic_load_n(&nmi_panic_cpu, __ATOMIC_ACQUIRE) != (int)cpu)
		return false;
	__atomic_store_n(&nmi_panic_cpu, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&nmi_panic_entered, true, __ATOMIC_RELEASE);
	uint64_t t0 = arch_time_ns();
	switch (nmi_act) {
	case NMI_SECOND:
		/* Bounded: if the other panic never comes, panic anyway. */
		while (!panic_in_progress() && arch_time_ns() - t0 < 2000000000ULL)
			arch_cpu_relax();
		panic("crash command: second panic, on CPU %u in NMI context", cpu);
	case NMI_SLOW:
		while (arch_time_ns() - t0 < 300000000ULL)
			arch_cpu_relax();
		return true;
	case NMI_STUCK:
		for (;;)
			arch_cpu_relax();
	default:
		panic("crash command: panic in NMI context on CPU %u", cpu);
	}
}

static void crash_ipi(void *arg)
{
	(void)arg;
	panic("crash command: panic on CPU %u in a cross-CPU call", smp_processor_id());
}

static void nmi_panic(unsigned cpu, enum nmi_act act)
{
	if (!nmi_cb_registered) {
		nmi_register(crash_nmi);
		nmi_cb_registered = true;
	}
	nmi_act = act;
	__atomic_store_n(&nmi_panic_entered, false, __ATOMIC_RELAXED);
	__atomic_store_n(&nmi_panic_cpu, (int)cpu, __ATOMIC_RELEASE);
	arch_send_nmi(cpu);
}

/* The shell waits here (interrupts on) for the panic that stops it. */
static int wait_for_panic(struct shell_ctx *ctx, unsigned cpu)
{
	uint64_t t0 = arch_time_ns();
	while (arch_time_ns() - t0 < 5000000000ULL)
		arch_cpu_relax();
	return shell_error(ctx, "CPU %u did not panic within 5 s", cpu);
}

int crash_panic(struct shell_ctx *ctx, int argc, char **argv)
{
	uint64_t cpu = 0, other = 0, nested = 0;
	const char *in = NULL;
	bool cpu_given = false, also = false, slow = false, stuck = false;
	unsigned max = nr_possible_cpus ? nr_possible_cpus - 1 : 0;
	struct shell_opt opts[] = {
		{ .key = "cpu", .type = SHELL_OPT_U64, .min = 0, .max = max, .u64 = &cpu, .given = &cpu_given },
		SHELL_OPT_TEXT("in", &in),
		{ .key = "also", .type = SHELL_OPT_U64, .min = 0, .max = max, .u64 = &other, .given = &also },
		{ .key = "slow", .type = SHELL_OPT_U64, .min = 0, .max = max, .u64 = &other, .given = &slow },
		{ .key = "stuck", .type = SHELL_OPT_U64, .min = 0, .max = max, .u64 = &other, .given = &stuck },
		SHELL_OPT_RANGE("nested", 0, 1, &nested),
	};
	if (shell_parse_opts(ctx, argc, argv, opts, ARRAY_SIZE(opts)))
		return -1;
	if (in && strcmp(in, "task") && strcmp(in, "irq") && strcmp(in, "nmi"))
		return shell_error(ctx, "bad value '%s' for in= (expected task, irq or nmi)", in);

	/* Without cpu=, the boot CPU.  A panic in task context happens in the
	 * shell's own task, so move it to that CPU first (the console task is
	 * not bound to any CPU). */
	if (!cpu_given)
		cpu = 0;
	if (!in)
		in = cpu_given ? "irq" : "task";
	bool moved = false;
	if (!strcmp(in, "task") && cpu_is_online((unsigned)cpu)) {
		sched_bind_current((int)cpu);
		moved = true;
	}
	preempt_disable();
	unsigned self = smp_processor_id();
	const char *bad = NULL;
	if (!cpu_is_online((unsigned)cpu))
		bad = "cpu= is not online";
	else if (!strcmp(in, "task") && cpu != self)
		bad = "in=task runs on the shell's CPU only";
	else if (also + slow + stuck > 1)
		bad = "give one of also=, slow=, stuck=";
	else if ((also || slow || stuck) && (other == cpu || !cpu_is_online((unsigned)other)))
		bad = "also=, slow= and stuck= name another online CPU";
	else if (nested && (cpu != self || strcmp(in, "task")))
		bad = "nested=1 panics in the shell's task only";
	if (bad) {
		preempt_enable();
		if (moved)
			sched_bind_current(TASK_ANY_CPU);
		return shell_error(ctx, "%s", bad);
	}

	if (also || slow || stuck) {
		/* The other CPU is in its NMI handler (NMIs blocked there)
		 * before the panic starts. */
		nmi_panic((unsigned)other, also ? NMI_SECOND : slow ? NMI_SLOW : NMI_STUCK);
		uint64_t t0 = arch_time_ns();
		while (!__atomic_load_n(&nmi_panic_entered, __ATOMIC_ACQUIRE) && arch_time_ns() - t0 < 2000000000ULL)
			arch_cpu_relax();
	}
	if (!strcmp(in, "nmi")) {
		nmi_panic((unsigned)cpu, NMI_PANIC);
	} else if (!strcmp(in, "irq")) {
		smp_call_function_single((unsigned)cpu, crash_ipi, NULL, false);
	} else if (nested) {
		panic("crash command: %s", unmapped_text);
	} else {
		panic("crash command: panic requested from the console");
	}
	preempt_enable();
	return wait_for_panic(ctx, (unsigned)cpu);
}
