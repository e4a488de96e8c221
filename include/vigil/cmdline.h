/*
 * The kernel command line: "key=value" and bare "key" parameters separated
 * by blanks; double quotes group text containing blanks (or ';') into one
 * parameter and are removed: autorun="vm create;vm list".  There is no
 * escape character, so a value cannot contain a double quote.
 *
 * Parameters register themselves from the module that owns them with the
 * BOOT_PARAM_* macros below (section "cmdline_params", bracketed by
 * __start_cmdline_params / __stop_cmdline_params), and land in one struct
 * boot_params that the rest of the kernel reads through boot_params().
 * Adding a parameter = a field here + one BOOT_PARAM_* line where it is used.
 *
 * Nothing on the command line is silently ignored: an unknown parameter or a
 * malformed value produces a message ("cmdline: unknown parameter 'foo'
 * (ignored)", "cmdline: bad value 'x' for maxcpus= (expected 1..512)") that
 * the kernel prints at boot; the parameter keeps its default and every valid
 * parameter still takes effect.  When a parameter is given twice, the last
 * valid value wins.
 */
#ifndef VIGIL_CMDLINE_H
#define VIGIL_CMDLINE_H

#include <vigil/boot_info.h>
#include <vigil/types.h>

/* console=: which devices carry the console. */
#define BOOT_CONSOLE_SERIAL 0x1u
#define BOOT_CONSOLE_FB     0x2u

enum boot_serial_kind {
	BOOT_SERIAL_IO = 0,   /* 16550 at an I/O port */
	BOOT_SERIAL_MMIO = 1, /* 16550 registers memory-mapped (32-bit stride) */
};

#define BOOT_SERIAL_DEFAULT_PORT 0x3f8 /* COM1 */

struct boot_console {
	uint32_t devices;      /* BOOT_CONSOLE_* */
	uint32_t serial_kind;  /* enum boot_serial_kind */
	uint64_t serial_base;  /* I/O port or MMIO physical address */
	uint32_t from_cmdline; /* 1: console= was given (it overrides the ACPI SPCR table) */
	uint32_t pad;
};

#define BOOT_SELFTEST_MAX 256
#define BOOT_LOGLEVEL_MAX 7

struct boot_params {
	struct boot_console console;   /* console=serial[,<port>|,mmio,<addr>]|fb joined by '+' */
	uint32_t maxcpus;              /* maxcpus=1..CONFIG_MAX_CPUS; default CONFIG_MAX_CPUS */
	uint32_t loglevel;             /* loglevel=0..7: print messages below this level */
	uint32_t smp_progress_ms;      /* smp_progress_ms=: period of the bring-up progress line */
	bool lockdep;                  /* lockdep=on|off; default on */
	bool quiet;                    /* quiet: fewer boot messages */
	char virt_lock[1];             /* virt_lock= was removed: every value is refused with an
					  error naming the virt_lock_order self-test */
	char virt[8];                  /* virt=: "auto" (default), "off", or a backend name;
					  registered by the architecture, which knows the names */
	char memslot_update[8];        /* memslot_update=atomic|naive; "" = atomic (core/virt/memslot_vm.c) */
	char selftest[BOOT_SELFTEST_MAX]; /* selftest=all|<name>[,<name>...]; "" = none */
	char autorun[BOOT_CMDLINE_MAX];   /* autorun=<cmd>[;<cmd>...]; "" = none */
	char memslot_inval[8];         /* memslot_inval=count|rwsem: how guest-memory invalidation
					  and slot swaps exclude each other (docs/invalidation.md) */
	char cmdline[BOOT_CMDLINE_MAX];   /* the whole line as given, for the record */
};

/* ---- the parsed parameters (core/boot_params.c) ---- */

/* Parse the boot command line into the kernel's boot_params (starting from
 * the defaults) and keep the messages.  Call once, early. */
void boot_params_init(const char *cmdline);

/* The parameters in effect: the defaults until boot_params_init() ran. */
const struct boot_params *boot_params(void);

/* Fill *bp with the defaults. */
void boot_params_defaults(struct boot_params *bp);

/* ---- messages ---- */

#define CMDLINE_MAX_ERRORS 16
#define CMDLINE_ERROR_LEN  160

/* One message per problem, in command-line order, each a complete line
 * without the newline, starting "cmdline: ".  If there are more problems than
 * slots, the last slot says how many were not shown. */
struct cmdline_errors {
	unsigned int count;
	unsigned int dropped;
	char msg[CMDLINE_MAX_ERRORS][CMDLINE_ERROR_LEN];
};

/* The messages from boot_params_init(), for the kernel to print at boot. */
const struct cmdline_errors *boot_params_errors(void);
/* Every line the kernel prints about them, in order, through emit (the
 * "<k> more problems not shown" summary is already the last message). */
void cmdline_errors_report(const struct cmdline_errors *errs, void (*emit)(const char *line, void *arg),
			   void *arg);

/* ---- the parser (core/cmdline.c) ---- */

/* Apply every parameter of line to *bp (which should hold the defaults) and
 * record problems in *errs (reset first).  Pure: usable on any struct. */
void cmdline_parse(const char *line, struct boot_params *bp, struct cmdline_errors *errs);

/* ---- registration ---- */

enum boot_param_type {
	BOOT_PARAM_T_FLAG,    /* bare "key" -> bool true; a value is an error */
	BOOT_PARAM_T_BOOL,    /* key=on|off -> bool */
	BOOT_PARAM_T_UINT,    /* key=<n>, decimal or 0x hex, in [min, max] -> uint32_t/uint64_t */
	BOOT_PARAM_T_CHOICE,  /* key=<one of "a|b|c"> -> the word, in a char array */
	BOOT_PARAM_T_STRING,  /* key=<text>, non-empty, printable, fits -> char array */
	BOOT_PARAM_T_CUSTOM,  /* key=<text> handed to parse() */
};

struct boot_param {
	const char *name;
	const char *expect;     /* what a good value looks like, for messages (STRING, CUSTOM) */
	const char *choices;    /* CHOICE: "a|b|c" */
	/* STRING: optional extra validation; return 0 if acceptable. */
	int (*check)(const char *value);
	/* CUSTOM: parse value into *field; 0 on success, -1 = bad value (then
	 * *field must be unchanged). */
	int (*parse)(const char *value, void *field);
	uint64_t min, max;      /* UINT */
	uint32_t offset;        /* of the field in struct boot_params */
	uint32_t size;          /* of the field */
	uint32_t type;          /* enum boot_param_type */
	uint32_t pad;
};

/* Look up a registered parameter by name (NULL if unknown). */
const struct boot_param *boot_param_find(const char *name);

#define BOOT_PARAM_FIELD_(f) \
	.offset = offsetof(struct boot_params, f), \
	.size = sizeof(((struct boot_params *)0)->f)

/*
 * Register the parameter <name>=: its key on the command line, the
 * identifier of the registration and the struct boot_params field it fills
 * are all <name> (the key is the identifier stringified).
 * aligned(8), user-specified: see SHELL_CMD in shell.h for why.
 */
#define BOOT_PARAM_(pname, ...)                                              \
	static const struct boot_param boot_param_##pname                    \
	__attribute__((used, section("cmdline_params"), aligned(8))) = {     \
		.name = #pname, BOOT_PARAM_FIELD_(pname), __VA_ARGS__        \
	}

#define BOOT_PARAM_FLAG(pname) BOOT_PARAM_(pname, .type = BOOT_PARAM_T_FLAG)
#define BOOT_PARAM_BOOL(pname) BOOT_PARAM_(pname, .type = BOOT_PARAM_T_BOOL)
#define BOOT_PARAM_UINT(pname, lo, hi) \
	BOOT_PARAM_(pname, .type = BOOT_PARAM_T_UINT, .min = (lo), .max = (hi))
#define BOOT_PARAM_CHOICE(pname, words) \
	BOOT_PARAM_(pname, .type = BOOT_PARAM_T_CHOICE, .choices = (words))
#define BOOT_PARAM_STRING(pname, what, check_fn) \
	BOOT_PARAM_(pname, .type = BOOT_PARAM_T_STRING, .expect = (what), .check = (check_fn))
#define BOOT_PARAM_CUSTOM(pname, what, parse_fn) \
	BOOT_PARAM_(pname, .type = BOOT_PARAM_T_CUSTOM, .expect = (what), .parse = (parse_fn))

#endif
