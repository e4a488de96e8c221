"""Read-only console scenarios.  They share one boot per target (shared=
"basic"): each leaves the machine exactly as it found it."""

from harness.scenario import scenario
from _expect import HELP_REQUIRED, expected_online
from _targets import BOCHS_2, QEMU_1, QEMU_4

GROUPS = ("smoke",)

EVERYWHERE = [QEMU_1, QEMU_4, BOCHS_2]
ONE_PER_EMULATOR = [QEMU_1, BOCHS_2]


@scenario(targets=EVERYWHERE, shared="basic", real=True)
def boot(s):
    """The kernel boots to the prompt and logged its way there."""
    logs = [l for l in s.boot_lines if l.startswith("[")]
    s.check(logs, "no kernel log line (starting with '[') before the first prompt")
    s.note("first prompt after %.1fs" % (s.con.first_prompt_at - s.con.started_at))
    for l in s.boot_lines:
        s.check("WARNING" not in l, "warning during boot: %s" % l)


@scenario(targets=ONE_PER_EMULATOR, shared="basic", real=True)
def help(s):
    """`help` lists one synopsis per line, including the core commands."""
    r = s.ok("help")
    s.check(r.lines, "help printed no command")
    words = {l.split()[0] for l in r.lines if l.split()}
    missing = [c for c in HELP_REQUIRED if c not in words]
    s.check(not missing, "help does not list: %s" % " ".join(missing), r.text())


@scenario(targets=ONE_PER_EMULATOR, shared="basic", real=True)
def version(s):
    """`version` says version=x.y.z commit=<hash> arch=x86_64."""
    r = s.ok("version")
    s.eq(len(r.records), 1, "records in the version reply")
    rec = r.records[0]
    s.match(r"^\d+\.\d+\.\d+\S*$", rec.get("version"), "version")
    s.match(r"^([0-9a-f]{4,40}(-dirty)?|unknown)$", rec.get("commit"), "commit")
    s.eq(rec.get("arch"), "x86_64", "arch")


@scenario(targets=EVERYWHERE, shared="basic", real=True)
def cpus(s):
    """`cpus` lists every possible CPU, then online=<k> possible=<n>."""
    n = s.smp
    r = s.ok("cpus")
    per_cpu = r.where("cpu")
    s.eq(len(per_cpu), n, "CPU records for -smp %d" % n)
    s.eq([c["cpu"] for c in per_cpu], [str(i) for i in range(n)], "CPU numbers")
    for c in per_cpu:
        for key in ("apic", "state", "virt", "compat"):
            s.check(key in c, "cpu=%s has no %s=" % (c["cpu"], key), r.text())
        s.check(c["state"] in ("online", "offline", "absent", "failed"),
                "cpu=%s: bad state %r" % (c["cpu"], c["state"]))
        s.check(c["virt"] in ("on", "off"), "cpu=%s: bad virt %r" % (c["cpu"], c["virt"]))
    apics = [c["apic"] for c in per_cpu]
    s.eq(len(set(apics)), len(apics), "distinct APIC IDs")
    s.eq(per_cpu[0]["state"], "online", "boot CPU state")
    summary = r.where("possible")
    s.eq(len(summary), 1, "summary records (online= possible=)")
    s.check(r.records[-1] is summary[0], "the summary is not the last record", r.text())
    want = expected_online(n)
    s.eq(summary[0].get("possible"), str(n), "possible")
    s.eq(summary[0].get("online"), str(want), "online")
    s.eq(sum(1 for c in per_cpu if c["state"] == "online"), want, "CPUs with state=online")


@scenario(targets=ONE_PER_EMULATOR, shared="basic", real=True)
def unknown_command(s):
    """A garbage line gets: error: unknown command '<word>' (try 'help')."""
    r = s.error("frobnicate --now 42")
    s.eq(r.error, "unknown command 'frobnicate' (try 'help')", "error reason")
    s.eq(r.lines, [], "data lines before the error")


@scenario(targets=ONE_PER_EMULATOR, shared="basic", real=True)
def long_line(s):
    """A 300-byte line is rejected whole, and the console still works."""
    line = "version " + "x" * 292
    assert len(line) == 300
    r = s.error(line, match=r"(?i)too long|length|255|long")
    s.check(not r.where("version"), "the over-long line ran 'version'", r.text())
    s.ok("version")


@scenario(targets=ONE_PER_EMULATOR, shared="basic", real=True)
def line_editing(s):
    """Backspace, DEL, Ctrl-U and Ctrl-C edit the line as a terminal would."""
    # Backspace: "hex" BS "lp" is "help".
    r = s.read_reply(s.send("hex\x08lp\r"), "help")
    s.eq(r.status, "ok", "status of hex<BS>lp")
    s.eq(r.echo, "help", "echo after backspace")
    s.check(any(l.split()[:1] == ["version"] for l in r.lines), "hex<BS>lp did not run help",
            r.text())
    # DEL (what most terminals send for the backspace key).
    r = s.read_reply(s.send("versiom\x7fn\r"), "version")
    s.eq(r.status, "ok", "status of versiom<DEL>n")
    s.check(r.where("version"), "versiom<DEL>n did not run version", r.text())
    # Ctrl-U clears the whole line.
    r = s.read_reply(s.send("garbage words\x15version\r"), "version")
    s.eq(r.status, "ok", "status after Ctrl-U")
    s.check(r.where("version"), "Ctrl-U did not clear the line", r.text())
    # Ctrl-C abandons the line: a new prompt, nothing runs.
    mark = s.send("frobnicate\x03")
    s.con.wait_prompt()
    after = s.con.lines[mark:]
    s.check(not any(l.startswith("error:") or l == "ok" for l in after),
            "Ctrl-C ran the line", "\n".join(after))
    s.ok("version")


@scenario(targets=EVERYWHERE, shared="basic", real=True)
def check(s):
    """`check` finds every invariant holding after boot."""
    s.ok("check")
