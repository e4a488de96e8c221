/*
 * CPU hot-add and hot-remove through QEMU's ACPI CPU-hotplug register block
 * (include/vigil/acpi_cpuhp.h), found in the DSDT (OperationRegion PRST);
 * the event status bit is GPE 2 of the FADT's GPE0 block.
 *
 * Events are polled, not taken as an SCI: vigil routes no I/O APIC
 * interrupts yet, so the kernel thread `acpi_cpuhp` reads the GPE0 status
 * register every POLL_NS and, when bit 2 is set, clears it (write 1, ACPI
 * 6.5 4.8.4.1 "General-Purpose Event Register Blocks") and walks the block's
 * events as QEMU's own \_GPE._E02 AML would:
 *   insert: clear the event, then cpu_hot_add() -- INIT-SIPI-SIPI and the
 *           hotplug walk, which checks and enables virtualization when VMs
 *           exist or leaves the CPU offline with the reason;
 *   remove: clear the event, cpu_hot_remove() -- the offline walk -- and,
 *           once the CPU is absent, eject it (QEMU then unplugs it); a
 *           refused removal is logged and the CPU stays.
 * The thread is freezable: no hotplug event is handled across a suspend (a
 * suspend may wait up to one poll period for it to park).  It runs only when
 * the MADT listed hot-pluggable CPUs (absent ones): with none, QEMU has
 * nothing to insert, and removing a CPU needs a hot-added one.
 */
#include <asm/io.h>
#include <asm/s3.h>
#include <vigil/acpi.h>
#include <vigil/acpi_cpuhp.h>
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/printk.h>
#include <vigil/suspend.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include <vigil/virt.h>


#define POLL_NS (20ULL * 1000000ULL)

static uint8_t port_in8(void *ctx, uint16_t port) { (void)ctx; return inb(port); }
static uint32_t port_in32(void *ctx, uint16_t port) { (void)ctx; return inl(port); }
static void port_out8(void *ctx, uint16_t port, uint8_t v) { (void)ctx; outb(port, v); }
static void port_out32(void *ctx, uint16_t port, uint32_t v) { (void)ctx; outl(port, v); }

static struct acpi_cpuhp_io io = { port_in8, port_in32, port_out8, port_out32, NULL, 0 };
static uint16_t gpe_sts_port;   /* the GPE0 status byte holding GPE 2; 0: scan every poll */
unsigned long acpi_cpuhp_events;
/* CPUs QEMU inserted since boot and has not ejected (by selector), whatever
 * vigil did with them: present for the firmware's S3 resume path too. */
static bool inserted[CONFIG_MAX_CPUS];
static unsigned nr_inserted;

static void mark_inserted(uint32_t selector, bool now)
{
	if (selector >= CONFIG_MAX_CPUS || inserted[selector] == now)
		return;
	inserted[selector] = now;
	__atomic_add_fetch(&nr_inserted, now ? 1u : (unsigned)-1, __ATOMIC_RELEASE);
}

/*
 * S3 with a hot-added CPU present corrupts memory under QEMU + OVMF: on the
 * resume path the firmware starts every AP it finds (INIT-SIPI-SIPI
 * broadcast) with per-AP buffers sized for the CPUs it counted at boot, and
 * the extra AP runs past them into the kernel's RAM.  Seen as `kmalloc:
 * free list corrupted` right after a resume, even with the CPU offline in
 * vigil (tests/scenarios/cpu_hotadd.py).  So S3 is refused until the CPU is
 * removed again.
 */
int acpi_cpuhp_s3_blocker(char *why, size_t len)
{
	unsigned n = __atomic_load_n(&nr_inserted, __ATOMIC_ACQUIRE);
	if (!n)
		return 0;
	snprintf(why, len,
		 "%u hot-added CPU%s present: the firmware's resume path does not know %s (remove %s first)", n,
		 n == 1 ? " is" : "s are", n == 1 ? "it" : "them", n == 1 ? "it" : "them");
	return -1;
}

static bool gpe_pending(void)
{
	if (!gpe_sts_port)
		return true;
	uint8_t bit = 1u << (ACPI_CPUHP_GPE % 8);
	if (!(inb(gpe_sts_port) & bit))
		return false;
	outb(gpe_sts_port, bit); /* write-1-to-clear, before the scan: a later event sets it again */
	return true;
}

static void handle(const struct acpi_cpuhp_event *ev)
{
	char why[WHY_MAX];
	unsigned cpu = 0;
	acpi_cpuhp_events++;
	if (ev->insert) {
		acpi_cpuhp_control(&io, ev->selector, ACPI_CPUHP_W_CLEAR_INSERT);
		mark_inserted(ev->selector, true);
		if (cpu_hot_add(ev->apic_id, &cpu, why, sizeof(why)) == 0)
			printk("acpi-cpuhp: CPU %u (APIC ID %u) inserted: online, virtualization %s\n", cpu,
			       ev->apic_id, virt_cpu_enabled(cpu) ? "on" : "off (no VMs)");
		else
			printk("acpi-cpuhp: CPU (APIC ID %u) inserted: left offline: %s\n", ev->apic_id, why);
	} else if (ev->remove) {
		acpi_cpuhp_control(&io, ev->selector, ACPI_CPUHP_W_CLEAR_REMOVE);
		if (cpu_hot_remove(ev->apic_id, &cpu, why, sizeof(why)) == 0) {
			acpi_cpuhp_control(&io, ev->selector, ACPI_CPUHP_W_EJECT);
			mark_inserted(ev->selector, false);
			printk("acpi-cpuhp: CPU %u (APIC ID %u) removal: offline, ejected\n", cpu, ev->apic_id);
		} else {
			printk("acpi-cpuhp: CPU (APIC ID %u) removal refused: %s\n", ev->apic_id, why);
		}
	}
}

static void poll_fn(void *arg)
{
	(void)arg;
	set_freezable();
	for (;;) {
		try_to_freeze();
		if (gpe_pending()) {
			struct acpi_cpuhp_event ev;
			/* Each handled event is cleared; the bound only guards
			 * against a block that never clears one. */
			for (unsigned n = 0; n < 2 * CONFIG_MAX_CPUS && acpi_cpuhp_next_event(&io, &ev) == 1; n++)
				handle(&ev);
		}
		sleep_ns(POLL_NS);
	}
}

void arch_cpu_hotplug_events_init(void)
{
	if (!acpi_ok || !acpi.cpuhp_port)
		return;
	io.base = acpi.cpuhp_port;
	if (acpi_cpuhp_init(&io) != 0) {
		printk("acpi-cpuhp: the block at port 0x%x does not answer as QEMU's modern interface; no CPU hotplug\n",
		       io.base);
		return;
	}
	unsigned slots = cpu_count_in_state(CPU_ABSENT);
	if (!slots) {
		printk("acpi-cpuhp: CPU hotplug block at port 0x%x; no hot-pluggable CPUs in the MADT, events not watched\n",
		       io.base);
		return;
	}
	if (acpi.gpe0_blk.space_id == ACPI_GAS_IO && acpi.gpe0_blk.address &&
	    ACPI_CPUHP_GPE / 8 < acpi.gpe0_blk_len / 2u)
		gpe_sts_port = (uint16_t)(acpi.gpe0_blk.address + ACPI_CPUHP_GPE / 8);
	if (!kthread_run(poll_fn, NULL, TASK_ANY_CPU, "acpi_cpuhp")) {
		printk("acpi-cpuhp: out of memory for the event thread; no CPU hotplug\n");
		return;
	}
	printk("acpi-cpuhp: CPU hotplug block at port 0x%x, %u hot-pluggable CPUs, events polled every %llu ms (GPE0 status %s)\n",
	       io.base, slots, POLL_NS / 1000000ULL, gpe_sts_port ? "bit 2" : "not found: every block scanned");
}
