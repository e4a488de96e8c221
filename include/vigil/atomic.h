/*
 * Atomics and memory barriers: thin wrappers over the GCC __atomic builtins,
 * named as in Linux so the locking code reads like the literature.
 *
 * Ordering vocabulary:
 *   READ_ONCE/WRITE_ONCE      one untorn access, no ordering (relaxed)
 *   smp_load_acquire          later accesses stay after it
 *   smp_store_release         earlier accesses stay before it
 *   smp_mb                    full barrier: no load or store crosses it, and
 *                             stores before it are visible before loads after
 *                             it are satisfied (the Dekker pattern needs this;
 *                             acquire/release does not give store->load order)
 *
 * Under ThreadSanitizer (host tests) a stand-alone fence is not supported
 * (GCC rejects it with -Werror=tsan), so smp_mb() becomes a sequentially
 * consistent read-modify-write of a stack slot: on x86 that is the same
 * "lock; add $0" Linux uses for smp_mb(), so the hardware ordering the code
 * relies on is still there; TSan just does not see it as synchronization,
 * which is why the locks pair every smp_mb() that hands data over with an
 * explicit release/acquire as well.
 */
#ifndef VIGIL_ATOMIC_H
#define VIGIL_ATOMIC_H

#include <vigil/types.h>

#define barrier() __asm__ __volatile__("" ::: "memory")

#define READ_ONCE(x)      __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)  __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_load_acquire(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#if defined(__SANITIZE_THREAD__)
#define smp_mb() do {                                                   \
	int __mb_slot = 0;                                              \
	__atomic_fetch_add(&__mb_slot, 0, __ATOMIC_SEQ_CST);            \
	barrier();                                                      \
} while (0)
#define smp_rmb() smp_mb()
#define smp_wmb() smp_mb()
#else
#define smp_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

/* Spin-wait hint (x86: PAUSE; host: yield the thread so a waiter on a busy
 * 2-core machine lets the lock holder run).  Provided by the architecture. */
void arch_cpu_relax(void);
static inline void cpu_relax(void)
{
	arch_cpu_relax();
}

/* ---- atomic_t: an int only touched atomically ---- */

typedef struct {
	int counter;
} atomic_t;

#define ATOMIC_INIT(v) { (v) }

static inline int atomic_read(const atomic_t *a)
{
	return __atomic_load_n(&a->counter, __ATOMIC_RELAXED);
}

static inline void atomic_set(atomic_t *a, int v)
{
	__atomic_store_n(&a->counter, v, __ATOMIC_RELAXED);
}

static inline int atomic_read_acquire(const atomic_t *a)
{
	return __atomic_load_n(&a->counter, __ATOMIC_ACQUIRE);
}

static inline void atomic_set_release(atomic_t *a, int v)
{
	__atomic_store_n(&a->counter, v, __ATOMIC_RELEASE);
}

/* Value-returning read-modify-writes are fully ordered, as in Linux. */
static inline int atomic_add_return(atomic_t *a, int v)
{
	return __atomic_add_fetch(&a->counter, v, __ATOMIC_SEQ_CST);
}

static inline int atomic_sub_return(atomic_t *a, int v)
{
	return __atomic_sub_fetch(&a->counter, v, __ATOMIC_SEQ_CST);
}

static inline int atomic_fetch_add(atomic_t *a, int v)
{
	return __atomic_fetch_add(&a->counter, v, __ATOMIC_SEQ_CST);
}

static inline int atomic_inc_return(atomic_t *a)
{
	return atomic_add_return(a, 1);
}

static inline int atomic_dec_return(atomic_t *a)
{
	return atomic_sub_return(a, 1);
}

static inline bool atomic_dec_and_test(atomic_t *a)
{
	return atomic_sub_return(a, 1) == 0;
}

/* Non-returning ones promise atomicity only. */
static inline void atomic_add(atomic_t *a, int v)
{
	__atomic_fetch_add(&a->counter, v, __ATOMIC_RELAXED);
}

static inline void atomic_sub(atomic_t *a, int v)
{
	__atomic_fetch_sub(&a->counter, v, __ATOMIC_RELAXED);
}

static inline void atomic_inc(atomic_t *a)
{
	atomic_add(a, 1);
}

static inline void atomic_dec(atomic_t *a)
{
	atomic_sub(a, 1);
}

static inline int atomic_xchg(atomic_t *a, int v)
{
	return __atomic_exchange_n(&a->counter, v, __ATOMIC_SEQ_CST);
}

/* Returns the value found; the store happened iff it equals old. */
static inline int atomic_cmpxchg(atomic_t *a, int old, int new_val)
{
	__atomic_compare_exchange_n(&a->counter, &old, new_val, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return old;
}

/* Generic pointer/integer compare-and-exchange on any naturally aligned
 * object; true when *p held old and now holds new_val. */
#define cmpxchg_bool(p, old, new_val) ({                                     \
	__typeof__(*(p)) __old = (old);                                     \
	__atomic_compare_exchange_n((p), &__old, (new_val), false,          \
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);    \
})

#endif
