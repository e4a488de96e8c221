"""Guest memory from the memory slots, on demand (docs/design.md "Memory
slots"), with the probe guest (GUEST_PROBE: store the pass at 0x20000, load
it back, report both by hypercall) under `vm run`, on QEMU's SVM and
Bochs' VMX.

- no slot at 0x20000: every load returns the MMIO marker 0xffffffff, the
  store and the load are MMIO exits, counted per run and per VM;
- `vm slot add` there: the nested page fault maps the slot's page and the
  guest reads back what it stored; the host sees the guest's last store;
- `vm slot move` away: the guest sees MMIO again and the moved slot keeps
  the guest's data at its new address; moved back: memory again;
- `vm slot del`: MMIO again (the mapping was zapped);
- a read-only slot: the guest reads the slot's contents (written by the
  host), its stores are MMIO exits and change nothing;
- GUEST_WILD's store (an instruction the MMIO emulation does not know)
  still stops the guest with a named error."""


from harness.scenario import scenario
from _live import wait_progress
from _targets import BOCHS_2, QEMU_SVM2

GROUPS = ("virt",)

MARKER = "0xffffffff"


def _probe(s, vm, exits=200):
    r = s.ok("vm run %s cpu=0 exits=%d guest=probe" % (vm, exits), timeout=s.scaled(120))
    recs = r.where("probe_memory")
    s.eq(len(recs), 1, "one probe record in the vm run reply")
    return {k: (v if k == "probe_last_value" else int(v)) for k, v in recs[0].items()}


@scenario(targets=[QEMU_SVM2, BOCHS_2], shared="slot_fault")
def slot_fault_mmio_and_memory(s):
    vm = s.ok("vm create").records[0]["vm"]

    p = _probe(s, vm)
    s.check(p["probe_marker"] > 0 and p["probe_memory"] == 0 and p["probe_other"] == 0,
            "no slot: the guest reads the marker (%s)" % p)
    s.eq(p["probe_last_value"], MARKER, "no slot: last value read")
    s.check(p["mmio_exits"] >= 2 * p["probe_marker"], "no slot: a store and a load exit per pass (%s)" % p)
    s.eq(p["vm_mmio_exits"], p["mmio_exits"], "the VM counts the run's MMIO exits")
    before = p["vm_mmio_exits"]

    s.ok("vm slot add %s gpa=0x20000 size=0x1000" % vm)
    p = _probe(s, vm)
    s.check(p["probe_memory"] > 0 and p["probe_marker"] == 0 and p["probe_other"] == 0,
            "slot added: the guest reads its own store back (%s)" % p)
    s.eq(p["mmio_exits"], 0, "slot added: no MMIO exit")
    s.eq(p["vm_mmio_exits"], before, "slot added: the VM's MMIO count stays")
    last = p["probe_last_pass"]
    val = int(s.ok("vm mem read %s gpa=0x20000" % vm).records[0]["val"], 16)
    s.eq(val, last, "the host reads the guest's last store through the slot")

    r = s.ok("vm slot list %s" % vm).where("slot")
    sid = [x["slot"] for x in r if x["gpa"] == "0x20000"][0]
    s.ok("vm slot move %s %s gpa=0x40000" % (vm, sid))
    p = _probe(s, vm)
    s.check(p["probe_marker"] > 0 and p["probe_memory"] == 0,
            "slot moved away: the guest sees MMIO again (%s)" % p)
    val = int(s.ok("vm mem read %s gpa=0x40000" % vm).records[0]["val"], 16)
    s.eq(val, last, "the move kept the guest's data (now at 0x40000)")

    s.ok("vm slot move %s %s gpa=0x20000" % (vm, sid))
    p = _probe(s, vm)
    s.check(p["probe_memory"] > 0 and p["probe_marker"] == 0, "moved back: memory again (%s)" % p)

    s.ok("vm slot del %s %s" % (vm, sid))
    p = _probe(s, vm)
    s.check(p["probe_marker"] > 0 and p["probe_memory"] == 0, "slot deleted: MMIO again (%s)" % p)

    s.ok("vm slot add %s gpa=0x20000 size=0x1000 ro" % vm)
    s.ok("vm mem write %s gpa=0x20000 val=0x5eed" % vm)
    mmio_before = p["vm_mmio_exits"]
    p = _probe(s, vm)
    s.check(p["probe_other"] > 0 and p["probe_memory"] == 0 and p["probe_marker"] == 0,
            "read-only slot: the guest reads the slot's contents (%s)" % p)
    s.eq(p["probe_last_value"], "0x5eed", "read-only slot: value read")
    s.check(p["mmio_exits"] >= p["probe_other"], "read-only slot: each store is an MMIO exit (%s)" % p)
    s.eq(p["vm_mmio_exits"], mmio_before + p["mmio_exits"], "the VM counts them too")
    val = int(s.ok("vm mem read %s gpa=0x20000" % vm).records[0]["val"], 16)
    s.eq(val, 0x5eed, "the guest's stores did not change the read-only slot")

    s.error("vm run %s cpu=0 guest=wild" % vm,
            match=r"guest touched unmapped guest-physical 0x40000000 \(write; MMIO at rip 0x\w+: "
                  r"opcode 0xa3 is not emulated.*vm %s destroyed" % vm)


def _wait_progress(s, vm, what):
    """Every vCPU makes progress (bounded wait), none failed, no guest error."""
    wait_progress(s, vm, what, no_mmio=True)


@scenario(targets=[QEMU_SVM2, BOCHS_2], shared="slot_fault")
def slot_fault_live_split_merge(s):
    """Live vCPUs of the pattern guest, their memory faulted in from slot 0:
    slot 0 split inside vCPU 0's pattern area and merged back, again and
    again, and an unrelated slot added and deleted -- every change zaps the
    old mappings and flushes the vCPUs (kicked out of their guests), and the
    new set is published in one swap, so the guest never finds its memory
    missing (no MMIO exit) nor stale (no guest memory error)."""
    vm = s.ok("vm create vcpus=2").records[0]["vm"]
    s.ok("vm start %s" % vm)
    _wait_progress(s, vm, "after start")
    for i in range(10):
        r = s.ok("vm slot split %s 0 at=0x24000" % vm).where("slot")
        other = [x["slot"] for x in r if x["gpa"] == "0x24000"]
        s.eq(len(other), 1, "split %d made a slot at 0x24000" % i)
        s.ok("vm slot add %s gpa=0x1000000 size=0x2000" % vm)
        s.ok("vm slot merge %s 0 %s" % (vm, other[0]))
        extra = [x["slot"] for x in s.ok("vm slot list %s" % vm).where("slot") if x["gpa"] == "0x1000000"]
        s.ok("vm slot del %s %s" % (vm, extra[0]))
    _wait_progress(s, vm, "after 10 splits and merges under the running vCPUs")
    r = s.cmd("check", timeout=s.scaled(60))
    s.check(r.status == "ok", "check: %s" % r.error, r.text())
    s.ok("vm destroy %s" % vm)


@scenario(targets=[QEMU_SVM2], shared="slot_fault")
def slot_fault_start_without_slots(s):
    """A live VM whose every slot was deleted is refused at `vm start` with a
    clear error and stays stopped, its slots untouched."""
    vm = s.ok("vm create vcpus=1").records[0]["vm"]
    slots = s.ok("vm slot list %s" % vm).where("slot")
    s.eq([x["slot"] for x in slots], ["0"], "a new VM has slot 0")
    s.ok("vm slot del %s 0" % vm)
    s.error("vm start %s" % vm, match=r"has no memory slots")
    s.eq(s.ok("vm stat %s" % vm).records[0].get("state"), "stopped", "state after the refused start")
    s.eq([x["slot"] for x in s.ok("vm slot list %s" % vm).where("slot")], [], "no slot after the refusal")
    s.ok("vm destroy %s" % vm)


FIGURE = r"^bench=(\w+) median=(\d+) min=(\d+) max=(\d+) unit=ns samples=(\d+)$"


@scenario(targets=[QEMU_SVM2, BOCHS_2], shared="slot_fault")
def slot_fault_bench(s):
    """bench slot_live_move and slot_live_split (core/virt/slot_zap_bench.c):
    one whole slot update under two running vCPUs each -- zap, flush
    request and kick, wait, grace period.  Prints the figures; afterwards
    no VM is left and `check` passes."""
    for name in ("slot_live_move", "slot_live_split"):
        r = s.ok("bench %s" % name, timeout=s.scaled(600))
        m = s.match(FIGURE, r.lines[-1], "bench %s" % name)
        s.eq(m.group(1), name, "bench name")
        s.check(int(m.group(5)) > 0, "bench %s took samples" % name, r.text())
        s.note(r.lines[-1])
    s.eq(s.ok("vm list").records, [], "no VM left by the benches")
    r = s.cmd("check", timeout=s.scaled(60))
    s.check(r.status == "ok", "check: %s" % r.error, r.text())
