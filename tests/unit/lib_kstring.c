/*
 * core/lib/string.c is kernel-only (the host uses libc's mem and str
 * functions), but its code deserves testing too.  Build it here as if for the
 * kernel, with every function renamed k_<name> so it cannot clash with libc
 * or be replaced by a compiler builtin.
 */
#undef VIGIL_HOST
#define VIGIL_KERNEL 1

#define memcpy   k_memcpy
#define memmove  k_memmove
#define memset   k_memset
#define memcmp   k_memcmp
#define memchr   k_memchr
#define strlen   k_strlen
#define strnlen  k_strnlen
#define strcmp   k_strcmp
#define strncmp  k_strncmp
#define strchr   k_strchr
#define strrchr  k_strrchr
#define strstr   k_strstr
#define strlcpy  k_strlcpy
#define vsnprintf k_vsnprintf_unused
#define snprintf  k_snprintf_unused

#include "../../core/lib/string.c"
