"""Can this host run vigil under KVM with nested virtualization?

vigil needs VMX or SVM inside its guest, so KVM alone is not enough: the host
CPU must have VMX/SVM (on a machine that is itself a guest, its hypervisor
must expose it) and the kvm_intel / kvm_amd module must allow nested guests.
`kvm_status()` checks, in order, and returns None when everything holds or
one line saying what does not:

1. /dev/kvm opens read-write;
2. KVM_GET_API_VERSION says 12 (the stable API);
3. KVM_CREATE_VM and KVM_CREATE_VCPU succeed (a /dev/kvm that exists but
   cannot create guests fails here);
4. /proc/cpuinfo lists vmx or svm;
5. /sys/module/kvm_intel/parameters/nested (or kvm_amd) is Y or 1.

The paths are parameters so tests/harness can check every answer.
"""

import errno
import fcntl
import os

KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
KVM_CREATE_VCPU = 0xAE41
KVM_API_VERSION = 12


def _ioctl_ret(fd, req, arg=0):
    return fcntl.ioctl(fd, req, arg)


def kvm_status(dev="/dev/kvm", cpuinfo="/proc/cpuinfo", sysfs="/sys/module", ioctl=_ioctl_ret):
    """None when KVM can run vigil with nested VMX/SVM, else the reason."""
    try:
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return "%s: %s" % (dev, os.strerror(e.errno) if e.errno else e)
    try:
        try:
            version = ioctl(fd, KVM_GET_API_VERSION)
        except OSError as e:
            return "%s: KVM_GET_API_VERSION failed: %s" % (dev, os.strerror(e.errno or errno.EIO))
        if version != KVM_API_VERSION:
            return "%s: KVM API version %s, not %d" % (dev, version, KVM_API_VERSION)
        try:
            vm = ioctl(fd, KVM_CREATE_VM)
        except OSError as e:
            return "%s: KVM_CREATE_VM failed: %s (KVM cannot create guests here)" % (
                dev, os.strerror(e.errno or errno.EIO))
        try:
            try:
                vcpu = ioctl(vm, KVM_CREATE_VCPU)
                os.close(vcpu)
            except OSError as e:
                return "%s: KVM_CREATE_VCPU failed: %s (KVM cannot run guests here)" % (
                    dev, os.strerror(e.errno or errno.EIO))
        finally:
            if vm >= 0 and vm != fd:
                try:
                    os.close(vm)
                except OSError:
                    pass
    finally:
        os.close(fd)
    try:
        with open(cpuinfo) as f:
            flags = set()
            for line in f:
                if line.startswith("flags"):
                    flags.update(line.split(":", 1)[1].split())
    except OSError as e:
        return "%s: %s" % (cpuinfo, e.strerror)
    if "vmx" in flags:
        module = "kvm_intel"
    elif "svm" in flags:
        module = "kvm_amd"
    else:
        return "the host CPU has neither vmx nor svm (%s), so KVM cannot give vigil's guest VMX/SVM" % cpuinfo
    path = os.path.join(sysfs, module, "parameters", "nested")
    try:
        with open(path) as f:
            nested = f.read().strip()
    except OSError as e:
        return "%s: %s (is %s loaded?)" % (path, e.strerror, module)
    if nested not in ("Y", "y", "1"):
        return "nested virtualization is off (%s.nested=%s; load %s with nested=1)" % (module, nested, module)
    return None


def host_vendor(cpuinfo="/proc/cpuinfo"):
    """"vmx" or "svm" as the host CPU flags say, else None."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    return "vmx" if "vmx" in flags else "svm" if "svm" in flags else None
    except OSError:
        pass
    return None
