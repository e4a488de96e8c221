/*
 * How lockdep reports: the graph lock, the on/off switch, report framing,
 * the counters, the short list of violations the console shows, and the
 * expect windows of selftests that plant a bug on purpose.
 *
 * Every report is printed between two banner lines, every line prefixed
 * "lockdep: ", while holding graph_lock, so reports from several CPUs never
 * interleave and the graph they describe cannot change underneath them.
 */
#include <vigil/atomic.h>
#include <vigil/cmdline.h>
#include <vigil/lockdep.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/spinlock.h>
#include <vigil/string.h>

#include "lockdep_internal.h"

static raw_spinlock_t graph_lock = RAW_SPIN_LOCK_UNLOCKED;
static bool turned_off;        /* a table overflowed */

static unsigned nr_violations;
static unsigned nr_expected;   /* ever, for the stats */
static bool expect_active;
static unsigned expect_count;  /* in the current window */

static char kept[LOCKDEP_MAX_VIOLATIONS][LOCKDEP_SUMMARY_MAX];
static unsigned nr_kept;

/* (kind, site) pairs already reported: a check inside a loop reports once. */
#define MAX_SITES 128
static struct {
	const char *kind;
	const char *site;
} sites_seen[MAX_SITES];
static unsigned nr_sites_seen;

unsigned long lockdep_graph_lock(void)
{
	/* Interrupts off: an interrupt handler taking a lock on this CPU would
	 * otherwise spin on graph_lock forever.  The bare ticket lock: the
	 * preemption counter is the scheduler's, and irqs-off already pins us. */
	unsigned long flags = arch_irq_save();

	__raw_spin_lock(&graph_lock);
	return flags;
}

void lockdep_graph_unlock(unsigned long flags)
{
	__raw_spin_unlock(&graph_lock);
	arch_irq_restore(flags);
}

bool lockdep_enabled(void)
{
	return !__atomic_load_n(&turned_off, __ATOMIC_RELAXED) && boot_params()->lockdep;
}

void lockdep_turn_off(const char *why)
{
	if (__atomic_exchange_n(&turned_off, true, __ATOMIC_RELAXED))
		return;
	printk(LD_PREFIX "%s: turning lockdep off\n", why);
}

bool lockdep_expecting(void)
{
	return __atomic_load_n(&expect_active, __ATOMIC_RELAXED);
}

void lockdep_expect_begin(void)
{
	unsigned long flags = lockdep_graph_lock();

	__atomic_store_n(&expect_active, true, __ATOMIC_RELAXED);
	expect_count = 0;
	lockdep_graph_unlock(flags);
}

unsigned lockdep_expect_end(void)
{
	unsigned long flags = lockdep_graph_lock();
	unsigned n = expect_count;

	__atomic_store_n(&expect_active, false, __ATOMIC_RELAXED);
	expect_count = 0;
	lockdep_graph_unlock(flags);
	return n;
}

bool lockdep_site_first(const char *kind, const char *site)
{
	if (expect_active)
		return true;
	for (unsigned i = 0; i < nr_sites_seen; i++) {
		/* Sites and kinds are string literals: compare pointers first,
		 * then text (the same literal may be duplicated per object). */
		if ((sites_seen[i].site == site || (site && sites_seen[i].site &&
						    !strcmp(sites_seen[i].site, site))) &&
		    !strcmp(sites_seen[i].kind, kind))
			return false;
	}
	if (nr_sites_seen < MAX_SITES) {
		sites_seen[nr_sites_seen].kind = kind;
		sites_seen[nr_sites_seen].site = site;
		nr_sites_seen++;
	}
	return true;
}

void lockdep_describe_current(char *buf, size_t size)
{
	struct task *t = current_task();

	if (t)
		snprintf(buf, size, "%s/%u on cpu %u", task_name(t), task_id(t), smp_processor_id());
	else
		snprintf(buf, size, "(no task) on cpu %u", smp_processor_id());
}

static const char banner[] = LD_PREFIX "======================================================\n";

void lockdep_report_begin(const char *title)
{
	printk("%s", banner);
	printk(LD_PREFIX "%s\n", title);
	if (expect_active)
		printk(LD_PREFIX "(expected: planted by a self-test, not counted as a violation)\n");
}

/* Append s to the summary, replacing what would break the key=value line
 * format (blanks, '=', ',') so a name like "&(x)->lock" stays one token. */
static size_t put_token(char *buf, size_t pos, size_t size, const char *s)
{
	for (; s && *s && pos + 1 < size; s++) {
		char c = *s;
		if (c <= ' ' || c > '~' || c == '=' || c == ',')
			c = '_';
		buf[pos++] = c;
	}
	buf[pos] = '\0';
	return pos;
}

static size_t put_text(char *buf, size_t pos, size_t size, const char *s)
{
	while (*s && pos + 1 < size)
		buf[pos++] = *s++;
	buf[pos] = '\0';
	return pos;
}

void lockdep_report_end(const char *kind, const uint16_t *classes, unsigned nclasses,
			const char *site)
{
	printk("%s", banner);
	if (expect_active) {
		expect_count++;
		nr_expected++;
		return;
	}
	nr_violations++;
	if (nr_kept >= LOCKDEP_MAX_VIOLATIONS)
		return;

	char *s = kept[nr_kept];
	size_t size = LOCKDEP_SUMMARY_MAX, pos;
	char num[16];
	struct task *t = current_task();

	snprintf(num, sizeof(num), "%u", nr_violations);
	pos = put_text(s, 0, size, "violation=");
	pos = put_text(s, pos, size, num);
	pos = put_text(s, pos, size, " kind=");
	pos = put_token(s, pos, size, kind);
	pos = put_text(s, pos, size, " locks=");
	if (!nclasses)
		pos = put_text(s, pos, size, "-");
	for (unsigned i = 0; i < nclasses; i++) {
		if (i)
			pos = put_text(s, pos, size, ",");
		pos = put_token(s, pos, size, lockdep_class_name(classes[i]));
	}
	pos = put_text(s, pos, size, " task=");
	pos = put_token(s, pos, size, t ? task_name(t) : "-");
	pos = put_text(s, pos, size, " site=");
	put_token(s, pos, size, site ? site : "-");
	nr_kept++;
}

void lockdep_report_misuse(const char *kind, const struct lockdep_map *map, const char *site,
			   const char *what)
{
	struct lockdep_task *lt = lockdep_current();

	if (!lockdep_enabled() || (lt && lt->recursion))
		return;
	if (lt)
		lt->recursion++;
	/* The class, if the lock has been acquired before (the report must not
	 * register classes: the map may be garbage). */
	uint16_t cls[1];
	unsigned ncls = 0;
	uint16_t cache = __atomic_load_n(&map->class_cache, __ATOMIC_ACQUIRE);
	if (cache) {
		cls[0] = (uint16_t)(cache - 1);
		ncls = 1;
	}
	char who[64];
	lockdep_describe_current(who, sizeof(who));

	unsigned long flags = lockdep_graph_lock();
	if (lockdep_site_first(kind, site)) {
		lockdep_report_begin("WARNING: bad unlock balance or ownership detected");
		printk(LD_PREFIX "%s\n", what);
		printk(LD_PREFIX "task %s at %s: lock %s\n", who, site ? site : "?",
		       map->name ? map->name : "?");
		if (lt)
			lockdep_print_held(lt);
		lockdep_report_end(kind, cls, ncls, site);
	}
	lockdep_graph_unlock(flags);
	if (lt)
		lt->recursion--;
}

void lockdep_get_stats(struct lockdep_stats *st)
{
	unsigned long flags = lockdep_graph_lock();

	st->classes = lockdep_nr_classes();
	st->deps = lockdep_nr_deps();
	st->violations = nr_violations;
	st->expected = nr_expected;
	st->kept = nr_kept;
	st->enabled = lockdep_enabled();
	lockdep_graph_unlock(flags);
}

bool lockdep_violation_line(unsigned i, char *buf, size_t size)
{
	unsigned long flags = lockdep_graph_lock();
	bool ok = i < nr_kept;

	if (ok && size)
		put_text(buf, 0, size, kept[i]);
	lockdep_graph_unlock(flags);
	return ok;
}
