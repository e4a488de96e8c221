/*
 * Stopping every CPU on panic (docs/design.md section 7; the model
 * is Linux's nmi_shootdown_cpus() with cpu_emergency_disable_virtualization()).
 *
 * Why NMIs: the other CPUs may have interrupts off, be spinning on a lock the
 * panicking CPU will never release, or be running a guest; an NMI reaches them
 * all (both backends make a running guest exit on an NMI, which the host then
 * takes).  Why disable virtualization before halting: INIT is blocked while a
 * CPU is in Intel's virtualization root operation (SDM vol 3C, 24.8, the
 * restrictions of that operation) and held pending while AMD's global
 * interrupt flag is clear (APM vol 2, 15.17 "Global Interrupt Flag"), so a
 * CPU left that way could not be reset by INIT (firmware, a rebooted or
 * kexec'd kernel) once this kernel is gone.
 *
 * Everything that runs on a CPU being stopped is NMI-safe: no locks, no
 * printk (a CPU may be stopped while holding the console lock), no
 * allocation; it reports through the static arrays below, and the panicking
 * CPU prints after the wait.  Plain loads and stores of aligned bytes and
 * ints, with acquire/release where one CPU's report is read by another.
 */
#include <vigil/arch.h>
#include <vigil/config.h>
#include <vigil/cpu.h>
#include <vigil/panic.h>
#include <vigil/printk.h>
#include <vigil/emergency.h>

/* How long the panicking CPU waits for the others.  An NMI is taken within
 * microseconds; the margin is for emulators whose virtual CPUs are host
 * threads that may not be scheduled (QEMU TCG on a loaded 2-core host). */
#define STOP_WAIT_NS 1000000000ULL
/* The same bound when there is no clock yet (arch_time_ns() still 0). */
#define STOP_WAIT_SPINS 200000000UL

#define NO_OWNER   (-1)
#define UNKNOWN_CPU (-2)   /* a CPU with no per-CPU area yet (early boot or bring-up) */

enum stop_how {
	STOP_RUNNING = 0,  /* not stopped (yet) */
	STOP_BY_NMI,       /* the panicking CPU's NMI stopped it */
	STOP_OWN_PANIC,    /* it panicked too, second, and stopped itself */
};

static int owner = NO_OWNER;          /* the CPU that panicked first */
static unsigned depth;                /* panics on the owner so far (owner only) */
static bool stop_started;             /* owner only */
static bool nmi_sent[CONFIG_MAX_CPUS];                /* owner only */
static uint8_t stop_how[CONFIG_MAX_CPUS];             /* written by each stopped CPU */
static int8_t stop_virt[CONFIG_MAX_CPUS];             /* its virt state afterwards */
static int8_t own_virt;                               /* the owner's */

/* Run the emergency callbacks (include/vigil/emergency.h; virtualization
 * registers the one that leaves it).  Their worst answer: 0 off, 1 still
 * on, -1 nothing registered acted (or no per-CPU area: such a CPU was never
 * enabled). */
static int disable_here(int self)
{
	if (self < 0)
		return -1;
	return emergency_callbacks_run();
}

static __noreturn void stop_this_cpu(int self, enum stop_how how)
{
	arch_irq_save();
	int v = disable_here(self);
	if (self >= 0 && self < CONFIG_MAX_CPUS) {
		__atomic_store_n(&stop_virt[self], (int8_t)v, __ATOMIC_RELAXED);
		/* The first reason sticks: a CPU that stopped itself in its own
		 * panic gets the owner's NMI later (it is halted with NMIs
		 * unblocked) and comes back here. */
		uint8_t running = STOP_RUNNING;
		__atomic_compare_exchange_n(&stop_how[self], &running, (uint8_t)how, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
	}
	/* Halted with interrupts off; in NMI context NMIs stay blocked too
	 * since there is no IRET.  INIT still gets through (virtualization is
	 * off), which is the point. */
	arch_idle_forever();
}

unsigned panic_enter(void)
{
	int self = arch_this_cpu_id();
	int me = self >= 0 ? self : UNKNOWN_CPU;
	int expected = NO_OWNER;
	/* Two CPUs without a per-CPU area cannot tell each other apart and
	 * would both carry on as owner; neither can have been online, so only
	 * the report suffers. */
	if (__atomic_compare_exchange_n(&owner, &expected, me, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
	    expected == me)
		return ++depth;
	stop_this_cpu(self, STOP_OWN_PANIC);
}

bool panic_in_progress(void)
{
	return __atomic_load_n(&owner, __ATOMIC_ACQUIRE) != NO_OWNER;
}

bool panic_on_this_cpu(void)
{
	int o = __atomic_load_n(&owner, __ATOMIC_ACQUIRE);
	if (o == NO_OWNER)
		return false;
	int self = arch_this_cpu_id();
	return o == (self >= 0 ? self : UNKNOWN_CPU);
}

void panic_nmi(void)
{
	int o = __atomic_load_n(&owner, __ATOMIC_ACQUIRE);
	if (o == NO_OWNER)
		return;
	int self = arch_this_cpu_id();
	if (o == (self >= 0 ? self : UNKNOWN_CPU))
		return; /* an NMI to the panicking CPU itself, not one it sent */
	stop_this_cpu(self, STOP_BY_NMI);
}

static bool all_answered(int self)
{
	for (unsigned c = 0; c < nr_possible_cpus && c < CONFIG_MAX_CPUS; c++)
		if ((int)c != self && nmi_sent[c] && !__atomic_load_n(&stop_how[c], __ATOMIC_ACQUIRE))
			return false;
	return true;
}

bool panic_stop_other_cpus(void)
{
	if (stop_started)
		return false;
	stop_started = true;
	int self = arch_this_cpu_id();
	/* cpu_table is empty before the firmware tables are read, and no other
	 * CPU runs before then: the loop does nothing that early. */
	for (unsigned c = 0; c < nr_possible_cpus && c < CONFIG_MAX_CPUS; c++) {
		if ((int)c == self || !cpu_is_online(c))
			continue;
		nmi_sent[c] = true;
		if (!__atomic_load_n(&stop_how[c], __ATOMIC_ACQUIRE))
			arch_send_nmi(c);
	}
	/* Our own disable while the NMIs are in flight. */
	own_virt = (int8_t)disable_here(self);
	uint64_t start = arch_time_ns();
	for (unsigned long spins = 0; !all_answered(self); spins++) {
		uint64_t now = arch_time_ns();
		if (now ? now - start >= STOP_WAIT_NS : spins >= STOP_WAIT_SPINS)
			break;
		arch_cpu_relax();
	}
	return true;
}

static const char *virt_words(int v)
{
	return v == 0 ? "virtualization off" : v > 0 ? "virtualization STILL ON" : "no virtualization backend";
}

void panic_report_cpus(void)
{
	int self = arch_this_cpu_id();
	if (self < 0)
		printk("panic: this CPU has no per-CPU area yet (early in its bring-up)\n");
	for (unsigned c = 0; c < nr_possible_cpus && c < CONFIG_MAX_CPUS; c++) {
		if ((int)c == self) {
			printk("panic: cpu %u (this CPU), %s\n", c, virt_words(own_virt));
			continue;
		}
		uint8_t how = __atomic_load_n(&stop_how[c], __ATOMIC_ACQUIRE);
		if (how == STOP_RUNNING && nmi_sent[c])
			printk("panic: cpu %u did not answer the NMI\n", c);
		else if (how != STOP_RUNNING)
			printk("panic: cpu %u stopped%s, %s\n", c, how == STOP_OWN_PANIC ? " (it panicked too)" : "",
			       virt_words(__atomic_load_n(&stop_virt[c], __ATOMIC_RELAXED)));
	}
}
