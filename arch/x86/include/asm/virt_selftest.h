/*
 * The backend contract self-test (arch/x86/virt/backend_selftest.c): what
 * every struct virt_ops must do, checked the same way for VMX and SVM
 * through the ops alone; each backend adds a table of the checks only its
 * technology has (arch/x86/vmx/vmx_selftest.c, arch/x86/svm/svm_selftest.c).
 */
#ifndef ASM_VIRT_SELFTEST_H
#define ASM_VIRT_SELFTEST_H
#include <vigil/bench.h>
#include <vigil/inject.h>
#include <vigil/selftest.h>
#include <vigil/virt.h>

/* A GUEST_NORMAL run of max exits: it succeeded, counted every exit, went
 * round its CPUID/OUT/hypercall/HLT loop evenly and reported its hypercalls
 * and its time.  0, or -1 with the failure recorded in ctx. */
int virt_selftest_check_normal_run(struct selftest_ctx *ctx, const char *what, int r, const struct vcpu_run *run,
				   uint64_t max);

/* One backend on the CPU the test runs on, outside the usage core. */
struct backend_test {
	const struct backend_checks *b;
	unsigned cpu;
	bool enabled_here;         /* the test turned the backend on, so it turns it off */
	struct vm *vm;             /* the test VM (slot 0), or NULL */
	char why[WHY_MAX];
};

/* An injected VM-entry failure: the run must stop the guest at its first
 * entry with VEXIT_ENTRY_FAILED and a message containing needle. */
struct backend_entry_fault {
	struct inject_point *point;
	const char *what;
	const char *needle;
	bool one_exit;             /* also assert that the run counted exactly one exit */
};

/* The per-technology table. */
struct backend_checks {
	const char *label;         /* "VMX", "SVM": in notes */
	const struct virt_ops *ops;
	unsigned vm_id;            /* id of the test VM: never one the core hands out */
	/* The snapshot's "disabled by firmware" injection point and the exact
	 * reason the snapshot must then give. */
	struct inject_point *firmware_off;
	const char *firmware_off_reason;
	const struct backend_entry_fault *entry_faults;
	unsigned nr_entry_faults;
	/* What only this technology shows in its snapshot, and how it is
	 * turned on and off (run only when the test turned it on itself).
	 * 0 or -1 with the failure in ctx. */
	int (*snapshot)(struct selftest_ctx *ctx, struct backend_test *t);
	int (*on_off)(struct selftest_ctx *ctx, struct backend_test *t);
	/* Optional hooks (NULL: nothing), 0 or -1 with the failure in ctx. */
	int (*after_normal_run)(struct selftest_ctx *ctx, struct backend_test *t, const char *what);
	int (*after_remap)(struct selftest_ctx *ctx, struct backend_test *t);
	/* The guest with NMIs coming in (how depends on the technology). */
	int (*nmis)(struct selftest_ctx *ctx, struct backend_test *t);
};

/* Preemption must be off.  1: the backend is unusable here (t->why says
 * why); 0: it is on (and, with_vm, a VM with slot 0 is ready); -1: failure
 * (t->why).  backend_test_end() puts everything back as found. */
int backend_test_begin(struct backend_test *t, const struct backend_checks *b, bool with_vm);
void backend_test_end_vm(struct backend_test *t);
void backend_test_end(struct backend_test *t);
/* backend_test_begin with preemption disabled; on 1 or -1 it re-enables it
 * and notes the skip or records the failure in ctx. */
int backend_test_open(struct selftest_ctx *ctx, struct backend_test *t, const struct backend_checks *b,
		      bool with_vm);

/* Run the built-in guest on the test VM (fills *run). */
int backend_run_guest(struct backend_test *t, enum guest_kind kind, uint64_t max_exits, struct vcpu_run *run);
/* virt_selftest_check_normal_run plus the backend's after_normal_run. */
int backend_check_normal(struct selftest_ctx *ctx, struct backend_test *t, const char *what, int r,
			 const struct vcpu_run *run, uint64_t max);
/* The run stopped a misbehaving guest: vcpu_run 0, guest_failed, the last
 * exit and a reason containing needle. */
int backend_check_failed(struct selftest_ctx *ctx, const char *what, int r, const struct vcpu_run *run,
			 enum vexit last, const char *needle);

/* The contract, on t's VM: every guest kind, the entry faults, max_exits=0,
 * slot map/unmap/remap, then the backend's NMI check. */
int backend_test_guests(struct selftest_ctx *ctx, struct backend_test *t);
/* The snapshot says the firmware turned the technology off while the
 * injection point is armed once, and the point is spent afterwards. */
int backend_test_firmware_off(struct selftest_ctx *ctx, struct backend_test *t);

/* The parts of a backend self-test. */
#define BACKEND_TEST_SNAPSHOT 1u   /* b->snapshot and the firmware-off injection */
#define BACKEND_TEST_GUESTS   2u   /* backend_test_guests on a test VM */
#define BACKEND_TEST_ON_OFF   4u   /* b->on_off, unless the backend was already on here */
/* Run those parts on this CPU (*cpu, if not NULL, says which) and put
 * everything back.  0, -1 (failed, in ctx), or 1: the technology is
 * unusable here and nothing was tested (noted in ctx). */
int backend_selftest(struct selftest_ctx *ctx, const struct backend_checks *b, unsigned parts, unsigned *cpu);

/* bench: ns per exit of the normal guest, one sample per 1000 exits. */
unsigned backend_bench_exit(const struct backend_checks *b, uint64_t *samples, unsigned max);
/* Register that benchmark as `name` for the backend's table. */
#define BACKEND_BENCH_EXIT(name, checks)                                  \
	static unsigned bench_##name(uint64_t *samples, unsigned max)      \
	{                                                                  \
		return backend_bench_exit(&(checks), samples, max);        \
	}                                                                  \
	BENCH(name, "ns", bench_##name)
#endif
