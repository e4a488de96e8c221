/*
 * Benches of the VMX live-vCPU operations (vmx_vcpu.c), on the hypercall
 * loop guest (GUEST_HCLOOP), on the CPU the bench runs on:
 *
 *   vmx_exit_raw    ns per round trip of a bare VMRESUME / VMCALL loop,
 *                   interrupts off: the hardware's (or the emulator's)
 *                   round trip plus the least software there can be.
 *   vmx_exit_live   the same guest through vcpu_load / vcpu_enter /
 *                   vcpu_handle_exit, interrupts on between entries as in
 *                   the core's loop; logs the raw figure measured in the
 *                   same bench and the ratio, the burst path's figure, and
 *                   the decode and exit-layer costs per exit.
 *   vmx_exit_ratio  live / raw in percent, a raw and a live sample in turn.
 *
 * Where VMX is unusable they have no samples (refused, with the reason in
 * the log).  VMX turned on for the bench is turned off again.
 */
#include "vmx_vcpu_test.h"
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/string.h>
#include <vigil/task.h>

#define BENCH_ROUNDS 1000
#define BENCH_SAMPLES 16

/* ns per round trip of the bare loop: VMRESUME, the VMCALL exit, RIP past
 * it.  Interrupts off throughout (no interrupt exits), so the figure is the
 * hardware's (or the emulator's) round trip plus the least software there
 * can be.  0 on failure (why). */
static uint64_t raw_sample(struct vm *vm, char *why, size_t len)
{
	struct vmx_vm *vv = vm->arch;
	struct vmx_guest_regs regs = { 0 };
	uint64_t ns = 0;
	unsigned long flags = arch_irq_save();
	if (!vmx_this_cpu_on()) {
		arch_irq_restore(flags);
		snprintf(why, len, "VMX is off on CPU %u", smp_processor_id());
		return 0;
	}
	struct desc_ptr gdtr, idtr;
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("sidt %0" : "=m"(idtr));
	uint64_t vmcs = vmx_vmcs_load_new(why, len);
	if (vmcs) {
		struct vmcs_writer w = { 0 };
		vmx_vmcs_setup_host_and_controls(&w, vv->eptp);
		vmcs_w(&w, PIN_BASED_VM_EXEC_CONTROL, vmx_caps.pin & ~PIN_EXT_INTR_EXITING);
		if (vmx_guest_load(vm, GUEST_HCLOOP, &w, why, len) == 0 && !w.failed) {
			vmx_ept_flush_local(vv);
			int launched = 0;
			bool ok = true;
			uint64_t t0 = 0;
			/* Round 0 is the VMLAUNCH, not timed. */
			for (unsigned i = 0; i <= BENCH_ROUNDS && ok; i++) {
				if (i == 1)
					t0 = arch_time_ns();
				int r = vmx_enter(&regs, launched);
				uint32_t reason = r == VMX_OK ? (uint32_t)vmread(VM_EXIT_REASON) : ~0u;
				if (reason != EXIT_REASON_VMCALL) {
					snprintf(why, len, "raw loop: entry %d, exit reason 0x%x", r, reason);
					ok = false;
					break;
				}
				launched = 1;
				regs.g.rax = 0;
				vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(VM_EXIT_INSTRUCTION_LEN));
			}
			if (ok)
				ns = (arch_time_ns() - t0) / BENCH_ROUNDS;
		} else if (w.failed) {
			snprintf(why, len, "VMWRITE of field 0x%lx failed", (unsigned long)w.field);
		}
		vmx_vmcs_release(vmcs);
	}
	__asm__ volatile("lgdt %0" :: "m"(gdtr));
	__asm__ volatile("lidt %0" :: "m"(idtr));
	arch_irq_restore(flags);
	if (!ns && !why[0])
		snprintf(why, len, "no time measured");
	return ns;
}

/* ns per exit of the burst path (vm run's vcpu_run: decode, exit layer,
 * an interrupt window after every exit) on the same guest: between the
 * bare loop and the live ops, to tell where the time goes. */
static uint64_t burst_sample(struct vm *vm)
{
	struct vcpu_run run;
	memset(&run, 0, sizeof(run));
	run.guest = GUEST_HCLOOP;
	run.max_exits = BENCH_ROUNDS;
	if (vmx_vcpu_run(vm, &run) || run.guest_failed || !run.exits)
		return 0;
	return run.guest_ns / run.exits;
}

/* ns per round trip through the live ops; preemption off (the caller). */
static uint64_t live_sample(struct vcpu *vcpu, char *why, size_t len)
{
	/* Warm: loaded and launched before the clock starts. */
	enum vcpu_exit_action a = step(vcpu, why, len);
	if (a != VCPU_EXIT_CONTINUE)
		return 0;
	uint64_t t0 = arch_time_ns();
	for (unsigned i = 0; i < BENCH_ROUNDS; i++) {
		a = step(vcpu, why, len);
		if (a != VCPU_EXIT_CONTINUE) {
			if (!why[0])
				snprintf(why, len, "exit action %d", (int)a);
			return 0;
		}
	}
	return (arch_time_ns() - t0) / BENCH_ROUNDS;
}

/* Where the live path's time goes, per exit, right after a live sample
 * (its VMCS current, its last exit a VMCALL): the decode alone (VMREADs)
 * and the exit layer alone on that decoded exit.  Interrupts off. */
static void breakdown(struct vcpu *vcpu, uint64_t *decode_ns, uint64_t *layer_ns)
{
	struct vmx_exit_decoded *d = kzalloc(sizeof(*d));
	struct vcpu_run *acct = kzalloc(sizeof(*acct));
	*decode_ns = *layer_ns = 0;
	if (!d || !acct)
		goto out;
	unsigned long flags = arch_irq_save();
	uint64_t t0 = arch_time_ns();
	for (unsigned i = 0; i < BENCH_ROUNDS; i++)
		vmx_decode_exit(VMX_OK, 1, d);
	uint64_t t1 = arch_time_ns();
	struct vmx_guest_regs regs = { 0 };
	acct->guest = GUEST_HCLOOP;
	bool skip;
	uint64_t t2 = arch_time_ns();
	for (unsigned i = 0; i < BENCH_ROUNDS; i++) {
		regs.g.rax = acct->hypercalls + 1;  /* what the guest would pass */
		(void)vmx_exit_handle(vcpu->vm, acct, &regs, d, &skip);
	}
	uint64_t t3 = arch_time_ns();
	arch_irq_restore(flags);
	if (d->info.reason == VEXIT_HYPERCALL && !acct->guest_failed) {
		*decode_ns = (t1 - t0) / BENCH_ROUNDS;
		*layer_ns = (t3 - t2) / BENCH_ROUNDS;
	}
out:
	kfree(d);
	kfree(acct);
}

static int sort_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

static uint64_t median(uint64_t *v, unsigned n)
{
	/* insertion sort: n is small */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && sort_u64(&v[j - 1], &v[j]) > 0; j--) {
			uint64_t x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	return n ? v[n / 2] : 0;
}

enum bench_kind { BENCH_RAW, BENCH_LIVE, BENCH_RATIO };

/* The benches: raw only; live (with the raw loop and the burst path
 * measured alternately, logged with the ratio); or the ratio pair by pair
 * (a raw and a live sample in turn, live * 100 / raw). */
static unsigned bench_exit(const char *name, enum bench_kind kind, uint64_t *samples, unsigned max)
{
	bool live = kind != BENCH_RAW;
	char why[WHY_MAX] = "";
	if (vmx_probe(why, sizeof(why))) {
		printk("bench: %s: refused: VMX unavailable: %s\n", name, why);
		return 0;
	}
	struct live_test *t = kzalloc(sizeof(*t));
	if (!t)
		return 0;
	unsigned n = 0;
	uint64_t raw[BENCH_SAMPLES], burst[BENCH_SAMPLES];
	unsigned nraw = 0, nburst = 0;
	preempt_disable();
	unsigned cpu = smp_processor_id();
	preempt_enable();
	int old = sched_pin_current(cpu);
	if (vmx_on(t, cpu) || make_vm(t, GUEST_HCLOOP, 1)) {
		printk("bench: %s: setting up: %s\n", name, t->why);
		goto out;
	}
	if (max > BENCH_SAMPLES)
		max = BENCH_SAMPLES;
	preempt_disable();
	for (; n < max; n++) {
		why[0] = 0;
		uint64_t r = 0, l = 0;
		if (!live || kind == BENCH_RATIO || n % 2 == 0) {
			r = raw_sample(t->vm, why, sizeof(why));
			if (!r)
				break;
			raw[nraw++] = r;
		}
		if (kind == BENCH_LIVE && n % 2 == 1) {
			uint64_t b = burst_sample(t->vm);
			if (b)
				burst[nburst++] = b;
		}
		if (live) {
			l = live_sample(t->vcpus[0], why, sizeof(why));
			if (!l)
				break;
		}
		samples[n] = kind == BENCH_RATIO ? l * 100 / r : live ? l : r;
	}
	preempt_enable();
	if (n < max)
		printk("bench: %s: stopped after %u samples: %s\n", name, n, why);
	if (kind == BENCH_LIVE && n && nraw) {
		uint64_t copy[BENCH_SAMPLES];
		memcpy(copy, samples, n * sizeof(copy[0]));
		uint64_t lm = median(copy, n), rm = median(raw, nraw), bm = median(burst, nburst);
		uint64_t pct = rm ? lm * 100 / rm : 0;
		const struct vcpu_run *run = &t->vcpus[0]->run;
		printk("bench: vmx_exit_live: %lu ns per round trip through the live ops, %lu ns bare (vmx_exit_raw, "
		       "same boot), ratio %lu.%02lu\n", (unsigned long)lm, (unsigned long)rm, (unsigned long)(pct / 100),
		       (unsigned long)(pct % 100));
		uint64_t dec = 0, layer = 0;
		preempt_disable();
		if (step(t->vcpus[0], why, sizeof(why)) == VCPU_EXIT_CONTINUE)
			breakdown(t->vcpus[0], &dec, &layer);
		preempt_enable();
		printk("bench: vmx_exit_live: burst path (vcpu_run) %lu ns per exit; of the live path, decode %lu ns, "
		       "exit layer %lu ns; live vCPU exits: %lu, %lu hypercalls, %lu interrupt exits\n", (unsigned long)bm,
		       (unsigned long)dec, (unsigned long)layer, (unsigned long)run->exits,
		       (unsigned long)run->hypercalls, (unsigned long)run->exit_count[VEXIT_INTR]);
	}
out:
	destroy_vm(t);
	vmx_off(t, cpu);
	sched_bind_current(old);
	kfree(t);
	return n;
}

static unsigned bench_vmx_exit_raw(uint64_t *samples, unsigned max)
{
	return bench_exit("vmx_exit_raw", BENCH_RAW, samples, max);
}
BENCH(vmx_exit_raw, "ns", bench_vmx_exit_raw);

static unsigned bench_vmx_exit_live(uint64_t *samples, unsigned max)
{
	return bench_exit("vmx_exit_live", BENCH_LIVE, samples, max);
}
BENCH(vmx_exit_live, "ns", bench_vmx_exit_live);

static unsigned bench_vmx_exit_ratio(uint64_t *samples, unsigned max)
{
	return bench_exit("vmx_exit_ratio", BENCH_RATIO, samples, max);
}
BENCH(vmx_exit_ratio, "%", bench_vmx_exit_ratio);

