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
 *
 * The shell's task is unbound, so it is moved first: onto CPU n for in=task,
 * otherwise onto a CPU that is neither m (a CPU told to get stuck in its NMI
 * handler would take the shell with it) nor, where another CPU is online, n
 * (so in=irq and in=nmi are what they say).  Each CPU's NMI request is its
 * own: with one shared request, CPU m could read CPU n's and panic instead.
 */
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/inject.h>
#include <vigil/panic.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/shell.h>
#include <vigil/smp.h>
#include <vigil/string.h>
#include <vigil/task.h>


/* What a CPU does in its NMI handler for this command. */
enum nmi_act {
	NMI_NONE = 0,
	NMI_PANIC,    /* in=nmi: panic */
	NMI_SECOND,   /* also=: panic once another CPU's panic is under way */
	NMI_SLOW,     /* slow=: stay 300 ms, then return */
	NMI_STUCK,    /* stuck=: stay for good */
};

/* Per CPU: the request its NMI handler takes (and clears), and whether it
 * has taken it. */
static volatile int nmi_request[CONFIG_MAX_CPUS];
static volatile bool nmi_taken[CONFIG_MAX_CPUS];
static bool nmi_cb_registered;

/* An address nothing maps: the page fault of `crash pagefault`. */
static const char *volatile unmapped_text = (const char *)0x10;

INJECT_POINT(crash_nmi_slow,
	     "the crash test aid's NMI handler pauses 100 ms on the CPU once it has taken its request");

static void nmi_pause_if_injected(unsigned cpu)
{
	if (!inject_hit(&inject_crash_nmi_slow, cpu))
		return;
	uint64_t end = arch_time_ns() + 100000000ULL;
	while (arch_time_ns() < end)
		arch_cpu_relax();
}

static bool crash_nmi(void)
{
	unsigned cpu = smp_processor_id();
	/* Taken and cleared in one step: what this CPU does is decided here,
	 * whatever the shell asks of another CPU afterwards. */
	int act = __atomic_exchange_n(&nmi_request[cpu], NMI_NONE, __ATOMIC_ACQ_REL);
	if (act == NMI_NONE)
		return false;
	__atomic_store_n(&nmi_taken[cpu], true, __ATOMIC_RELEASE);
	nmi_pause_if_injected(cpu);
	uint64_t t0 = arch_time_ns();
	switch (act) {
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

static void nmi_request_send(unsigned cpu, enum nmi_act act)
{
	if (!nmi_cb_registered) {
		nmi_register(crash_nmi);
		nmi_cb_registered = true;
	}
	__atomic_store_n(&nmi_taken[cpu], false, __ATOMIC_RELAXED);
	__atomic_store_n(&nmi_request[cpu], (int)act, __ATOMIC_RELEASE);
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

/* Where the shell runs the command from: n itself for in=task; otherwise
 * an online CPU other than n and m, or n when there is no such CPU (a
 * 2-CPU machine with m given, or 1 CPU).  Never m. */
static unsigned shell_home(unsigned cpu, bool in_task, bool other_given, unsigned other)
{
	if (in_task)
		return cpu;
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		if (cpu_is_online(c) && c != cpu && !(other_given && c == other))
			return c;
	return cpu;
}

int crash_panic(struct shell_ctx *ctx, int argc, char **argv)
{
	uint64_t cpu = 0, other = 0, nested = 0;
	const char *in = NULL;
	bool cpu_given = false, also = false, slow = false, stuck = false;
	struct shell_opt opts[] = {
		{ .key = "cpu", .type = SHELL_OPT_CPU, .u64 = &cpu, .given = &cpu_given },
		SHELL_OPT_TEXT("in", &in),
		{ .key = "also", .type = SHELL_OPT_CPU, .u64 = &other, .given = &also },
		{ .key = "slow", .type = SHELL_OPT_CPU, .u64 = &other, .given = &slow },
		{ .key = "stuck", .type = SHELL_OPT_CPU, .u64 = &other, .given = &stuck },
		SHELL_OPT_RANGE("nested", 0, 1, &nested),
	};
	/* argv[0] is "panic": the options follow it. */
	if (shell_parse_opts(ctx, argc - 1, argv + 1, opts, ARRAY_SIZE(opts)))
		return -1;
	if (in && strcmp(in, "task") && strcmp(in, "irq") && strcmp(in, "nmi"))
		return shell_error(ctx, "bad value '%s' for in= (expected task, irq or nmi)", in);

	/* Without cpu=, the boot CPU, in the shell's own task. */
	if (!in)
		in = cpu_given ? "irq" : "task";
	bool in_task = !strcmp(in, "task");
	bool other_given = also || slow || stuck;
	const char *bad = NULL;
	if (!cpu_is_online((unsigned)cpu))
		bad = "cpu= is not online";
	else if (also + slow + stuck > 1)
		bad = "give one of also=, slow=, stuck=";
	else if (other_given && (other == cpu || !cpu_is_online((unsigned)other)))
		bad = "also=, slow= and stuck= name another online CPU";
	else if (nested && !in_task)
		bad = "nested=1 panics in the shell's task only";
	if (bad)
		return shell_error(ctx, "%s", bad);

	unsigned home = shell_home((unsigned)cpu, in_task, other_given, (unsigned)other);
	int old_bound = sched_pin_current(home);
	preempt_disable();
	if (smp_processor_id() != home) {
		/* The pin moves the task before it returns; a CPU that went
		 * offline meanwhile is the only way to get here. */
		preempt_enable();
		sched_bind_current(old_bound);
		return shell_error(ctx, "could not move the shell to CPU %u", home);
	}

	if (other_given) {
		/* The other CPU is in its NMI handler (NMIs blocked) before the
		 * panic starts. */
		nmi_request_send((unsigned)other, also ? NMI_SECOND : slow ? NMI_SLOW : NMI_STUCK);
		uint64_t t0 = arch_time_ns();
		while (!__atomic_load_n(&nmi_taken[other], __ATOMIC_ACQUIRE) && arch_time_ns() - t0 < 2000000000ULL)
			arch_cpu_relax();
	}
	if (!strcmp(in, "nmi")) {
		nmi_request_send((unsigned)cpu, NMI_PANIC);
	} else if (!strcmp(in, "irq")) {
		smp_call_function_single((unsigned)cpu, crash_ipi, NULL, false);
	} else if (nested) {
		panic("crash command: %s", unmapped_text);
	} else {
		panic("crash command: panic requested from the console");
	}
	preempt_enable();
	int r = wait_for_panic(ctx, (unsigned)cpu);
	sched_bind_current(old_bound);
	return r;
}
