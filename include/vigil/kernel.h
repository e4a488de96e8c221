/* The architecture-neutral kernel: entered once the boot CPU is up. */
#ifndef VIGIL_KERNEL_H
#define VIGIL_KERNEL_H
#include <vigil/boot_info.h>

extern const char vigil_version[];
extern const char vigil_commit[];

/* Never returns: runs the console. */
__attribute__((noreturn)) void kernel_main(const struct boot_info *bi);
#endif
