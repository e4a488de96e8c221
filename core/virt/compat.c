/* Compatibility snapshots: build, compare with the boot CPU's, explain. */
#include <vigil/string.h>
#include <vigil/virt.h>

void virt_compat_add(struct virt_compat *c, const char *name, uint64_t value)
{
	if (c->n >= VIRT_COMPAT_MAX)
		return;
	strlcpy(c->f[c->n].name, name, VIRT_COMPAT_NAME);
	c->f[c->n].value = value;
	c->n++;
}

/* 0 when cpu matches boot; otherwise -1 and why names the first differing
 * field with both values (or the CPU's own fatal problem). */
int virt_compat_compare(const struct virt_compat *boot, const struct virt_compat *cpu, char *why, size_t len)
{
	if (cpu->unusable[0]) {
		snprintf(why, len, "%s", cpu->unusable);
		return -1;
	}
	for (unsigned i = 0; i < boot->n || i < cpu->n; i++) {
		if (i >= boot->n || i >= cpu->n) {
			snprintf(why, len, "snapshot has %u fields, boot CPU %u", cpu->n, boot->n);
			return -1;
		}
		if (strcmp(boot->f[i].name, cpu->f[i].name)) {
			snprintf(why, len, "field %u is %s, boot CPU has %s", i, cpu->f[i].name, boot->f[i].name);
			return -1;
		}
		if (boot->f[i].value != cpu->f[i].value) {
			snprintf(why, len, "%s=0x%lx differs from the boot CPU's 0x%lx", cpu->f[i].name,
				 (unsigned long)cpu->f[i].value, (unsigned long)boot->f[i].value);
			return -1;
		}
	}
	return 0;
}

const char *vexit_name(enum vexit e)
{
	static const char *const names[VEXIT_COUNT] = {
		[VEXIT_NONE] = "none",
		[VEXIT_HYPERCALL] = "hypercall",
		[VEXIT_CPUID] = "cpuid",
		[VEXIT_HLT] = "hlt",
		[VEXIT_IO] = "io",
		[VEXIT_MEM_FAULT] = "mem_fault",
		[VEXIT_EXCEPTION] = "exception",
		[VEXIT_ENTRY_FAILED] = "entry_failed",
		[VEXIT_SHUTDOWN] = "shutdown",
		[VEXIT_INTR] = "intr",
		[VEXIT_OTHER] = "other",
	};
	return (unsigned)e < VEXIT_COUNT && names[e] ? names[e] : "unknown";
}
