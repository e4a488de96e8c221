"""Host invalidation of a live VM's guest memory (docs/invalidation.md):
`vm mem migrate` moves the backing frames of a range to new frames while
the pattern guest's 2 vCPUs write and check their areas there; `vm mem
reclaim` takes frames away.  Each is bracketed by the VM's invalidation
range start/end; a nested page fault inside the range retries.

- 200 migrations of the vCPUs' pattern areas while they run: no guest
  memory error, every vCPU goes on, no MMIO exit, `check` passes (its
  memslot_inval invariant covers the VM's in_progress), the VM's
  `mmu_inval` record shows the starts, faults and no open invalidation;
- a value written with `vm mem write`, then migrated, reads back (no
  write lost);
- reclaim takes pages away and the next touch faults them back with their
  data (zeros for a page that held zeros); reclaims that migrate another
  range inside their bracket (nested) leave the guest unharmed;
- bad ranges are named errors that change nothing;
- the same migrations in the old design (memslot_inval=rwsem): the guest
  is unharmed there too (no nesting on this path).

SVM under QEMU TCG; the live migrations also VMX under Bochs."""


from harness.scenario import scenario
from _live import vm_stat, wait_progress
from _targets import BOCHS_2, QEMU_SVM2

GROUPS = ("virt",)

AREAS = 0x22000        # the pattern guest's areas start here (asm/vexit.h)
AREA = 0x4000          # one vCPU's area
SPARE = 0x30000        # above the areas of 2 vCPUs: the guest never touches it
ROUNDS = 200


def _inval_rec(s, vm):
    recs = [r for r in s.ok("mmu_inval").records if r.get("vm") == "vm%s" % vm]
    s.eq(len(recs), 1, "one mmu_inval record for vm%s" % vm)
    return recs[0] if recs else {}


def _migrate_rounds(s, vm, rounds, bench="vm_mem_migrate_8p_live"):
    """rounds migrations over the pattern areas; the bench line of the
    whole-area ones (8 pages) from their ns= figures."""
    size = 2 * AREA
    ns = []
    for i in range(rounds):
        # Alternate the whole areas, one page, and each vCPU's area.
        if i % 3 == 0:
            gpa, sz = AREAS, size
        elif i % 3 == 1:
            gpa, sz = AREAS + (i % 8) * 0x1000, 0x1000
        else:
            gpa, sz = AREAS + (i % 2) * AREA, AREA
        r = s.ok("vm mem migrate %s gpa=0x%x size=0x%x" % (vm, gpa, sz))
        s.eq(r.records[0]["pages"], str(sz // 0x1000), "pages migrated")
        if sz == size:
            ns.append(int(r.records[0]["ns"]))
    ns.sort()
    s.note("bench=%s median=%d min=%d max=%d unit=ns samples=%d" %
           (bench, ns[len(ns) // 2], ns[0], ns[-1], len(ns)))


@scenario(targets=[QEMU_SVM2], cmdline="memslot_inval=rwsem", timeout=600)
def vm_mem_migrate_rwsem(s):
    vm = s.ok("vm create vcpus=2 mem=256K").records[0]["vm"]
    s.ok("vm start %s" % vm)
    wait_progress(s, vm, "after start", no_mmio=True)
    _migrate_rounds(s, vm, 50, "vm_mem_migrate_8p_live_rwsem")
    wait_progress(s, vm, "after the migrations", no_mmio=True)
    s.ok("check")
    rec = _inval_rec(s, vm)
    s.eq((rec.get("design"), rec.get("active"), rec.get("in_progress")), ("rwsem", "0", "0"),
         "rwsem design, no invalidation open")
    s.ok("vm stop %s" % vm)
    s.ok("vm destroy %s" % vm)


@scenario(targets=[QEMU_SVM2, BOCHS_2], timeout=1200)
def vm_mem_migrate_live(s):
    vm = s.ok("vm create vcpus=2 mem=256K").records[0]["vm"]
    s.ok("vm start %s" % vm)
    wait_progress(s, vm, "after start", no_mmio=True)
    _migrate_rounds(s, vm, ROUNDS)
    wait_progress(s, vm, "after %d migrations" % ROUNDS, no_mmio=True)
    s.ok("check")
    rec = _inval_rec(s, vm)
    s.note("mmu_inval: %s" % rec)
    s.eq((rec.get("active"), rec.get("in_progress")), ("0", "0"), "no invalidation open")
    s.check(int(rec.get("starts", 0)) >= ROUNDS, "every migration started an invalidation (%s)" % rec)
    s.check(int(rec.get("faults", 0)) > 0, "the guest faulted its pages back (%s)" % rec)

    # No lost write: a value written by the host moves with its frame.
    s.ok("vm mem write %s gpa=0x%x val=0x1234abcd" % (vm, SPARE + 8))
    s.ok("vm mem migrate %s gpa=0x%x size=0x2000" % (vm, SPARE))
    s.eq(s.ok("vm mem read %s gpa=0x%x" % (vm, SPARE + 8)).records[0]["val"], "0x1234abcd",
         "the value written before the migration")

    # Reclaim takes the pages away; their contents come back at the next
    # touch (a page of zeros keeps nothing), and a second reclaim finds
    # nothing resident.
    s.ok("vm mem write %s gpa=0x%x val=0x55" % (vm, SPARE + 0x1000))
    s.ok("vm mem write %s gpa=0x%x val=0" % (vm, SPARE + 0x2000))
    r = s.ok("vm mem reclaim %s gpa=0x%x size=0x2000" % (vm, SPARE + 0x1000)).records[0]
    s.eq((r["pages"], r["kept"], r["absent"]), ("2", "1", "0"), "two pages taken, one kept aside (one was zeros)")
    r = s.ok("vm mem reclaim %s gpa=0x%x size=0x2000" % (vm, SPARE + 0x1000)).records[0]
    s.eq((r["pages"], r["absent"]), ("0", "2"), "nothing resident to take the second time")
    s.eq(s.ok("vm mem read %s gpa=0x%x" % (vm, SPARE + 0x1000)).records[0]["val"], "0x55",
         "reclaimed: faulted back in with its data")
    s.eq(s.ok("vm mem read %s gpa=0x%x" % (vm, SPARE + 0x2000)).records[0]["val"], "0x0",
         "reclaimed page of zeros: back as zeros")
    s.eq(s.ok("vm mem read %s gpa=0x%x" % (vm, SPARE + 8)).records[0]["val"], "0x1234abcd",
         "the page next to the reclaimed ones keeps its data")

    # Nested: a reclaim of the guest's areas that migrates the spare range
    # halfway, inside its own bracket; the guest goes on unharmed.
    for _ in range(10):
        r = s.ok("vm mem reclaim %s gpa=0x%x size=0x%x nest_gpa=0x%x nest_size=0x2000"
                 % (vm, AREAS, 2 * AREA, SPARE)).records[0]
        s.eq(r["nested_pages"], "2", "the nested migration moved its pages")
    s.eq(s.ok("vm mem read %s gpa=0x%x" % (vm, SPARE + 8)).records[0]["val"], "0x1234abcd",
         "a nested migration keeps the data")

    # Named errors, changing nothing.
    s.error("vm mem migrate %s gpa=0x%x size=0x1000" % (vm, SPARE + 1), match=r"multiples of")
    s.error("vm mem migrate %s gpa=0x%x size=0" % (vm, SPARE), match=r"size=0")
    s.error("vm mem reclaim %s gpa=0x%x size=0x2000" % (vm, 0x3f000), match=r"in no memory slot")
    s.error("vm mem migrate 99 gpa=0x%x size=0x1000" % SPARE, match=r"no VM with id 99")
    s.error("vm mem reclaim %s gpa=0x%x size=0x1000 nest_gpa=0x%x nest_size=0x2000" % (vm, SPARE, 0x3f000),
            match=r"in no memory slot")
    s.error("vm mem reclaim %s gpa=0x%x size=0x1000 nest_gpa=0x%x" % (vm, SPARE, SPARE), match=r"usage")
    # The churn's own errors: nothing starts.
    s.error("vm mem churn %s gpa=0x%x size=0x2000" % (vm, 0x3f000), match=r"in no memory slot")
    s.error("vm mem churn %s gpa=0x%x size=0x2000 tasks=0" % (vm, SPARE), match=r"tasks")
    s.error("vm mem churn %s gpa=0x%x" % (vm, SPARE), match=r"usage")
    s.error("vm mem churnstop %s" % vm, match=r"no memory churn on VM")
    s.error("vm mem churn 99 gpa=0x%x size=0x2000" % SPARE, match=r"no VM with id 99")
    starts = int(_inval_rec(s, vm).get("starts", 0))
    # A short churn of the spare range: started, stopped, counted.
    s.ok("vm mem churn %s gpa=0x%x size=0x2000 tasks=3 pages=2 gap_us=100" % (vm, SPARE))
    s.error("vm mem churn %s gpa=0x%x size=0x2000" % (vm, SPARE), match=r"already running")
    st = s.ok("vm mem churnstop %s" % vm).records[0]
    s.eq((st["tasks"], st["errors"]), ("3", "0"), "three tasks, no refused invalidation")
    s.check(int(_inval_rec(s, vm).get("starts", 0)) - starts >= int(st["invalidations"]),
            "every churn invalidation went through the VM's start/end (%s)" % st)
    s.eq(s.ok("vm mem read %s gpa=0x%x" % (vm, SPARE + 8)).records[0]["val"], "0x1234abcd",
         "the errors changed nothing")
    # Slot swaps go through the invalidation state (they wait for open
    # invalidations there): they count in its swaps.
    swaps = int(_inval_rec(s, vm).get("swaps", 0))
    s.ok("vm slot add %s gpa=0x80000 size=0x1000" % vm)
    sid = [x["slot"] for x in s.ok("vm slot list %s" % vm).where("slot") if x["gpa"] == "0x80000"][0]
    s.ok("vm slot del %s %s" % (vm, sid))
    rec = _inval_rec(s, vm)
    s.eq(int(rec.get("swaps", 0)) - swaps, 2, "two slot updates, two swaps through mmu_invalidate")
    s.eq(rec.get("mismatches"), "0", "no invalidation saw two slot arrays")
    _, vcpus = wait_progress(s, vm, "at the end", no_mmio=True)
    s.ok("check")
    s.ok("vm stop %s" % vm)
    s.ok("vm destroy %s" % vm)


@scenario(targets=[QEMU_SVM2], cmdline="memslot_inval=noretry", timeout=1200)
def vm_mem_noretry_caught(s):
    """memslot_inval=noretry (broken on purpose): a fault during an
    invalidation maps the page that is about to be retired, the guest's
    later writes go there and are lost in the copy -- the guest reports
    memory errors.  Shows that the live tests above and the stress can fail."""
    vm = s.ok("vm create vcpus=2 mem=256K").records[0]["vm"]
    s.ok("vm start %s" % vm)
    wait_progress(s, vm, "after start", no_mmio=True)
    errors = 0
    for i in range(ROUNDS):
        s.ok("vm mem migrate %s gpa=0x%x size=0x%x" % (vm, AREAS, 2 * AREA))
        if i % 10 == 9:
            _, vcpus = vm_stat(s, vm)
            errors = sum(int(v["errors"]) for v in vcpus)
            if errors:
                break
    s.note("guest memory errors after %d migrations without the retry: %d" % (i + 1, errors))
    s.check(errors > 0, "without the fault retry the guest loses writes (errors > 0)")
    s.cmd("vm stop %s" % vm)
    s.cmd("vm destroy %s" % vm)
