/*
 * Host invalidations in the background: `vm mem churn` starts tasks that
 * migrate and reclaim random ranges of one region of a VM's guest memory,
 * some of them nesting a migration inside a reclaim, until `vm mem
 * churnstop` (docs/invalidation.md, "Stress").  They run concurrently with
 * each other, with the guest's vCPUs, with slot updates (`vm slot churn
 * bg=1`), with CPU hotplug and suspend from the console: the stress of the
 * invalidation protocol on real VMs and the load of its benches.
 *
 * One churn at a time on the machine (the console starts and stops it).
 */
#include <vigil/arch.h>
#include <vigil/memslot.h>
#include <vigil/mmu_invalidate.h>
#include <vigil/printk.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include "virt_internal.h"

struct churn_task {
	struct task *task;
	unsigned index;
	uint64_t rng;
	uint64_t invalidations, migrations, reclaims, nested;
	uint64_t pages, kept, nested_pages;
	uint64_t errors;
	char why[WHY_MAX];             /* the first error */
};

static struct {
	bool running;
	unsigned vm, ntasks;
	uint64_t gpa, size, max_pages;
	unsigned reclaim_pct, nest_pct;
	uint64_t gap_ns;
	int stop;                      /* atomic: the tasks finish their invalidation and return */
	uint64_t t0;
	struct churn_task t[VM_MEM_CHURN_TASKS_MAX];
} churn;

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64*: reproducible from seed= for a given interleaving. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* A random page-aligned range of 1..max_pages pages inside the region. */
static void pick(uint64_t *rng, uint64_t *gpa, uint64_t *size)
{
	uint64_t region_pages = churn.size >> PAGE_SHIFT;
	uint64_t first = next_rand(rng) % region_pages;
	uint64_t n = 1 + next_rand(rng) % churn.max_pages;
	if (n > region_pages - first)
		n = region_pages - first;
	*gpa = churn.gpa + (first << PAGE_SHIFT);
	*size = n << PAGE_SHIFT;
}

static void churn_fn(void *arg)
{
	struct churn_task *ct = arg;
	while (!__atomic_load_n(&churn.stop, __ATOMIC_ACQUIRE)) {
		struct vm_mem_inval_req req;
		struct vm_mem_inval_res res;
		pick(&ct->rng, &req.gpa, &req.size);
		req.migrate = next_rand(&ct->rng) % 100 >= churn.reclaim_pct;
		req.nest_gpa = req.nest_size = 0;
		if (!req.migrate && next_rand(&ct->rng) % 100 < churn.nest_pct)
			pick(&ct->rng, &req.nest_gpa, &req.nest_size);
		char why[WHY_MAX];
		int r = vm_mem_invalidate(churn.vm, &req, &res, why, sizeof(why));
		/* vm_mem_churn_count() reads it while we run. */
		__atomic_add_fetch(&ct->invalidations, 1 + (req.nest_size != 0), __ATOMIC_RELAXED);
		ct->pages += res.pages;
		ct->kept += res.kept;
		ct->nested_pages += res.nested_pages;
		if (req.migrate)
			ct->migrations++;
		else
			ct->reclaims++;
		ct->nested += req.nest_size != 0;
		if (r && !ct->errors++)
			snprintf(ct->why, sizeof(ct->why), "%s", why);
		/* Let the console, the vCPUs and the slot churn in on a machine
		 * with fewer CPUs than busy tasks. */
		if (churn.gap_ns)
			sleep_ns(churn.gap_ns);
		else
			schedule();
	}
}

int vm_mem_churn_begin(const struct vm_mem_churn_cfg *cfg, char *why, size_t len)
{
	if (churn.running)
		return why_fail(why, len, WHY_OTHER, "a memory churn is already running on VM %u ('vm mem churnstop %u')",
				churn.vm, churn.vm);
	if (!cfg->tasks || cfg->tasks > VM_MEM_CHURN_TASKS_MAX || !cfg->max_pages || cfg->reclaim_pct > 100 ||
	    cfg->nest_pct > 100)
		return why_fail(why, len, WHY_OTHER, "tasks 1-%u, pages >= 1, percentages 0-100",
				VM_MEM_CHURN_TASKS_MAX);
	/* Bad ranges are refused here, before any task starts: one migration
	 * of the whole region (it also checks that the VM exists). */
	struct vm_mem_inval_res res;
	struct vm_mem_inval_req whole = { .migrate = true, .gpa = cfg->gpa, .size = cfg->size };
	int r = vm_mem_invalidate(cfg->vm, &whole, &res, why, len);
	if (r)
		return r;
	memset(&churn, 0, sizeof(churn));
	churn.vm = cfg->vm;
	churn.gpa = cfg->gpa;
	churn.size = cfg->size;
	churn.max_pages = cfg->max_pages;
	churn.reclaim_pct = cfg->reclaim_pct;
	churn.nest_pct = cfg->nest_pct;
	churn.gap_ns = cfg->gap_ns;
	churn.t0 = arch_time_ns();
	for (unsigned i = 0; i < cfg->tasks; i++) {
		struct churn_task *ct = &churn.t[i];
		ct->index = i;
		ct->rng = cfg->seed * 0x9e3779b97f4a7c15ull + i + 1;
		ct->task = kthread_run(churn_fn, ct, TASK_ANY_CPU, "memchurn");
		if (!ct->task) {
			__atomic_store_n(&churn.stop, 1, __ATOMIC_RELEASE);
			for (unsigned j = 0; j < i; j++)
				kthread_join(churn.t[j].task);
			return why_fail(why, len, WHY_NOMEM, "out of memory for memory churn task %u", i);
		}
		churn.ntasks++;
	}
	churn.running = true;
	return 0;
}

uint64_t vm_mem_churn_count(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < churn.ntasks; i++)
		n += __atomic_load_n(&churn.t[i].invalidations, __ATOMIC_RELAXED);
	return n;
}

int vm_mem_churn_end(unsigned vm, struct vm_mem_churn_stats *st, char *why, size_t len)
{
	if (!churn.running || churn.vm != vm)
		return why_fail(why, len, WHY_OTHER,
				"no memory churn on VM %u (start one with 'vm mem churn %u gpa=<a> size=<s>')", vm, vm);
	__atomic_store_n(&churn.stop, 1, __ATOMIC_RELEASE);
	*st = (struct vm_mem_churn_stats){ .tasks = churn.ntasks };
	const char *first_why = NULL;
	for (unsigned i = 0; i < churn.ntasks; i++) {
		struct churn_task *ct = &churn.t[i];
		kthread_join(ct->task);
		st->invalidations += ct->invalidations;
		st->migrations += ct->migrations;
		st->reclaims += ct->reclaims;
		st->nested += ct->nested;
		st->pages += ct->pages;
		st->kept += ct->kept;
		st->nested_pages += ct->nested_pages;
		st->errors += ct->errors;
		if (ct->errors && !first_why)
			first_why = ct->why;
	}
	st->ns = arch_time_ns() - churn.t0;
	churn.running = false;
	/* The reason has spaces: a log line, not a data line. */
	if (first_why)
		printk("memchurn: vm %u: first error: %s\n", vm, first_why);
	return 0;
}

static int churn_start(struct shell_ctx *ctx, unsigned id, int argc, char **argv)
{
	uint64_t tasks = 2, pages = 4, reclaim = 30, nest = 20, seed = 1, gap_us = 0;
	struct vm_mem_churn_cfg cfg = { .vm = id };
	bool have_gpa = false, have_size = false;
	const struct shell_opt opts[] = {
		{ .key = "gpa", .type = SHELL_OPT_U64, .u64 = &cfg.gpa, .given = &have_gpa },
		{ .key = "size", .type = SHELL_OPT_U64, .u64 = &cfg.size, .given = &have_size },
		SHELL_OPT_RANGE("tasks", 1, VM_MEM_CHURN_TASKS_MAX, &tasks),
		SHELL_OPT_RANGE("pages", 1, 64, &pages),
		SHELL_OPT_RANGE("reclaim", 0, 100, &reclaim),
		SHELL_OPT_RANGE("nest", 0, 100, &nest),
		SHELL_OPT_RANGE("seed", 1, UINT64_MAX, &seed),
		SHELL_OPT_RANGE("gap_us", 0, 1000000, &gap_us),
	};
	if (shell_parse_opts(ctx, argc, argv, opts, ARRAY_SIZE(opts)))
		return -1;
	if (!have_gpa || !have_size)
		return shell_error(ctx, "usage: vm mem churn <vm> gpa=<a> size=<s> [tasks=<1-%u>] [pages=<max>] "
				   "[reclaim=<%%>] [nest=<%% of reclaims>] [gap_us=<pause>] [seed=<k>]", VM_MEM_CHURN_TASKS_MAX);
	cfg.tasks = (unsigned)tasks;
	cfg.max_pages = pages;
	cfg.reclaim_pct = (unsigned)reclaim;
	cfg.nest_pct = (unsigned)nest;
	cfg.seed = seed;
	cfg.gap_ns = gap_us * 1000;
	char why[WHY_MAX];
	if (vm_mem_churn_begin(&cfg, why, sizeof(why)))
		return shell_error(ctx, "%s", why);
	shell_printf(ctx, "vm=%u op=memchurn started=1 tasks=%u\n", id, cfg.tasks);
	return 0;
}

static int churn_stop(struct shell_ctx *ctx, unsigned id)
{
	char why[WHY_MAX];
	struct vm_mem_churn_stats st;
	if (vm_mem_churn_end(id, &st, why, sizeof(why)))
		return shell_error(ctx, "%s", why);
	/* Invalidations per second, from the tasks' own count and time. */
	uint64_t per_s = st.ns ? st.invalidations * 1000000000ull / st.ns : 0;
	shell_printf(ctx,
		     "vm=%u op=memchurn tasks=%u invalidations=%lu migrations=%lu reclaims=%lu nested=%lu pages=%lu "
		     "kept=%lu nested_pages=%lu errors=%lu ns=%lu per_s=%lu\n",
		     id, st.tasks, (unsigned long)st.invalidations, (unsigned long)st.migrations,
		     (unsigned long)st.reclaims, (unsigned long)st.nested, (unsigned long)st.pages,
		     (unsigned long)st.kept, (unsigned long)st.nested_pages, (unsigned long)st.errors,
		     (unsigned long)st.ns, (unsigned long)per_s);
	return 0;
}

int vm_mem_churn_cmd(struct shell_ctx *ctx, unsigned id, bool start, int argc, char **argv)
{
	return start ? churn_start(ctx, id, argc, argv) : churn_stop(ctx, id);
}
