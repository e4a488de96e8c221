"""What the scenarios with live vCPUs share: reading `vm stat`, waiting
until every vCPU of a VM has made progress, and a VM whose vCPUs' pattern
areas sit alone in one slot."""

import time

from _panic import all_off, expect_panic_stop, panic_report


def vm_stat(s, vm):
    """(the VM's record, its vCPUs' records) from `vm stat`."""
    r = s.ok("vm stat %s" % vm)
    return r.records[0], r.where("vcpu")


def wait_progress(s, vm, what, no_mmio=False):
    """Every vCPU of vm makes progress (bounded wait, then a failure); returns
    (head, vcpus) as vm_stat.  The caller checks states and errors as its
    scenario needs; no_mmio also requires no MMIO exit, per vCPU and VM."""
    _, before = vm_stat(s, vm)
    deadline = time.monotonic() + s.scaled(60)
    while True:
        head, now = vm_stat(s, vm)
        if all(int(n["progress"]) > int(b["progress"]) for n, b in zip(now, before)):
            break
        if time.monotonic() > deadline:
            s.check(False, "no progress on every vCPU %s" % what, "%r -> %r" % (before, now))
            break
        time.sleep(0.3)
    if no_mmio:
        for v in now:
            s.eq((v["state"], v["errors"], v["mmio_exits"]), ("running", "0", "0"),
                 "vCPU %s %s" % (v["vcpu"], what))
        s.eq(head["mmio_exits"], "0", "the VM's MMIO exits %s" % what)
    return head, now


AREAS = 0x22000        # the pattern guest's areas start here (asm/vexit.h)
AREA = 0x4000          # one vCPU's area (16 KiB) in a VM of 256 KiB
MOVER = 0x80000        # a slot that only moves (the guest never touches it)


def data_slot_vm(s):
    """A VM of 2-4 vCPUs (as many as the machine's CPUs allow) whose slot
    `data` is exactly its vCPUs' pattern areas, with nothing above them but
    the slot `mover`; started, every vCPU making progress.  Returns
    (vm, vcpus, data, mover)."""
    n = max(2, min(s.smp, 4))
    vm = s.ok("vm create vcpus=%d mem=256K" % n).records[0]["vm"]
    end = AREAS + n * AREA
    s.ok("vm slot split %s 0 at=0x%x" % (vm, AREAS))
    s.ok("vm slot split %s 1 at=0x%x" % (vm, end))
    s.ok("vm slot add %s gpa=0x%x size=0x2000" % (vm, MOVER))
    slots = {r["gpa"]: r["slot"] for r in s.ok("vm slot list %s" % vm).where("slot")}
    s.ok("vm slot del %s %s" % (vm, slots["0x%x" % end]))
    s.ok("vm start %s" % vm)
    wait_progress(s, vm, "after start")
    return vm, n, slots["0x%x" % AREAS], slots["0x%x" % MOVER]


def pinned_vm_running(s, vm, pins):
    """Pin vCPU i of vm to CPU pins[i] and wait (bounded) until each has
    entered its guest on that CPU and made progress.  Returns the `vm stat`
    vCPU records; the caller checks them."""
    for i, cpu in enumerate(pins):
        s.ok("vcpu pin %s.%d cpu=%d" % (vm, i, cpu))
    deadline = time.monotonic() + s.scaled(120)
    while True:
        vcpus = s.ok("vm stat %s" % vm).where("vcpu")
        if all(v["cpu"] == str(pins[int(v["vcpu"])]) and int(v["progress"]) > 0 for v in vcpus) \
                or time.monotonic() > deadline:
            return vcpus
        time.sleep(0.5)


def has_live_vms(s):
    """Does this kernel run live vCPUs (`vm start`)?  Notes it when not."""
    if "vm start" not in s.ok("help vm").text():
        s.note("this kernel has no live vCPUs (no 'vm start'): nothing tested")
        return False
    return True


def panic_with_pinned_vcpus(s):
    """A live VM with one vCPU pinned to each CPU, every one running its
    guest there, then a panic on CPU 2: every CPU is reported, each stopped
    (or the panicking one) and with virtualization off."""
    if not has_live_vms(s):
        return
    vm = s.ok("vm create vcpus=%d" % s.smp).records[0]["vm"]
    s.ok("vm start %s" % vm)
    vcpus = pinned_vm_running(s, vm, list(range(s.smp)))
    s.eq([(v["cpu"], v["errors"], v["state"]) for v in vcpus],
         [(str(i), "0", "running") for i in range(s.smp)], "vCPUs running on their CPUs before the panic")
    expect_panic_stop(s, "crash panic cpu=2")
    all_off(s, panic_report(s), 2)
