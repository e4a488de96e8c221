/*
 * The architecture-neutral kernel, entered on the boot CPU once the
 * architecture has brought up memory, interrupts and time.
 */
#include <vigil/arch.h>
#include <vigil/cmdline.h>
#include <vigil/console_input.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/kernel.h>
#include <vigil/printk.h>
#include <vigil/shell.h>
#include <vigil/vcpu.h>
#include <vigil/virt.h>
#include <vigil/selftest.h>

static void console_sink(const char *s, size_t n, void *arg)
{
	(void)arg;
	console_write(s, n);
}

static void print_cmdline_problem(const char *line, void *arg)
{
	(void)arg;
	printk("%s\n", line);
}

void kernel_main(const struct boot_info *bi)
{
	/* The architecture already parsed bi->cmdline (boot_params_init). */
	const struct boot_params *bp = boot_params();
	const struct cmdline_errors *errs = boot_params_errors();
	if (bi->cmdline_note[0])  /* the loader dropped or cut a bad command line */
		printk("cmdline: *** %s ***\n", bi->cmdline_note);
	printk("cmdline: '%s'\n", bp->cmdline);
	cmdline_errors_report(errs, print_cmdline_problem, NULL);

	printk("vigil: %u possible CPUs, %u online; console ready\n", nr_possible_cpus,
	       cpu_count_in_state(CPU_ONLINE));
	virt_init();
	vcpu_lifecycle_init(); /* after virt_init: the vCPUs leave a CPU before its virtualization goes off */
	cpuhp_init(); /* after virt_init, which registers its ONLINE state for cpuhp_init to count done */
	arch_cpu_hotplug_events_init();
	selftest_boot(bp->selftest);
	shell_init(console_sink, NULL);
	shell_set_resumable_sink(console_write_resumable);
	if (boot_params()->autorun[0]) {
		console_cmd_begin();
		shell_autorun(boot_params()->autorun);
		console_cmd_end();
	}
	shell_prompt();
	for (;;) {
		/* The timer tick moves input into the ring; between ticks
		 * nothing arrives that the UART cannot hold. */
		int c = console_getc();
		if (c < 0) {
			arch_idle();
			continue;
		}
		/* A byte may end a line and run a command: Ctrl-C typed
		 * after it interrupts that command. */
		console_cmd_begin();
		shell_feed_byte(c);
		console_cmd_end();
	}
}
