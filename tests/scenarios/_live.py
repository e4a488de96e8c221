"""What the scenarios with live vCPUs share: reading `vm stat` and waiting
until every vCPU of a VM has made progress."""

import time


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
