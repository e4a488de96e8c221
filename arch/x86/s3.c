/*
 * ACPI S3, suspend to RAM: the architecture's platform sleep
 * (include/vigil/platform_sleep.h), built on the ACPI sleep sequence of
 * drivers/acpi/sleep.c.
 *
 * Going down follows ACPI 6.5 16.1.6 "Transitioning from the Working to the
 * Sleeping State" from the point where only the boot CPU runs, with
 * interrupts off: save the processor context, write the waking vector into
 * the FACS (step 7), flush the caches (S3 loses them; 16.2 "Flushing
 * Caches"), clear WAK_STS, write SLP_TYPa with SLP_EN to PM1a control and
 * SLP_TYPb with SLP_EN to PM1b, and loop on WAK_STS.  The machine normally
 * powers down inside that loop.  AML methods (_TTS, _PTS, _WAK; 7.5) are
 * not run: vigil has no interpreter, and QEMU's only touch devices vigil
 * does not use.
 *
 * Coming back: the firmware resets the machine and, seeing an S3 resume,
 * jumps in real mode to the FACS waking vector (5.2.10): the S3 entry of the
 * trampoline (trampoline.asm), which climbs to 64-bit mode on the kernel
 * page tables and jumps to s3_resume_entry (s3_wake.asm).  That restores the
 * control registers, EFER, GDT, TSS, IDT, segment bases and the stack and
 * returns into s3_enter as a second return from s3_save_context().  The
 * devices' resume callbacks run next (include/vigil/dev_pm.h): PCI
 * configuration headers (s3_pci.c), the QEMU display mode
 * (s3_bochs_vga.c), the serial console (s3_console.c).  Then s3_wake
 * restores the rest: PAT and MTRRs (written only where the firmware left
 * them different), the virtualization feature-control MSRs, the local APIC
 * (x2APIC mode, the spurious vector, LVTs, the 1 kHz timer), the 8259s
 * (masked again) and SCI_EN.
 *
 * What the wake resets and the firmware does not give back (QEMU resets
 * every CPU and device on wakeup, hw/i386/pc.c pc_machine_wakeup; OVMF's S3
 * path restores only what it needs itself): every CPU's registers, the
 * LAPIC (xAPIC, timer stopped), the 8259s, the PIT, the HPET, the UART (LCR
 * 0, divisor for 9600 baud), PM1 control (SCI_EN clear), PCI configuration
 * (BARs, decoding), the VGA mode and one variable MTRR pair.  RAM
 * survives, and under QEMU the TSC keeps counting (Bochs restarts it from 0;
 * then it is set forward, see s3_wake).  vigil uses the HPET and the
 * PIT only for calibration at boot and no I/O APIC input, so those need
 * nothing.
 */
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/io.h>
#include <asm/mtrr.h>
#include <asm/paging.h>
#include <asm/percpu.h>
#include <asm/s3.h>
#include <asm/time.h>
#include <asm/trampoline.h>
#include <vigil/acpi.h>
#include <vigil/acpi_sleep.h>
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/mm.h>
#include <vigil/page_snapshot.h>
#include <vigil/platform_sleep.h>
#include <vigil/printk.h>
#include <vigil/string.h>
#include <vigil/task.h>


_Static_assert(offsetof(struct s3_context, rsp) == S3CTX_RSP, "s3_context layout");
_Static_assert(offsetof(struct s3_context, rip) == S3CTX_RIP, "s3_context layout");
_Static_assert(offsetof(struct s3_context, rflags) == S3CTX_RFLAGS, "s3_context layout");
_Static_assert(offsetof(struct s3_context, cr0) == S3CTX_CR0, "s3_context layout");
_Static_assert(offsetof(struct s3_context, cr3) == S3CTX_CR3, "s3_context layout");
_Static_assert(offsetof(struct s3_context, cr4) == S3CTX_CR4, "s3_context layout");
_Static_assert(offsetof(struct s3_context, efer) == S3CTX_EFER, "s3_context layout");
_Static_assert(offsetof(struct s3_context, fs_base) == S3CTX_FS_BASE, "s3_context layout");
_Static_assert(offsetof(struct s3_context, gs_base) == S3CTX_GS_BASE, "s3_context layout");
_Static_assert(offsetof(struct s3_context, kernel_gs_base) == S3CTX_KGS_BASE, "s3_context layout");
_Static_assert(offsetof(struct s3_context, gdtr) == S3CTX_GDTR, "s3_context layout");
_Static_assert(offsetof(struct s3_context, idtr) == S3CTX_IDTR, "s3_context layout");
_Static_assert(offsetof(struct s3_context, cs) == S3CTX_CS, "s3_context layout");

/* How long SLP_EN may go unanswered before we call the attempt failed.  A
 * real chipset powers down within microseconds; QEMU stops the CPU at the
 * write itself. */
#define S3_ENTRY_TIMEOUT_MS 2000

#define MSR_IA32_TSC         0x10
#define MSR_AMD_VM_CR        0xC0010114
#define X86_CR4_OSXSAVE      (1UL << 18)

/* Everything that must outlive the sleep: static, not on the stack, since
 * s3_enter's locals are whatever the registers held when it was saved
 * (setjmp rules). */
static struct {
	struct s3_context ctx;
	uint64_t apic_base;
	bool has_feature_control, has_vm_cr;
	uint64_t feature_control, vm_cr;
	uint64_t xcr0;
	uint16_t pm1a_cnt, pm1b_cnt;          /* before SLP_TYP was written */
	uint64_t tsc_enter, tsc_sleep, tsc_wake, tsc_done;
} s3;

static uint64_t s3_trampoline_phys;
static struct s3_last {
	uint64_t save_ns, sleep_ns, restore_ns;
	bool sci_en_lost, tsc_restarted;
} last_times;
static unsigned s3_wakeups;

static int s3_valid(char *why, size_t len);
static int s3_prepare(char *why, size_t len);
static int s3_enter(struct page_snapshot *ps, char *why, size_t len);
static void s3_wake(void);

static const struct platform_sleep_ops s3_platform_ops = {
	.valid = s3_valid, .prepare = s3_prepare, .enter = s3_enter, .wake = s3_wake,
};

void s3_init(uint64_t trampoline_phys)
{
	s3_trampoline_phys = trampoline_phys;
	platform_sleep_set_ops(&s3_platform_ops);
}

static uint64_t tsc_to_ns(uint64_t d)
{
	if (!tsc_hz)
		return 0;
	return (d / tsc_hz) * 1000000000ULL + (d % tsc_hz) * 1000000000ULL / tsc_hz;
}

static inline uint64_t xgetbv(uint32_t idx)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(idx));
	return ((uint64_t)hi << 32) | lo;
}

static inline void xsetbv(uint32_t idx, uint64_t v)
{
	__asm__ volatile("xsetbv" :: "c"(idx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static int s3_valid(char *why, size_t len)
{
	if (!acpi_ok) {
		snprintf(why, len, "the ACPI tables were not usable at boot");
		return -1;
	}
	if (!acpi.has_fadt) {
		snprintf(why, len, "no FADT");
		return -1;
	}
	if (acpi.hw_reduced) {
		snprintf(why, len, "hardware-reduced ACPI platform (sleep control register not supported)");
		return -1;
	}
	if (!acpi.has_dsdt) {
		snprintf(why, len, "no DSDT, so no \\_S3 sleep type");
		return -1;
	}
	if (!acpi.s3.valid) {
		snprintf(why, len, "no \\_S3 package in the DSDT");
		return -1;
	}
	if (!acpi.has_facs) {
		snprintf(why, len, "no FACS");
		return -1;
	}
	if (acpi_cpuhp_s3_blocker(why, len))
		return -1;
	if (acpi.fw_waking_vector_phys + 4 > direct_map_limit() ||
	    acpi.x_fw_waking_vector_phys + 8 > direct_map_limit()) {
		snprintf(why, len, "the FACS at 0x%lx is outside the direct map", acpi.facs_phys);
		return -1;
	}
	if (acpi_sleep_regs_usable(why, len) != 0)
		return -1;
	if (!s3_trampoline_phys) {
		snprintf(why, len, "no trampoline page below 1 MiB for the waking vector");
		return -1;
	}
	if (s3_trampoline_phys + PAGE_SIZE > 0x100000) {
		snprintf(why, len, "the trampoline page 0x%lx is not below 1 MiB", s3_trampoline_phys);
		return -1;
	}
	if (read_cr3() >> 32) {
		snprintf(why, len, "the kernel page tables are above 4 GiB (the waking code loads CR3 in 32-bit mode)");
		return -1;
	}
	return 0;
}

/* ---- trampoline ---- */

static void *tramp_virt(const char *sym)
{
	return (char *)phys_to_virt(s3_trampoline_phys) + (sym - trampoline_start);
}

static uint32_t tramp_phys(const char *sym)
{
	return (uint32_t)(s3_trampoline_phys + (uint64_t)(sym - trampoline_start));
}

/* Copy the trampoline and patch it for an S3 wake (an AP bring-up since the
 * last suspend may have patched it for APs: it is re-copied every time). */
static uint32_t install_trampoline(void)
{
	memcpy(phys_to_virt(s3_trampoline_phys), trampoline_start, (size_t)(trampoline_end - trampoline_start));
	*(uint32_t *)tramp_virt(tr_gdtr + 2) = tramp_phys(tr_gdt);
	*(uint32_t *)tramp_virt(tr_pm_jump) = tramp_phys(tr_pm_entry);
	*(uint32_t *)tramp_virt(tr_lm_jump) = tramp_phys(tr_lm_entry);
	*(uint32_t *)tramp_virt(tr_cr3) = (uint32_t)read_cr3();
	*(uint32_t *)tramp_virt(tr_efer_nx) = (uint32_t)(rdmsr(MSR_EFER) & EFER_NXE);
	*(uint64_t *)tramp_virt(tr_s3_entry) = (uint64_t)s3_resume_entry;
	*(uint64_t *)tramp_virt(tr_s3_wake_tsc) = 0;
	*(uint16_t *)tramp_virt(tr_s3_seg) = (uint16_t)(s3_trampoline_phys >> 4);
	/* Paging goes on while the CPU still fetches from the trampoline's
	 * physical address. */
	paging_identity_map_page(s3_trampoline_phys);
	return tramp_phys(tr_s3_wake);
}

/* ---- MSRs the reset loses and the firmware may or may not restore ---- */

static void save_msrs(void)
{
	s3.apic_base = rdmsr(MSR_IA32_APIC_BASE);
	s3.has_feature_control = rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &s3.feature_control) == 0;
	s3.has_vm_cr = boot_cpu.is_amd && rdmsr_safe(MSR_AMD_VM_CR, &s3.vm_cr) == 0;
	if (read_cr4() & X86_CR4_OSXSAVE)
		s3.xcr0 = xgetbv(0);
}

static void restore_msrs(void)
{
	/* The boot CPU's MTRRs and PAT as at boot (asm/mtrr.h); the APs get
	 * theirs when they come online. */
	uint32_t first;
	unsigned n = mtrr_sync_this_cpu(&first);
	if (n)
		printk("s3: the firmware left %u MTRR/PAT registers changed (first: MSR 0x%x); restored\n", n, first);
	/* The virtualization compatibility check compares these with the boot
	 * snapshot.  Firmware is expected to lock IA32_FEATURE_CONTROL again
	 * on resume (SDM vol 3, "Enabling and Entering VMX Operation"); if it left it unlocked, put back what
	 * it was (a locked MSR cannot be written: then only report it). */
	uint64_t v;
	if (s3.has_feature_control && rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &v) == 0 && v != s3.feature_control) {
		bool fixed = !(v & 1) && wrmsr_safe(MSR_IA32_FEATURE_CONTROL, s3.feature_control) == 0;
		printk("s3: IA32_FEATURE_CONTROL is 0x%lx after wake, was 0x%lx%s\n", v, s3.feature_control,
		       fixed ? "; restored" : "; locked, left as is");
	}
	/* VM_CR.LOCK (AMD APM vol 2, 15.30.1) likewise. */
	if (s3.has_vm_cr && rdmsr_safe(MSR_AMD_VM_CR, &v) == 0 && v != s3.vm_cr) {
		bool fixed = !(v & (1u << 3)) && wrmsr_safe(MSR_AMD_VM_CR, s3.vm_cr) == 0;
		printk("s3: VM_CR is 0x%lx after wake, was 0x%lx%s\n", v, s3.vm_cr,
		       fixed ? "; restored" : "; locked, left as is");
	}
	if (s3.ctx.cr4 & X86_CR4_OSXSAVE)
		xsetbv(0, s3.xcr0);
}

/* The LAPIC comes back from the reset enabled in xAPIC mode at the default
 * base (SDM vol 3, "Local APIC State After Power-Up or Reset", 11.4.7.1),
 * or in x2APIC mode if the firmware switched it.  Put IA32_APIC_BASE back,
 * going through "disabled" when leaving x2APIC (11.12.5 "x2APIC State
 * Transitions": x2APIC -> xAPIC directly is illegal), then set up the LAPIC
 * as at boot, which also restarts the periodic timer. */
static void restore_lapic(void)
{
	uint64_t now = rdmsr(MSR_IA32_APIC_BASE);
	if (now != s3.apic_base) {
		if ((now & APIC_BASE_X2APIC) && !(s3.apic_base & APIC_BASE_X2APIC))
			wrmsr(MSR_IA32_APIC_BASE, now & ~(APIC_BASE_X2APIC | APIC_BASE_ENABLE));
		/* xAPIC first, then x2APIC (11.12.5). */
		wrmsr(MSR_IA32_APIC_BASE, s3.apic_base & ~APIC_BASE_X2APIC);
		if (s3.apic_base & APIC_BASE_X2APIC)
			wrmsr(MSR_IA32_APIC_BASE, s3.apic_base);
	}
	lapic_init_cpu();
}

/* ---- the sleep itself ---- */

/* Write the sleep registers (drivers/acpi/sleep.c); returns only when the
 * machine did not sleep. */
static uint64_t enter_sleep(void)
{
	acpi_sleep_write_type(&acpi.s3);
	/* 16.2: the caches do not survive S3; every dirty line (the FACS
	 * vector, the saved context, the whole kernel) must be in RAM. */
	wbinvd();
	s3.tsc_sleep = rdtsc();
	acpi_sleep_write_enable();
	/* 16.1.6: loop on WAK_STS.  We get here at all only when the platform
	 * did not power down. */
	uint64_t deadline = rdtsc() + S3_ENTRY_TIMEOUT_MS * (tsc_hz / 1000);
	while (!acpi_pm1_wake_status() && (int64_t)(rdtsc() - deadline) < 0)
		cpu_relax();
	return rdtsc() - s3.tsc_sleep;
}

static struct page_snapshot *page_check;

/* platform_sleep_ops.prepare: the checks that need the moment of the sleep,
 * and what the reset loses of the boot CPU's MSRs and of PM1 control. */
static int s3_prepare(char *why, size_t len)
{
	if (read_rflags() & X86_RFLAGS_IF) {
		snprintf(why, len, "called with interrupts enabled");
		return -1;
	}
	if (this_cpu()->cpu != 0) {
		snprintf(why, len, "called on CPU %u, not the boot CPU", this_cpu()->cpu);
		return -1;
	}
	for (unsigned c = 1; c < nr_possible_cpus; c++) {
		if (cpu_table[c].state == CPU_ONLINE) {
			snprintf(why, len, "CPU %u is still online (S3 needs every other CPU offline)", c);
			return -1;
		}
	}
	/* VMX operation and SVM's host save area are processor context, which
	 * S3 loses (ACPI 6.5 16.1.3); coming back with CR4.VMXE or EFER.SVME
	 * restored but no VMXON done would only hide that.  The core
	 * disables virtualization first (syscore suspend). */
	if (read_cr4() & X86_CR4_VMXE) {
		snprintf(why, len, "virtualization is still enabled on the boot CPU (CR4.VMXE set); disable it first");
		return -1;
	}
	if (rdmsr(MSR_EFER) & EFER_SVME) {
		snprintf(why, len, "virtualization is still enabled on the boot CPU (EFER.SVME set); disable it first");
		return -1;
	}

	s3.tsc_enter = rdtsc();
	save_msrs();
	s3.pm1a_cnt = acpi_pm1_cnt_read(false);
	s3.pm1b_cnt = acpi_pm1_cnt_read(true);
	acpi_waking_vector_save();
	return 0;
}

/* platform_sleep_ops.enter: after the devices saved their state (dev_pm.h). */
static int s3_enter(struct page_snapshot *ps, char *why, size_t len)
{
	page_check = ps;
	acpi_waking_vector_set(install_trampoline());
	s3_resume_ctx = &s3.ctx;
	/* The debug page hash: as late as possible before the sleep, as early
	 * as possible after it, so that what changed in between is the
	 * firmware's doing.  Our own stack changes under us: skipped. */
	if (page_check) {
		struct task *cur = current_task();
		page_snapshot_take(page_check, cur ? cur->stack_phys : 0, cur ? PAGE_SIZE << TASK_STACK_ORDER : 0);
	}

	if (s3_save_context(&s3.ctx) == 0) {
		uint64_t waited = enter_sleep();
		bool woke = acpi_pm1_wake_status();
		page_check = NULL;
		/* Still running: undo, so that nothing changed. */
		acpi_pm1_cnt_write(false, s3.pm1a_cnt);
		if (acpi.pm1b_cnt.address)
			acpi_pm1_cnt_write(true, s3.pm1b_cnt);
		acpi_pm1_clear_status();
		acpi_waking_vector_restore();
		if (woke)
			snprintf(why, len, "the platform set WAK_STS after %lu us without sleeping (SLP_TYPa=%u)",
				 tsc_to_ns(waited) / 1000, acpi.s3.slp_typa);
		else
			snprintf(why, len, "SLP_EN written (SLP_TYPa=%u) but the machine was still running after %u ms",
				 acpi.s3.slp_typa, S3_ENTRY_TIMEOUT_MS);
		return -1;
	}

	/* Awake: s3_resume_entry has put back the CPU context. */
	s3.tsc_wake = *(volatile uint64_t *)tramp_virt(tr_s3_wake_tsc);
	if (page_check)      /* static: locals are not to be trusted here */
		page_snapshot_compare(page_check);
	page_check = NULL;
	/* The devices come next (dev_pm_resume(): PCI first, since the
	 * framebuffer console lives behind a BAR the reset cleared and the
	 * next printk writes to it; then the display mode and the UART), then
	 * s3_wake(). */
	return 0;
}

/* platform_sleep_ops.wake: the rest of the boot CPU and the firmware
 * registers, after the devices are back. */
static void s3_wake(void)
{
	restore_msrs();
	restore_lapic();
	pic_disable();
	/* SCI_EN comes back clear (the PM1 reset); hand the SCI back to the OS
	 * only if it had it.  SLP_TYP goes back to its S0 value. */
	uint16_t cnt = acpi_pm1_cnt_read(false);
	last_times.sci_en_lost = ((s3.pm1a_cnt | s3.pm1b_cnt) & ACPI_PM1_SCI_EN) &&
		!((cnt | acpi_pm1_cnt_read(true)) & ACPI_PM1_SCI_EN);
	acpi_pm1_cnt_write(false, (uint16_t)((cnt & ~ACPI_PM1_SLP_TYP_MASK) | (s3.pm1a_cnt & ACPI_PM1_SLP_TYP_MASK)));
	if ((s3.pm1a_cnt | s3.pm1b_cnt) & ACPI_PM1_SCI_EN) {
		if (!acpi_sci_enable())
			printk("s3: SCI_EN did not come back on after wake\n");
	}
	acpi_pm1_clear_status();
	acpi_waking_vector_restore();
	s3.tsc_done = rdtsc();
	last_times.save_ns = tsc_to_ns(s3.tsc_sleep - s3.tsc_enter);
	last_times.restore_ns = s3.tsc_done >= s3.tsc_wake ? tsc_to_ns(s3.tsc_done - s3.tsc_wake) : 0;
	if (s3.tsc_wake >= s3.tsc_sleep) {
		last_times.sleep_ns = tsc_to_ns(s3.tsc_wake - s3.tsc_sleep);
	} else {
		/* The TSC restarted from 0 (Bochs does; so may hardware: the
		 * SDM's invariant TSC only promises to run in all ACPI P-, C- and
		 * T-states, "Time-Stamp Counter", 18.17).  The kernel clock is
		 * TSC-based and must not go back: continue from the value at
		 * SLP_EN plus the time since the wake (WRMSR to
		 * IA32_TIME_STAMP_COUNTER).  The time asleep is unknown and
		 * counts as zero. */
		uint64_t since_reset = rdtsc();
		wrmsr(MSR_IA32_TSC, s3.tsc_sleep + since_reset);
		s3.tsc_done = rdtsc();
		last_times.sleep_ns = 0;
		printk("s3: the TSC restarted in S3 (0x%lx at SLP_EN, 0x%lx at the waking vector); "
		       "continued from its value at SLP_EN, time asleep not counted\n", s3.tsc_sleep, s3.tsc_wake);
	}
	last_times.tsc_restarted = s3.tsc_wake < s3.tsc_sleep;
	s3_wakeups++;
}

void s3_last_times(struct s3_times *t)
{
	t->save_ns = last_times.save_ns;
	t->sleep_ns = last_times.sleep_ns;
	t->restore_ns = last_times.restore_ns;
}

bool s3_sci_en_was_lost(void)
{
	return last_times.sci_en_lost;
}

bool s3_tsc_restarted(void)
{
	return last_times.tsc_restarted;
}

unsigned s3_wakeup_count(void)
{
	return s3_wakeups;
}
