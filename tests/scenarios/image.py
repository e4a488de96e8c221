"""The USB stick image, build/vigil.img (`make image`): OVMF boots it from a
USB mass-storage disk behind an xHCI controller, as a real machine boots the
stick it was dd'ed to.  No fat: directory drive is attached, so the GPT, the
FAT32 EFI System Partition and the files on it are what is tested."""

from harness.scenario import scenario
from _targets import USB_1, USB_2


@scenario(targets=[USB_1])
def usb_stick_boot(s):
    """The image boots to the prompt from the USB disk and runs a command."""
    s.boot_log_has(r"BdsDxe: starting .*USB", "the firmware's boot device")
    s.boot_log_has(r"vigil-efi: kernel: ", "the loader found the kernel on the stick")
    r = s.ok("version")
    s.eq(r.records[0].get("arch"), "x86_64", "arch")
    s.poweroff()


@scenario(targets=[USB_2], cmdline="maxcpus=1")
def usb_stick_cmdline(s):
    """vigil/cmdline.txt rewritten on the stick's ESP (as a user does after
    mounting it) is the command line the kernel gets: maxcpus=1 leaves the
    second CPU offline."""
    s.boot_log_has(r"vigil-efi: command line \(\\vigil\\cmdline\.txt\): maxcpus=1$",
                   "the loader's command line, from the file")
    s.boot_log_has(r"cmdline: 'maxcpus=1'", "the kernel's command line")
    r = s.ok("cpus")
    s.eq(r.where("possible")[0].get("online"), "1", "online CPUs with maxcpus=1")
