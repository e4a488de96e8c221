/*
 * x86 bring-up of the boot CPU, in dependency order:
 *   boot_info copy -> serial -> CPU identity -> GDT/TSS/IDT (faults now print)
 *   -> own page tables -> page allocator -> ACPI -> TSC -> LAPIC + timer
 *   -> interrupts on -> the architecture-neutral kernel (kernel_main).
 */
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/mtrr.h>
#include <asm/io.h>
#include <asm/paging.h>
#include <asm/s3.h>
#include <asm/segment.h>
#include <asm/smp.h>
#include <asm/time.h>
#include <asm/trap.h>
#include <asm/setup.h>
#include <asm/percpu.h>
#include <vigil/acpi.h>
#include <vigil/boot_info.h>
#include <vigil/cmdline.h>
#include <vigil/cpu.h>
#include <vigil/fbcon.h>
#include <vigil/kernel.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include <vigil/uart.h>

static struct boot_info boot_info_copy;

static void early_fail(const char *msg)
{
	uart_init(0x3F8);
	uart_write(msg, strlen(msg));
	halt_forever();
}

static void map_framebuffer(const struct boot_info *bi)
{
	const struct boot_framebuffer *fb = &bi->fb;
	if (!fb->base || fb->format == BOOT_FB_NONE)
		return;
	void *virt = ioremap(fb->base, (size_t)fb->pitch * fb->height);
	if (fbcon_init(fb, virt)) {
		serial_console_report_fb();
		printk("fb: %ux%u pitch %u at 0x%lx\n", fb->width, fb->height, fb->pitch, fb->base);
	} else
		printk("fb: framebuffer %ux%u bpp %u format %u not usable; serial console only\n",
		       fb->width, fb->height, fb->bpp, fb->format);
}

void x86_boot(uint64_t boot_info_phys)
{
	tsc_mark_boot();
	const struct boot_info *src = (const struct boot_info *)boot_info_phys;
	if (src->magic != BOOT_INFO_MAGIC || src->version != BOOT_INFO_VERSION)
		early_fail("vigil: bad boot_info magic/version from the loader; stopping\r\n");
	memcpy(&boot_info_copy, src, sizeof(boot_info_copy));
	struct boot_info *bi = &boot_info_copy;
	bi->cmdline[BOOT_CMDLINE_MAX - 1] = 0;
	bi->loader_name[sizeof(bi->loader_name) - 1] = 0;
	bi->cmdline_note[sizeof(bi->cmdline_note) - 1] = 0;

	/* The command line decides the console, so it is parsed first (pure
	 * parsing: no memory allocation); its errors are printed later by
	 * kernel_main, once the console is up. */
	boot_params_init(bi->cmdline);
	const struct boot_console *con = &boot_params()->console;
	serial_console_early();   /* I/O port UARTs: before anything prints */
	cpu_identify();
	gdt_init_cpu(0);
	percpu_init_boot();
	idt_init();
	idt_load();
	pic_disable();
	printk("vigil %s (%s) booting on %s %s\n", vigil_version, vigil_commit, boot_cpu.vendor, boot_cpu.brand);
	printk("boot: loader '%s', kernel at phys 0x%lx (%lu KiB), %u memory map entries\n",
	       bi->loader_name, bi->kernel_phys_base, bi->kernel_size / 1024, bi->mmap_count);

	paging_init(bi);
	serial_console_late(bi);  /* an MMIO UART needs ioremap */
	x86_mm_init(bi);
	if (con->devices & BOOT_CONSOLE_FB)
		map_framebuffer(bi);
	cpu_set_limit(boot_params()->maxcpus);
	x86_acpi_init(bi);
	if (acpi_ok)
		serial_console_spcr(bi, &acpi);
	ipi_init();
	sched_init_boot_cpu();
	lapic_timer_start(1000);
	sti();
	s3_init(bi->trampoline_phys);
	s3_pci_register_pm();
	s3_bochs_vga_register_pm();
	x86_serial_console_register_pm();
	mtrr_init_boot();
	smp_boot_aps(bi->trampoline_phys);
	kernel_main(bi);
}
