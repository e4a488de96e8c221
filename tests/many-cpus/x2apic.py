"""More CPUs than xAPIC can address: QEMU q35's limit of 288 vCPUs, APIC IDs
up to 287.  The MADT lists them as x2APIC entries, the kernel switches to
x2APIC mode before it starts them, and every CPU must come online.

Not in `make check` (`make check-many-cpus` runs it): QEMU needs an IOMMU
with interrupt remapping in extended (x2APIC) mode for more than 255 vCPUs,
and QEMU 7.2 refuses them under TCG altogether ("current -smp configuration
requires kernel irqchip and X2APIC API support"); QEMU 8.1 and later emulate
x2APIC under TCG."""

import re

from harness.scenario import qemu, scenario

X2APIC_MACHINE = ("-machine", "q35,kernel-irqchip=split",
                  "-device", "intel-iommu,intremap=on,eim=on")


@scenario(targets=[qemu(smp=288, args=X2APIC_MACHINE)], timeout=900, boot_timeout=1800)
def smp_288_x2apic(s):
    n = s.smp
    s.note("first prompt after %.1fs" % (s.con.first_prompt_at - s.con.started_at))
    s.boot_log_has(r"lapic: switched to x2APIC mode for APIC ID \d+", "x2APIC switch")
    s.boot_log_has(r"smp: %d of %d application processors online" % (n - 1, n - 1), "bring-up report")
    per_cpu = [l for l in s.boot_lines if re.search(r"smp: CPU \d+ (had|\(APIC)", l)]
    s.check(not per_cpu, "per-CPU bring-up lines: %s" % per_cpu[:3])
    r = s.ok("cpus", timeout=s.scaled(300))
    s.eq(r.where("possible")[0].get("online"), str(n), "online CPUs")
    s.eq(sum(1 for c in r.where("cpu") if c["state"] == "online"), n, "CPUs with state=online")
    s.check(any(int(c["apic"]) > 255 for c in r.where("cpu")), "no APIC ID above 255")
    s.ok("check", timeout=s.scaled(300))
