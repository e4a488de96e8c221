"""A bad \\vigil\\cmdline.txt does not stop the boot (boot/efi/cmdline.c): one
of 1,024 bytes or more is cut after its last whole word that fits, one holding
a NUL or a non-ASCII byte is dropped whole, and both the loader (on the
firmware console) and the kernel (in its log: `cmdline: *** ... ***`) say so.
The harness writes the file's bytes into the ESP as given (QEMU + OVMF)."""

import re

from harness.scenario import scenario
from _targets import QEMU_2

# maxcpus=1 first, then padding past the limit, then maxcpus=2: the first must
# take effect, the second (beyond 1023 characters) must be cut off.
PADDING = " ".join("loglevel=6" for _ in range(110))
TOO_LONG = ("maxcpus=1 %s maxcpus=2" % PADDING).encode()


def _cmdline(s):
    """The kernel's view of the command line (its log line is cut at 512)."""
    line = s.boot_log_has(r"cmdline: '")
    return re.search(r"cmdline: '(.*)'", line).group(1)


def _online(s):
    return sum(1 for c in s.ok("cpus").where("cpu") if c["state"] == "online")


# The longest prefix of whole words that fits 1023 characters.
KEPT = len(TOO_LONG[:1024].rsplit(b" ", 1)[0])


@scenario(targets=[QEMU_2], cmdline=TOO_LONG, boot_timeout=120)
def cmdline_file_too_long_is_cut(s):
    s.check(KEPT < 1023, "the test's padding must not end exactly at the limit")
    s.boot_log_has(r"the limit is 1023: CUT", "loader warning")
    # The kernel's note says where the cut fell: after a whole word (a cut
    # anywhere else would keep 1023 characters of this input).
    s.boot_log_has(r"cmdline: \*\*\* the loader CUT the command line to its first %d characters "
                   r"\(whole words\): it had %d" % (KEPT, len(TOO_LONG)), "kernel log note")
    line = s.boot_log_has(r"cmdline: 'maxcpus=1 loglevel=6 ")
    s.check("maxcpus=2" not in line, "maxcpus=2 (past the limit) kept", line)
    s.eq(_online(s), 1, "CPUs online (maxcpus=1 kept, the maxcpus=2 past the limit cut)")


@scenario(targets=[QEMU_2], cmdline=b"maxcpus=1\x00 bogus=1", boot_timeout=120)
def cmdline_file_nul_byte_is_dropped(s):
    s.boot_log_has(r"vigil-efi: warning: \\vigil\\cmdline\.txt: byte 0x0 at offset 9 is not printable ASCII: "
                   r"command line DROPPED", "loader warning")
    s.boot_log_has(r"cmdline: \*\*\* the loader DROPPED the command line: byte value 0 at offset 9",
                   "kernel log note")
    s.eq(_cmdline(s), "", "the command line")
    s.eq(_online(s), 2, "CPUs online (maxcpus=1 dropped with the file)")


@scenario(targets=[QEMU_2], cmdline="maxcpus=1 # café".encode(), boot_timeout=120)
def cmdline_file_non_ascii_is_dropped(s):
    s.boot_log_has(r"cmdline: \*\*\* the loader DROPPED the command line: byte value 195 at offset 15",
                   "kernel log note")
    s.eq(_cmdline(s), "", "the command line")
    s.eq(_online(s), 2, "CPUs online")
