/* virt= is registered here: only the architecture knows the backend names. */
#include <vigil/cmdline.h>
BOOT_PARAM_CHOICE(virt, "auto|vmx|svm|off");
