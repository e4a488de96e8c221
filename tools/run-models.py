#!/usr/bin/env python3
"""Run the Spin model checks of tests/model/models.txt (docs/models.md).

For each line: spin -a (with the line's -D switches), gcc pan.c, run pan, and
compare the verdict with the expected one: `pass` needs a complete search with
no error; a broken variant must be rejected with the named assertion or with
an invalid end state (deadlock), whose trail is replayed to show where each
process is stuck.  Prints states explored and time per check and a last line
`models: N passed, N failed`; exits 1 on any failure.

    tools/run-models.py [--build DIR] [--only SUBSTRING] [--trail] [--jobs N] [tests/model]

Checks are independent (each in its own directory), so --jobs runs several at
once (default: one per CPU); the report keeps the manifest's order.
"""
import argparse, concurrent.futures, glob, os, re, shutil, subprocess, sys, time

def parse_manifest(path):
    checks = []
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if len(words) < 3:
                sys.exit("%s:%d: need <name> <file.pml> expect=..." % (path, lineno))
            c = {"name": words[0], "file": words[1], "defines": [], "expect": None, "blocked": [], "show": [],
                 "cc": ["-O1"], "pan": ["-m100000"], "ltl": None, "where": "%s:%d" % (path, lineno)}
            for w in words[2:]:
                if w.startswith("-D"):
                    c["defines"].append(w)
                elif w.startswith("expect="):
                    c["expect"] = w[len("expect="):]
                elif w.startswith("blocked="):
                    c["blocked"] = w[len("blocked="):].split(",")
                elif w.startswith("show="):
                    c["show"] = w[len("show="):].split(",")
                elif w.startswith("cc="):
                    c["cc"] = w[len("cc="):].split(",")
                elif w.startswith("pan="):
                    c["pan"] = w[len("pan="):].split(",")
                elif w.startswith("ltl="):
                    c["ltl"] = w[len("ltl="):]
                else:
                    sys.exit("%s:%d: unknown word %r" % (path, lineno, w))
            e = c["expect"]
            if not e or not (e in ("pass", "deadlock", "claim") or e.startswith("assert:")):
                sys.exit("%s:%d: expect=pass|deadlock|claim|assert:<text> missing" % (path, lineno))
            if e == "claim" and not c["ltl"]:
                sys.exit("%s:%d: expect=claim needs ltl=<name>" % (path, lineno))
            checks.append(c)
    return checks

def run(cmd, cwd, timeout=600):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout

def field(pattern, text, conv=str, default=None):
    m = re.search(pattern, text)
    return conv(m.group(1)) if m else default

# `proc  4 (console:1) enabling.pml:394 (state 155)` at the end of a replay.
PROC_RE = re.compile(r"^\s*\d+:\s+proc\s+(\d+) \((\w+):\d+\) (\S+?):(\d+) \(state \d+\)(.*)$")

# `  54:	proc  4 (console:1) enabling.pml:128 (state 5)	[((hp_readers==0))]`: one step.
STEP_RE = re.compile(r"^\s*\d+:\s+proc\s+(\d+) \(\w+:\d+\) (\S+?:\d+) \(state \d+\)\s+\[(.*)\]$")

def stuck_processes(replay):
    """Processes not at a valid end state when the trail ends, each with the
    last step it took (where it got to before it blocked)."""
    cut = replay.rfind("#processes:")
    head, tail = (replay[:cut], replay[cut:]) if cut >= 0 else (replay, "")
    last = {}
    for line in head.splitlines():
        m = STEP_RE.match(line)
        if m:
            last[m.group(1)] = "%s [%s]" % (m.group(2), m.group(3))
    out = []
    for line in tail.splitlines():
        m = PROC_RE.match(line)
        if not m or "valid end state" in m.group(5):
            continue
        pid, name = m.group(1), m.group(2)
        out.append((name, pid, "%s:%s" % (os.path.basename(m.group(3)), m.group(4)),
                    last.get(pid, "(no step)")))
    return out

def final_values(replay, names):
    """The last value the replay printed for each named global."""
    vals = []
    for n in names:
        found = re.findall(r"^\s+%s = (\S+)$" % re.escape(n), replay, re.M)
        vals.append("%s=%s" % (n, found[-1] if found else "?"))
    return " ".join(vals)

def check_one(c, srcdir, build, show_trail):
    workdir = os.path.join(build, "model", c["name"].replace("/", "__"))
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    for f in glob.glob(os.path.join(srcdir, "*.pml")) + glob.glob(os.path.join(srcdir, "*.h")):
        shutil.copy(f, workdir)
    t0 = time.monotonic()
    rc, out = run(["spin", "-a"] + c["defines"] + [c["file"]], workdir)
    if rc != 0 or not os.path.exists(os.path.join(workdir, "pan.c")):
        return False, "spin -a failed:\n" + out, {}
    # Without ltl=, no claim: spin -a would otherwise build in the model's first LTL formula.
    cc = ["gcc"] + c["cc"] + ([] if c["ltl"] else ["-DSAFETY", "-DNOCLAIM"]) + ["-o", "pan", "pan.c"]
    rc, out = run(cc, workdir)
    if rc != 0:
        return False, "gcc failed:\n" + out, {}
    pan = ["./pan"] + c["pan"] + (["-a", "-N", c["ltl"]] if c["ltl"] else [])
    rc, out = run(pan, workdir)
    wall = time.monotonic() - t0
    with open(os.path.join(workdir, "pan.out"), "w") as f:
        f.write(out)
    stats = {
        "states": field(r"(\d+) states, stored", out, int, 0),
        "transitions": field(r"(\d+) transitions", out, int, 0),
        "depth": field(r"depth reached (\d+)", out, int, 0),
        "errors": field(r"errors: (\d+)", out, int, None),
        "pan_s": field(r"pan: elapsed time ([\d.e+-]+) seconds", out, float, 0.0),
        "wall_s": wall,
        "memory_mb": field(r"([\d.]+)\s+total actual memory usage", out, float, 0.0),
    }
    first = next((l for l in out.splitlines() if l.startswith("pan:1:")), "")
    if stats["errors"] is None:
        return False, "pan did not finish:\n" + out[-2000:], stats
    if "max search depth too small" in out:
        return False, "search truncated by the depth limit (raise pan=-m...): " + \
            " ".join(l.strip() for l in out.splitlines() if "depth" in l), stats
    expect = c["expect"]
    if expect == "pass":
        if stats["errors"] != 0:
            msg = "expected no error, pan says: %s" % first
            trail = replay_trail(c, workdir, show_trail=True)
            if not show_trail:
                trail = "\n".join(trail.splitlines()[-40:])
            return False, "%s\n    trail (end; all of it in %s):\n%s" % (
                msg, os.path.join(workdir, "trail.txt"), trail), stats
        if "Search not completed" in out:
            return False, "search not completed:\n" + out[-1500:], stats
        return True, "verified", stats
    # A broken variant: it must be rejected, for the expected reason.
    if stats["errors"] == 0:
        return False, "expected a rejection (%s), but the search found no error" % expect, stats
    if expect == "deadlock":
        if "invalid end state" not in first:
            return False, "expected a deadlock, first error: %s" % first, stats
    elif expect.startswith("assert:") and expect[len("assert:"):] not in first:
        return False, "expected assertion %r, first error: %s" % (expect[len("assert:"):], first), stats
    trail = replay_trail(c, workdir, show_trail)
    if expect == "claim" and "acceptance cycle" not in first and \
            not re.search(r"^spin: _spin_nvr\.tmp:\d+, Error: assertion violated", trail, re.M):
        return False, "expected the LTL claim %s to be violated, first error: %s" % (c["ltl"], first), stats
    stuck = stuck_processes(trail)
    steps = field(r"trail ends after (\d+) steps", trail, int, 0)
    what = "invalid end state" if expect == "deadlock" else first.split(": ", 1)[-1]
    what = re.sub(r" \(at depth \d+\)$", "", what)
    if len(what) > 70:
        what = what[:67] + "..."
    msg = "rejected as expected: %s; trail %d steps (%s)" % (what, steps, os.path.join(workdir, "trail.txt"))
    if expect == "deadlock":
        names = [s[0] for s in stuck]
        missing = [b for b in c["blocked"] if b not in names]
        for name, pid, where, step in stuck:
            msg += "\n      stuck: %-9s pid %-2s at %-17s last step %s" % (name, pid, where, step)
        if c["show"]:
            msg += "\n      at the end: " + final_values(trail, c["show"])
        if not stuck:
            return False, "deadlock trail shows no stuck process:\n" + trail[-1500:], stats
        if missing:
            return False, msg + "\n    expected stuck too: " + ",".join(missing), stats
    if show_trail:
        msg += "\n" + trail
    return True, msg, stats

def replay_trail(c, workdir, show_trail):
    if not os.path.exists(os.path.join(workdir, c["file"] + ".trail")):
        return "(no trail file)"
    rc, out = run(["spin", "-t", "-p", "-g", "-l"] + c["defines"] + [c["file"]], workdir)
    with open(os.path.join(workdir, "trail.txt"), "w") as f:
        f.write(out)
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", default="tests/model")
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", default=None, help="run the checks whose name contains this")
    ap.add_argument("--trail", action="store_true", help="print every replayed trail")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="checks run at once (default: CPUs)")
    a = ap.parse_args()
    if not shutil.which("spin"):
        sys.exit("run-models: spin is not installed (Debian package 'spin')")
    checks = parse_manifest(os.path.join(a.dir, "models.txt"))
    if a.only:
        checks = [c for c in checks if a.only in c["name"]]
    passed = failed = 0
    total = time.monotonic()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs))
    futures = [pool.submit(check_one, c, a.dir, a.build, a.trail) for c in checks]
    for c, fut in zip(checks, futures):
        ok, msg, st = fut.result()
        print("model %-28s %-4s %10d states %11d transitions %7.0f MB  pan %6.2f s  total %6.2f s" % (
            c["name"], "ok" if ok else "FAIL", st.get("states", 0), st.get("transitions", 0),
            st.get("memory_mb", 0.0), st.get("pan_s", 0.0), st.get("wall_s", 0.0)))
        print("    " + msg)
        sys.stdout.flush()
        if ok:
            passed += 1
        else:
            failed += 1
    pool.shutdown()
    print("models: all checks took %.1f s (%d at a time)" % (time.monotonic() - total, max(1, a.jobs)))
    print("models: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)

main()
