/* smp_progress_ms= is registered here, beside the AP bring-up that uses it
 * (smp_boot.c): how often a bring-up of many CPUs says how far it got. */
#include <vigil/cmdline.h>
BOOT_PARAM_UINT(smp_progress_ms, 1, 600000);
