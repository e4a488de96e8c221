/* Build-time limits. */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H
#define CONFIG_MAX_CPUS 512
#endif
