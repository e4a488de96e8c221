"""The stress of host invalidation on a live VM (docs/invalidation.md,
"Stress"), shared by the scenario in `make check` (vm_mem_inval_stress.py,
a size that fits CI) and the large runs of `make stress-inval`
(tests/stress/).

The pattern guest writes and checks its areas on every vCPU; host tasks
(`vm mem churn`) migrate and reclaim random ranges of exactly those areas,
some reclaims nesting a migration; a slot churn in a task of its own splits,
merges, grows and shrinks the slot holding them and moves another; CPUs go
offline and online and the machine suspends, in cycles, until at least
`min_invalidations` invalidations were made.  Then:

- no guest memory error, no MMIO exit, every vCPU running and making
  progress: no write was lost (a write after a migration landed in the new
  page, else the guest's check reads the old data) and no fault retried
  for ever;
- the churn's invalidations were never refused;
- every slot swap completed (swaps == slot updates, none waiting), swaps
  really waited for open invalidations (swap_waits > 0), and no start and
  end of one invalidation saw two slot arrays (mismatches == 0);
- nothing open at the end (active == in_progress == 0) and `check` passes.

The figures (invalidations/s, retries per invalidation, the most retries
of one fault, swap latency) go to the notes."""

import time

from _live import AREA, AREAS, data_slot_vm, vm_stat, wait_progress


def inval_rec(s, vm):
    recs = [r for r in s.ok("mmu_inval").records if r.get("vm") == "vm%s" % vm]
    s.eq(len(recs), 1, "one mmu_inval record for vm%s" % vm)
    return recs[0] if recs else {}


def run(s, min_invalidations, min_cycles=4, gap_us=200, tasks=2, seed=1, max_cycles=1000):
    vm, n, data, mover = data_slot_vm(s)
    cpus = s.smp
    inv0 = inval_rec(s, vm)
    slot0 = s.ok("vm slot stat %s" % vm).records[0]
    _, vcpus0 = vm_stat(s, vm)
    s.ok("vm mem churn %s gpa=0x%x size=0x%x tasks=%d pages=4 reclaim=30 nest=30 gap_us=%d seed=%d"
         % (vm, AREAS, n * AREA, tasks, gap_us, seed))
    t0 = time.monotonic()
    cycles = 0
    split_medians, split_maxes = [], []
    while True:
        cycles += 1
        s.ok("vm slot churn %s %s rounds=20 move=%s bg=1" % (vm, data, mover))
        cpu = 1 + cycles % (cpus - 1)
        s.ok("cpu offline %d" % cpu, timeout=s.scaled(120))
        s.ok("cpu online %d" % cpu, timeout=s.scaled(120))
        if cycles % 2 == 0:
            s.ok("suspend", timeout=s.scaled(120))
        rec = s.ok("vm slot churnwait %s" % vm, timeout=s.scaled(600)).records[0]
        split_medians.append(int(rec["split_median_ns"]))
        split_maxes.append(int(rec["split_max_ns"]))
        done = int(inval_rec(s, vm).get("starts", 0)) - int(inv0.get("starts", 0))
        if (done >= min_invalidations and cycles >= min_cycles) or cycles >= max_cycles:
            break
    _, vcpus1 = vm_stat(s, vm)
    st = s.ok("vm mem churnstop %s" % vm, timeout=s.scaled(120)).records[0]
    wall = time.monotonic() - t0
    s.note("memchurn: %s (%d cycles of slot churn + cpu offline/online (+ suspend every other), %.0f s wall)"
           % (st, cycles, wall))
    s.eq(st["errors"], "0", "no invalidation refused")
    s.check(int(st["invalidations"]) >= min_invalidations,
            "at least %d invalidations (%s in %d cycles)" % (min_invalidations, st["invalidations"], cycles))
    s.check(int(st["nested"]) > 0 and int(st["reclaims"]) > 0 and int(st["migrations"]) > 0,
            "migrations, reclaims and nested ones all ran (%s)" % st)
    # The guest really wrote and checked under the churn: passes made while
    # it ran (each pass writes and reads back the vCPU's whole area).
    passes = [int(b["progress"]) - int(a["progress"]) for a, b in zip(vcpus0, vcpus1)]
    s.note("guest passes during the stress, per vCPU: %s" % passes)
    s.check(min(passes) >= 2, "every vCPU wrote and checked its area during the stress (%s)" % passes)

    _, vcpus = wait_progress(s, vm, "after the stress", no_mmio=True)
    for v in vcpus:
        s.eq((v["state"], v["errors"]), ("running", "0"), "vCPU %s after the stress" % v["vcpu"])
    slot1 = s.ok("vm slot stat %s" % vm).records[0]
    inv1 = inval_rec(s, vm)
    s.note("mmu_inval: %s" % inv1)
    s.note("vCPU fault retries: %s" % ", ".join("vcpu%s %s (max %s in a row)" % (
        v["vcpu"], v["fault_retries"], v["max_fault_retries"]) for v in vcpus))
    d = lambda k: int(inv1.get(k, 0)) - int(inv0.get(k, 0))  # noqa: E731
    updates = int(slot1["updates"]) - int(slot0["updates"])
    s.eq((inv1.get("active"), inv1.get("in_progress"), inv1.get("swap_waiting")), ("0", "0", "0"),
         "no invalidation open and no swap waiting at the end")
    s.eq(inv1.get("mismatches"), "0", "no invalidation saw two slot arrays")
    s.eq(d("swaps"), updates, "every slot update published its swap (%d)" % updates)
    s.check(d("swap_waits") > 0, "swaps waited for open invalidations (%d of %d)" % (d("swap_waits"), d("swaps")))
    r = s.cmd("check", timeout=s.scaled(60))
    s.check(r.status == "ok", "check after the stress: %s" % r.error, r.text())
    invals = int(st["invalidations"])
    split_medians.sort()
    s.note("figures: invalidations=%d per_s=%s retries_per_kinval=%d max_retries=%s swap_waits=%d/%d "
           "swap_wait_us_max=%s split_median_ns=%d split_max_ns=%d"
           % (invals, st["per_s"], d("retries") * 1000 // max(invals, 1), inv1.get("max_retries"),
              d("swap_waits"), d("swaps"), inv1.get("swap_wait_us_max"),
              split_medians[len(split_medians) // 2], max(split_maxes)))
    s.ok("vm stop %s" % vm)
    s.ok("vm destroy %s" % vm)
