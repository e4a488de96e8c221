/*
 * Bringing up the application processors (SDM vol 3, 9.4.4 "MP
 * initialization example" and 11.6 "Issuing interprocessor interrupts"):
 * INIT, 10 ms, STARTUP (SIPI) with the trampoline's page number, 200 us, a
 * second SIPI for those that have not arrived.  All APs are started at once
 * (parallel bring-up): the trampoline hands out stacks by ticket and each AP
 * finds its logical number from its own APIC ID, so nothing in the start-up
 * path is shared per CPU.  An AP that does not check in within the timeout is
 * marked failed and the boot goes on; if it shows up later it parks itself.
 */
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/mtrr.h>
#include <asm/paging.h>
#include <asm/percpu.h>
#include <asm/segment.h>
#include <asm/smp.h>
#include <asm/time.h>
#include <asm/trap.h>
#include <asm/trampoline.h>
#include <vigil/arch.h>
#include <vigil/cmdline.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/inject.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/string.h>


#define AP_STACK_ORDER 2                    /* 16 KiB kernel stack */
/* How long a started AP has to check in.  Healthy hardware needs well under
 * a millisecond; an emulated AP whose host thread is descheduled on a busy
 * host can need seconds (Linux waits 10 s).  A CPU that misses it is put
 * back into wait-for-SIPI with INIT and marked failed; `cpu online` may try
 * it again. */
#define AP_CHECKIN_TIMEOUT_US 5000000

static uint64_t trampoline_phys;
static uint64_t *ap_stacks;                 /* indexed by ticket */
static uint64_t cpu_stack[CONFIG_MAX_CPUS];  /* the stack each CPU took (free again once it is dead) */
/* An AP's check-in, decided by one compare-and-swap from CHECKIN_PENDING:
 * the AP moves it to ARRIVED, the boot CPU giving up at the deadline to
 * ABANDONED, and whichever loses knows.  A plain flag left a window: the AP
 * arrived just after the boot CPU looked, went on into code that queues on
 * ticket locks (kzalloc, the task list), and the INIT that followed reset it
 * with its ticket taken, blocking that lock for good. */
enum { CHECKIN_PENDING, CHECKIN_ARRIVED, CHECKIN_ABANDONED };
static volatile uint8_t cpu_arrived[CONFIG_MAX_CPUS];
static volatile bool cpu_abandoned[CONFIG_MAX_CPUS];
INJECT_POINT(ap_silent, "the CPU being started never checks in (halts before its first step)");
/* While many CPUs start at once they do not print one line each (254 CPUs
 * queueing on the console lock under an emulator took minutes): they count
 * here, and the starting CPU prints one summary. */
static volatile bool batch_quiet;
static unsigned batch_mtrr_cpus, batch_mtrr_first_cpu, batch_mtrr_first_msr;
/* Bring-ups of this many CPUs or more print progress every
 * smp_progress_ms= (default 2 s; smp_param.c). */
#define PROGRESS_MIN_CPUS 32
#define BATCH_EXTRA_US 100000
uint64_t smp_boot_ns;                        /* time to bring all APs up */
uint64_t boot_to_all_online_ns;              /* kernel entry (TSC at _start64) to all APs online */

static void patch32(char *sym, uint32_t v)
{
	*(uint32_t *)((char *)phys_to_virt(trampoline_phys) + (sym - trampoline_start)) = v;
}

static void patch64(char *sym, uint64_t v)
{
	*(uint64_t *)((char *)phys_to_virt(trampoline_phys) + (sym - trampoline_start)) = v;
}

static uint32_t tramp_addr(char *sym)
{
	return (uint32_t)(trampoline_phys + (uint64_t)(sym - trampoline_start));
}

static int cpu_by_apic_id(uint32_t apic_id)
{
	for (unsigned i = 0; i < nr_possible_cpus; i++)
		if (cpu_table[i].apic_id == apic_id)
			return (int)i;
	return -1;
}

static uint32_t read_own_apic_id(void)
{
	/* Before the LAPIC is touched: CPUID leaf 0xB gives the full x2APIC ID,
	 * leaf 1 the 8-bit initial APIC ID (SDM vol 3, 9.4.5 / 11.12.8). */
	if (boot_cpu.max_leaf >= 0xB && cpuid_count(0xB, 0).ebx != 0)
		return cpuid_count(0xB, 0).edx;
	return cpuid(1).ebx >> 24;
}

/* Per-CPU state an AP needs before it runs any C that could fault. */
static int prepare_cpu(unsigned cpu)
{
	if (percpu_of[cpu])
		return 0; /* a CPU coming back online keeps what it had */
	struct percpu *p = kzalloc(sizeof(*p));
	if (!p)
		return -1;
	for (int i = 0; i < 3; i++) {
		uint64_t s = pmm_alloc_pages(pmm_order_for(IST_STACK_SIZE));
		if (!s)
			return -1;
		p->ist_stacks[i] = phys_to_virt(s);
	}
	p->cpu = cpu;
	p->apic_id = cpu_table[cpu].apic_id;
	percpu_of[cpu] = p;
	gdt_set_ist_stacks(cpu, p->ist_stacks[0], p->ist_stacks[1], p->ist_stacks[2]);
	return 0;
}

/* C entry of every AP, on the stack the trampoline gave it. */
static __noreturn void ap_entry(unsigned ticket)
{
	uint32_t apic_id = read_own_apic_id();
	int cpu = cpu_by_apic_id(apic_id);
	if (cpu <= 0 || cpu_abandoned[cpu] || !percpu_of[cpu])
		halt_forever(); /* unknown, or given up on: stay out of the way */
	if (inject_hit(&inject_ap_silent, (unsigned)cpu))
		halt_forever(); /* a CPU that never checks in */
	/* The n-th AP through the trampoline took stack n: remember which, so
	 * a later online of this CPU alone reuses it. */
	cpu_stack[cpu] = ap_stacks[ticket];
	gdt_init_cpu((unsigned)cpu);
	percpu_install(percpu_of[cpu]);
	idt_load();
	if (boot_cpu.nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr4(read_cr4() | X86_CR4_PGE);
	/* A CPU that lost power (every AP after S3) has its MTRRs off and the
	 * power-up PAT: give it the boot CPU's before it runs anything.  QEMU
	 * hands out APs like that even at boot, so only the first load on a
	 * CPU is reported. */
	uint32_t first_msr;
	unsigned mtrr_diff = mtrr_sync_this_cpu(&first_msr);
	if (mtrr_diff && mtrr_syncs((unsigned)cpu) == 1 && batch_quiet) {
		if (__atomic_fetch_add(&batch_mtrr_cpus, 1, __ATOMIC_RELAXED) == 0) {
			batch_mtrr_first_cpu = (unsigned)cpu;
			batch_mtrr_first_msr = first_msr;
		}
	} else if (mtrr_diff && mtrr_syncs((unsigned)cpu) == 1)
		printk("smp: CPU %d had %u MTRR/PAT registers unlike the boot CPU's (first: MSR 0x%x); loaded the boot CPU's\n",
		       cpu, mtrr_diff, first_msr);
	lapic_init_cpu();
	cpuhp_ap_starting((unsigned)cpu); /* STARTING steps: interrupts still off */
	uint8_t pending = CHECKIN_PENDING;
	if (!__atomic_compare_exchange_n(&cpu_arrived[cpu], &pending, CHECKIN_ARRIVED, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		halt_forever(); /* too late: the boot CPU gave up on us and sends INIT */
	ap_started((unsigned)cpu);
}

/*
 * The wait between INIT and the first SIPI.  The SDM's MP initialization
 * example (vol 3, 9.4.4.1 "Typical BSP Initialization Sequence") waits
 * 10 ms, which parts with an external APIC needed.  CPUs with an integrated
 * local APIC (Intel family 6 and later, AMD family 0Fh and later, Hygon)
 * accept the SIPI as soon as the INIT is delivered, and Linux has skipped
 * the wait on them since 4.4 (smp_quirk_init_udelay).  The second SIPI, 200
 * us later, still covers a first one that arrived too early.
 */
static unsigned init_to_sipi_us(void)
{
	if ((boot_cpu.is_intel && boot_cpu.family >= 6) || (boot_cpu.is_amd && boot_cpu.family >= 0xF) ||
	    boot_cpu.is_hygon)
		return 10;
	return 10000;
}

static void send_init_sipi_sipi(const unsigned *cpus, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		lapic_send_ipi(cpu_table[cpus[i]].apic_id, APIC_DM_INIT | APIC_LEVEL_ASSERT);
	udelay(init_to_sipi_us());
	uint32_t vector = (uint32_t)(trampoline_phys >> 12);
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < n; i++)
			if (__atomic_load_n(&cpu_arrived[cpus[i]], __ATOMIC_ACQUIRE) != CHECKIN_ARRIVED)
				lapic_send_ipi(cpu_table[cpus[i]].apic_id, APIC_DM_STARTUP | vector);
		udelay(200);
	}
}

static void setup_trampoline(void)
{
	memcpy(phys_to_virt(trampoline_phys), trampoline_start, (size_t)(trampoline_end - trampoline_start));
	patch32(tr_gdtr + 2, tramp_addr(tr_gdt));
	patch32(tr_pm_jump, tramp_addr(tr_pm_entry));
	patch32(tr_lm_jump, tramp_addr(tr_lm_entry));
	patch32(tr_cr3, (uint32_t)kernel_pml4_phys);
	patch32(tr_efer_nx, boot_cpu.nx ? (uint32_t)EFER_NXE : 0);
	patch32(tr_ticket, 0);
	patch64(tr_stacks, (uint64_t)ap_stacks);
	patch64(tr_entry, (uint64_t)ap_entry);
	paging_identity_map_page(trampoline_phys);
}

/* Start the given offline CPUs; returns how many came up. */
unsigned smp_start_cpus(const unsigned *cpus, unsigned n)
{
	if (!trampoline_phys || n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		if (!cpu_stack[cpus[i]]) {
			uint64_t s = pmm_alloc_pages(AP_STACK_ORDER);
			if (!s) {
				printk("smp: out of memory preparing CPU %u\n", cpus[i]);
				return 0;
			}
			cpu_stack[cpus[i]] = (uint64_t)phys_to_virt(s) + (PAGE_SIZE << AP_STACK_ORDER);
		}
		if (prepare_cpu(cpus[i]) != 0) {
			printk("smp: out of memory preparing CPU %u\n", cpus[i]);
			return 0;
		}
		/* The listed CPUs are not running: their stacks are free, in any
		 * order (each AP records the one its ticket gave it). */
		ap_stacks[i] = cpu_stack[cpus[i]];
		cpu_arrived[cpus[i]] = CHECKIN_PENDING;
	}
	batch_quiet = n > 1;
	batch_mtrr_cpus = 0;
	setup_trampoline();
	send_init_sipi_sipi(cpus, n);

	unsigned up = 0;
	uint64_t progress_ns = (uint64_t)boot_params()->smp_progress_ms * 1000000ULL;
	uint64_t start = arch_time_ns(), next_progress = start + progress_ns;
	/* Emulated CPUs share the host's cores: 254 of them on two host cores
	 * run each one a little at a time, so a batch gets 100 ms more per CPU. */
	uint64_t deadline = start + (AP_CHECKIN_TIMEOUT_US + (uint64_t)(n - 1) * BATCH_EXTRA_US) * 1000ULL;
	for (unsigned i = 0; i < n; i++) {
		unsigned cpu = cpus[i];
		while (__atomic_load_n(&cpu_arrived[cpu], __ATOMIC_ACQUIRE) != CHECKIN_ARRIVED &&
		       arch_time_ns() < deadline) {
			cpu_relax();
			uint64_t now = arch_time_ns();
			if (n >= PROGRESS_MIN_CPUS && now >= next_progress) {
				unsigned arrived = 0;
				for (unsigned j = 0; j < n; j++)
					arrived += __atomic_load_n(&cpu_arrived[cpus[j]], __ATOMIC_ACQUIRE) ==
						   CHECKIN_ARRIVED;
				printk("smp: %u of %u CPUs checked in after %lu ms\n", arrived, n,
				       (now - start) / 1000000);
				/* From now, not from the last due time: a late
				 * look (this CPU descheduled) prints one line, not
				 * a burst catching up. */
				next_progress = now + progress_ns;
			}
		}
		uint8_t pending = CHECKIN_PENDING;
		if (!__atomic_compare_exchange_n(&cpu_arrived[cpu], &pending, CHECKIN_ABANDONED, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			/* It arrived (at the last moment, maybe): it is ours. */
			cpu_table[cpu].state = CPU_ONLINE;
			up++;
		} else {
			/* Late is as bad as never: an AP that arrived now would take a
			 * trampoline ticket, and a stack, that the next bring-up hands
			 * to another CPU.  INIT puts it back into wait-for-SIPI
			 * wherever it is (SDM vol 3, 9.4 "Multiple-Processor (MP)
			 * Initialization"); the flag covers one already past the
			 * trampoline. */
			cpu_abandoned[cpu] = true;
			lapic_send_ipi(cpu_table[cpu].apic_id, APIC_DM_INIT | APIC_LEVEL_ASSERT);
			cpu_table[cpu].state = CPU_FAILED;
			printk("smp: CPU %u (APIC ID %u) did not check in within %lu ms; marked failed\n", cpu,
			       cpu_table[cpu].apic_id, (deadline - start) / 1000000);
		}
	}
	batch_quiet = false;
	if (batch_mtrr_cpus)
		printk("smp: %u CPUs had MTRR/PAT registers unlike the boot CPU's (first: CPU %u, MSR 0x%x); loaded the boot CPU's\n",
		       batch_mtrr_cpus, batch_mtrr_first_cpu, batch_mtrr_first_msr);
	return up;
}

void smp_boot_aps(uint64_t tramp_phys)
{
	trampoline_phys = tramp_phys;
	if (!trampoline_phys) {
		if (nr_possible_cpus > 1)
			printk("smp: the loader reserved no trampoline page below 1 MiB; APs stay offline\n");
		return;
	}
	if (kernel_pml4_phys >> 32)
		panic("smp: kernel page tables above 4 GiB cannot be loaded from 32-bit code");
	ap_stacks = kzalloc(sizeof(uint64_t) * CONFIG_MAX_CPUS);
	unsigned *list = kzalloc(sizeof(unsigned) * CONFIG_MAX_CPUS);
	unsigned n = 0;
	for (unsigned i = 1; i < nr_possible_cpus; i++)
		if (cpu_table[i].state == CPU_OFFLINE)
			list[n++] = i;
	uint64_t t0 = arch_time_ns();
	unsigned up = smp_start_cpus(list, n);
	smp_boot_ns = arch_time_ns() - t0;
	boot_to_all_online_ns = arch_time_ns();
	kfree(list);
	if (n)
		printk("smp: %u of %u application processors online in %lu us\n", up, n, smp_boot_ns / 1000);
}

/* Hotplug: start one offline CPU (include/vigil/cpuhp.h). */
int arch_cpu_bringup(unsigned cpu, char *why, size_t len)
{
	if (!trampoline_phys) {
		snprintf(why, len, "no trampoline page: application processors cannot be started");
		return -1;
	}
	cpu_abandoned[cpu] = false;
	unsigned list[1] = { cpu };
	if (smp_start_cpus(list, 1) != 1) {
		snprintf(why, len, "CPU %u (APIC ID %u) did not check in within %u ms; marked failed", cpu,
			 cpu_table[cpu].apic_id, AP_CHECKIN_TIMEOUT_US / 1000);
		return -1;
	}
	return 0;
}
