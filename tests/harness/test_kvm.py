"""--accel kvm: the KVM/nested detection (every reason it gives), the KVM
variants of targets, and the skip it turns into."""

import errno
import os
import tempfile
import unittest

import harnesspath  # noqa: F401
from harness import cli
from harness import kvm as K
from harness import qemu as Q
from harness.scenario import Scenario
from harness.targets import bochs, qemu


class FakeKvm:
    """ioctl stand-in: answers by request, raises OSError for those in fail."""

    def __init__(self, version=12, fail=()):
        self.version = version
        self.fail = dict(fail)
        self.fds = []

    def __call__(self, fd, req, arg=0):
        if req in self.fail:
            raise OSError(self.fail[req], os.strerror(self.fail[req]))
        if req == K.KVM_GET_API_VERSION:
            return self.version
        nfd = os.open(os.devnull, os.O_RDONLY)   # a real fd to close
        self.fds.append(nfd)
        return nfd


class KvmStatusTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.dev = os.path.join(self.dir, "kvm")
        open(self.dev, "w").close()
        self.sysfs = os.path.join(self.dir, "module")

    def tearDown(self):
        import shutil
        shutil.rmtree(self.dir)

    def cpuinfo(self, flags):
        path = os.path.join(self.dir, "cpuinfo")
        with open(path, "w") as f:
            f.write("processor\t: 0\nflags\t\t: fpu sse2 %s\n\nprocessor\t: 1\nflags\t\t: fpu %s\n" % (flags, flags))
        return path

    def nested(self, module, value):
        d = os.path.join(self.sysfs, module, "parameters")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "nested"), "w") as f:
            f.write(value + "\n")

    def status(self, flags="vmx", ioctl=None, dev=None):
        return K.kvm_status(dev=dev or self.dev, cpuinfo=self.cpuinfo(flags), sysfs=self.sysfs,
                            ioctl=ioctl or FakeKvm())

    def test_usable_intel_and_amd(self):
        self.nested("kvm_intel", "Y")
        self.assertIsNone(self.status("vmx"))
        self.nested("kvm_amd", "1")
        self.assertIsNone(self.status("svm"))

    def test_no_device(self):
        why = self.status(dev=os.path.join(self.dir, "absent"))
        self.assertIn("No such file or directory", why)

    def test_bad_api_version(self):
        self.assertIn("KVM API version 11", self.status(ioctl=FakeKvm(version=11)))

    def test_cannot_create_vm_or_vcpu(self):
        why = self.status(ioctl=FakeKvm(fail={K.KVM_CREATE_VM: errno.ENODEV}))
        self.assertIn("KVM_CREATE_VM failed", why)
        self.assertIn("cannot create guests", why)
        why = self.status(ioctl=FakeKvm(fail={K.KVM_CREATE_VCPU: errno.EINVAL}))
        self.assertIn("KVM_CREATE_VCPU failed", why)

    def test_no_vmx_or_svm(self):
        why = self.status(flags="")
        self.assertIn("neither vmx nor svm", why)

    def test_nested_off_or_module_missing(self):
        self.assertIn("kvm_intel", self.status("vmx"))    # no sysfs entry: not loaded
        self.nested("kvm_amd", "0")
        why = self.status("svm")
        self.assertIn("nested virtualization is off (kvm_amd.nested=0", why)

    def test_host_vendor(self):
        self.assertEqual(K.host_vendor(self.cpuinfo("vmx")), "vmx")
        self.assertEqual(K.host_vendor(self.cpuinfo("svm")), "svm")
        self.assertIsNone(K.host_vendor(self.cpuinfo("")))


class KvmTargetsTest(unittest.TestCase):
    def test_variants(self):
        t = cli.kvm_variant(qemu(smp=2, maxcpus=4, cpu="EPYC", mem="1G"))
        self.assertEqual((t.kind, t.smp, t.maxcpus, t.cpu, t.mem, t.accel), ("qemu", 2, 4, "host", "1G", "kvm"))
        self.assertEqual(t.label, "qemu smp=2 maxcpus=4 cpu=host kvm")
        self.assertEqual(t.slug, "qemu-host-smp2-max4-kvm")
        b = cli.kvm_variant(bochs(model="ryzen", smp=2))
        self.assertEqual((b.kind, b.smp, b.cpu, b.accel), ("qemu", 2, "host", "kvm"))
        argv = Q.qemu_argv(t, "/t/esp", "/t/vars.fd", "/t/qmp.sock")
        self.assertEqual(argv[argv.index("-accel") + 1], "kvm")
        self.assertEqual(argv[argv.index("-cpu") + 1], "host")

    def test_scenarios_deduplicated_and_vendor_filtered(self):
        def sc(name, targets):
            return Scenario(lambda s: None, name, targets, None, False, 60, 60, "m", "p")
        a = sc("virt_svm_lifecycle", [qemu(smp=2, cpu="EPYC"), qemu(smp=2, cpu="EPYC-Milan"),
                                      bochs(model="ryzen", smp=2)])
        b = sc("virt_vmx_lifecycle", [bochs(smp=2)])
        c = sc("virt_off", [qemu(smp=2)])
        cli.kvm_scenarios([a, b, c], "vmx")
        self.assertEqual(a.targets, [])
        self.assertEqual([t.label for t in b.targets], ["qemu smp=2 cpu=host kvm"])
        self.assertEqual([t.label for t in c.targets], ["qemu smp=2 cpu=host kvm"])
        a = sc("virt_svm_lifecycle", [qemu(smp=2, cpu="EPYC"), qemu(smp=2, cpu="EPYC-Milan")])
        cli.kvm_scenarios([a], None)     # vendor unknown: nothing left out
        self.assertEqual(len(a.targets), 1)

    def test_availability_gives_the_reason(self):
        av = cli.availability("kvm", kvm=lambda: "the host CPU has neither vmx nor svm")
        if av["qemu"] and "not installed" in av["qemu"]:
            self.skipTest(av["qemu"])
        self.assertEqual(av["qemu"], "KVM cannot run vigil's guests here: the host CPU has neither vmx nor svm")
        self.assertIsNone(cli.availability("kvm", kvm=lambda: None)["qemu"])
        self.assertIsNone(cli.availability("tcg", kvm=lambda: "unused")["qemu"])


if __name__ == "__main__":
    unittest.main()
