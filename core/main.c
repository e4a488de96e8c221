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
#include <vigil/virt.h>
void selftest_boot(const char *spec);

static void console_sink(const char *s, size_t n, void *arg)
{
	(void)arg;
	console_write(s, n);
}

void kernel_main(const struct boot_info *bi)
{
	(void)bi; /* the architecture already parsed bi->cmdline (boot_params_init) */
	const struct boot_params *bp = boot_params();
	const struct cmdline_errors *errs = boot_params_errors();
	printk("cmdline: '%s'\n", bp->cmdline);
	for (unsigned i = 0; i < errs->count; i++)
		printk("%s\n", errs->msg[i]);
	if (errs->dropped)
		printk("cmdline: %u more errors not shown\n", errs->dropped);

	printk("vigil: %u possible CPUs, %u online; console ready\n", nr_possible_cpus,
	       cpu_count_in_state(CPU_ONLINE));
	virt_init();
	cpuhp_init(); /* after virt_init: its ONLINE step needs the backend */
	selftest_boot(bp->selftest);
	shell_init(console_sink, NULL);
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
