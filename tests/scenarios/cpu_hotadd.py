"""Real CPU hot-add and hot-remove: QMP device_add/device_del on a q35
machine with room for more CPUs (-smp 2,maxcpus=4).  QEMU raises GPE 2 and
flags the CPU in its ACPI CPU-hotplug block; the kernel's `acpi_cpuhp`
thread polls that, brings the CPU up through the hotplug walk, and on a
removal takes it offline and ejects it (QEMU's slot is empty again).

QEMU 7.2 crashes on a device_add, and on an S3 reset, after ejecting a CPU
that ran code, so each scenario's removal is its last step of that kind."""

import time

from harness.scenario import scenario
from _targets import HOTPLUG



def _absent_slots(s):
    """query-hotpluggable-cpus entries with no CPU in them, lowest socket first."""
    slots = [c for c in s.qmp.command("query-hotpluggable-cpus") if "qom-path" not in c]
    return sorted(slots, key=lambda c: sorted(c["props"].items()))


def _device_add(s, dev_id):
    slot = _absent_slots(s)[0]
    args = {"driver": slot["type"], "id": dev_id}
    args.update(slot["props"])
    s.qmp.command("device_add", **args)
    return slot


def _device_del(s, dev_id):
    s.qmp.command("device_del", id=dev_id)


def _wait_ejected(s, dev_id):
    """Wait until QEMU's slot for dev_id is empty again.  (QEMU 7.2 reports
    DEVICE_DELETED only for the CPU's lapic child, not for the CPU itself.)"""
    path = "/machine/peripheral/%s" % dev_id
    deadline = time.monotonic() + s.scaled(30)
    while any(c.get("qom-path") == path for c in s.qmp.command("query-hotpluggable-cpus")):
        s.check(time.monotonic() < deadline, "QEMU still has %s 30 s after the eject" % dev_id)
        time.sleep(0.2)


def _cpu(s, n):
    r = s.ok("cpus")
    recs = r.find(cpu=str(n))
    s.check(len(recs) == 1, "no cpu=%d in %r" % (n, r.lines))
    return recs[0], r


@scenario(targets=[HOTPLUG], timeout=400)
def cpu_hot_add_remove(s):
    """No VMs: a hot-added CPU comes online whatever its compatibility (which
    `cpus` shows); the next vm create checks it and refuses while it
    differs; device_del takes it offline and ejects it."""
    s.boot_log_has(r"acpi-cpuhp: CPU hotplug block at port 0xcd8, 2 hot-pluggable CPUs, events polled")
    rec, r = _cpu(s, 2)
    s.eq(r.get("possible"), "4", "possible CPUs (maxcpus=4)")
    s.eq(r.get("online"), "2", "online CPUs before the hot-add")
    s.eq(rec.get("state"), "absent", "cpu 2 before the hot-add")
    s.error("cpu online 2", match=r"CPU 2 is absent")

    s.ok("inject cr4_mask cpu=2 count=0")
    t0 = time.monotonic()
    _device_add(s, "hp2")
    s.expect(r"acpi-cpuhp: CPU 2 \(APIC ID 2\) inserted: online, virtualization off", s.scaled(30))
    s.note("device_add to the CPU online: %.0f ms of host time" % ((time.monotonic() - t0) * 1000))
    rec, r = _cpu(s, 2)
    s.eq((rec.get("state"), rec.get("virt")), ("online", "off"), "cpu 2 (state, virt) after device_add")
    s.match(r"cr4_reserved_mask", rec.get("compat"), "cpu 2 compat (informational with no VMs)")
    s.eq(r.get("online"), "3", "online CPUs after the hot-add")
    s.ok("check")
    s.error("vm create", match=r"cpu 2: cr4_reserved_mask")
    s.ok("inject clear")

    vm = s.ok("vm create").get("vm")
    rec, _ = _cpu(s, 2)
    s.eq(rec.get("virt"), "on", "cpu 2 enabled by the first vm create")
    s.eq(rec.get("compat"), "ok", "cpu 2 checked by the first vm create")
    s.ok("vm run %s cpu=2 exits=2" % vm)
    s.ok("check")
    s.ok("vm destroy %s" % vm)

    # S3 is refused while the hot-added CPU is present (OVMF's resume path
    # starts it on buffers sized for the boot CPUs and corrupts memory);
    # a simulated suspend is fine.
    s.error("suspend s3", match=r"S3 not supported: 1 hot-added CPU is present")
    s.ok("suspend sim", timeout=s.scaled(120))

    _device_del(s, "hp2")
    s.expect(r"acpi-cpuhp: CPU 2 \(APIC ID 2\) removal: offline, ejected", s.scaled(30))
    _wait_ejected(s, "hp2")
    rec, r = _cpu(s, 2)
    s.eq(rec.get("state"), "absent", "cpu 2 after device_del")
    s.eq(r.get("online"), "2", "online CPUs after the removal")
    s.error("cpu online 2", match=r"CPU 2 is absent")
    s.ok("check")
    # (No S3 here: QEMU 7.2 aborts with "double free or corruption" on the
    # S3 reset after ejecting a CPU that ran code.)


@scenario(targets=[HOTPLUG], timeout=400)
def cpu_hot_add_with_vm(s):
    """With a VM: a compatible hot-added CPU is checked and enabled at once;
    one that fails the compatibility check is refused with the reason and
    left offline; removing an online CPU that runs a VM's usage disables it
    on the way down."""
    vm = s.ok("vm create").get("vm")
    _device_add(s, "hp2")
    s.expect(r"acpi-cpuhp: CPU 2 \(APIC ID 2\) inserted: online, virtualization on", s.scaled(30))
    rec, _ = _cpu(s, 2)
    s.eq((rec.get("state"), rec.get("virt"), rec.get("compat")), ("online", "on", "ok"),
         "cpu 2 (state, virt, compat) hot-added under a VM")
    s.ok("vm run %s cpu=2 exits=2" % vm)
    # A suspend brings the hot-added CPU back like any other.
    s.ok("suspend sim", timeout=s.scaled(120))
    rec, _ = _cpu(s, 2)
    s.eq((rec.get("state"), rec.get("virt")), ("online", "on"), "cpu 2 (state, virt) after suspend sim")

    s.ok("inject cr4_mask cpu=3")
    _device_add(s, "hp3")
    m = s.expect(r"acpi-cpuhp: CPU \(APIC ID 3\) inserted: left offline: (.*)", s.scaled(30))
    s.match(r"cr4_reserved_mask=.* differs from the boot CPU's", m.group(1), "refusal reason")
    rec, _ = _cpu(s, 3)
    s.eq((rec.get("state"), rec.get("virt")), ("offline", "off"), "cpu 3 (state, virt) refused")
    s.match(r"cr4_reserved_mask", rec.get("compat") or "", "cpu 3 compat names the field")
    s.ok("inject clear")
    s.ok("check")

    # Remove both: the refused (offline) one needs no offline walk.
    _device_del(s, "hp3")
    s.expect(r"acpi-cpuhp: CPU 3 \(APIC ID 3\) removal: offline, ejected", s.scaled(30))
    _wait_ejected(s, "hp3")
    _device_del(s, "hp2")
    s.expect(r"acpi-cpuhp: CPU 2 \(APIC ID 2\) removal: offline, ejected", s.scaled(30))
    _wait_ejected(s, "hp2")
    r = s.ok("cpus")
    s.eq([x.get("state") for x in r.where("cpu")], ["online", "online", "absent", "absent"], "CPU states")
    s.ok("virt")
    s.ok("check")
    s.ok("vm destroy %s" % vm)
