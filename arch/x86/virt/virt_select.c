/*
 * Which virtualization technology this machine uses: virt=vmx|svm forces
 * one, virt=auto follows the CPU vendor, virt=off turns it off.  The
 * backends are arch/x86/vmx and arch/x86/svm.
 */
#include <asm/cpu.h>
#include <asm/svm.h>
#include <vigil/string.h>
#include <vigil/virt.h>

extern const struct virt_ops vmx_ops __attribute__((weak));
extern const struct virt_ops svm_ops __attribute__((weak));

/* An Intel CPU that also reports SVM (an emulator's "-cpu <Intel model>,+svm")
 * is still refused: SVM is AMD's (APM vol 2, 15.4 "Enabling SVM") and vigil
 * uses it only under an AMD or Hygon vendor string.  Say so after the VMX
 * reason, so the user does not wonder why the SVM bit was ignored. */
static void explain_svm_on_intel(char *why, size_t len)
{
	if (cpuid(0x80000000).eax < 0x80000001 || !(cpuid(0x80000001).ecx & CPUID_EXT1_ECX_SVM))
		return;
	size_t used = strlen(why);
	if (used + 1 < len)
		snprintf(why + used, len - used,
			 "; SVM is present (CPUID 0x80000001 ECX[2]) but needs an AMD or Hygon vendor");
}

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
	if (r != 0 && ops == &vmx_ops && strcmp(want, "vmx"))
		explain_svm_on_intel(why, len);
	return r == 0 ? ops : NULL;
}

/* virt=auto|vmx|svm|off is registered here: only the architecture knows the
 * backend names. */
