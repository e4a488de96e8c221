/*
 * Which virtualization technology this machine uses: virt=vmx|svm forces
 * one, virt=auto follows the CPU vendor, virt=off turns it off.  The
 * backends are arch/x86/vmx and arch/x86/svm.
 */
#include <asm/cpu.h>
#include <vigil/string.h>
#include <vigil/virt.h>

extern const struct virt_ops vmx_ops __attribute__((weak));
extern const struct virt_ops svm_ops __attribute__((weak));

const struct virt_ops *arch_virt_ops(const char *want, char *why, size_t len)
{
	if (!strcmp(want, "off")) {
		snprintf(why, len, "virtualization is off (virt=off)");
		return NULL;
	}
	const struct virt_ops *ops = NULL;
	if (!strcmp(want, "vmx"))
		ops = &vmx_ops;
	else if (!strcmp(want, "svm"))
		ops = &svm_ops;
	else if (boot_cpu.is_intel)
		ops = &vmx_ops;
	else if (boot_cpu.is_amd || !strcmp(boot_cpu.vendor, "HygonGenuine"))
		ops = &svm_ops;
	if (!ops) {
		snprintf(why, len, "no virtualization backend for CPU vendor '%s'", boot_cpu.vendor);
		return NULL;
	}
	int r = ops->probe(why, len);
	return r == 0 ? ops : NULL;
}

/* virt=auto|vmx|svm|off is registered here: only the architecture knows the
 * backend names. */
