#!/usr/bin/python3
"""The run's terminal output and what derives from its results: progress on stderr
before the first case ends (pipe and terminal), --quiet, the verdict that `summary
--format json` prints against one recomputed from the file, and --hgrm's files.
Usage: progress_test.py IPCBENCH_BINARY. Correctness only: the one timing used is
a case of 1 s against the header, which comes before any case starts.
"""
import json
import os
import pty
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time

BIN = os.path.realpath(sys.argv[1])
failures = []
# Two pingpong cases of about a second each.
TWO_CASES = ["--sweeps", "none", "--mechanisms", "pipe,unix_stream", "--patterns", "pingpong", "--sizes", "64",
             "--wait", "block", "--repetitions", "1", "--case-time", "1"]


def check(ok, what):
    if not ok:
        failures.append(what)


def timed_lines(stream):
    """(seconds since start, line) for each line of `stream` as it arrives."""
    start = time.monotonic()
    out = []
    for line in iter(stream.readline, b""):
        out.append((time.monotonic() - start, line.decode(errors="replace")))
    return out


def progress_on_a_pipe(tmp):
    p = subprocess.Popen([BIN, "run"] + TWO_CASES + ["--out", f"{tmp}/pipe.json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    lines = timed_lines(p.stderr)
    p.stdout.read()
    check(p.wait() == 0, f"run exited {p.returncode}: {lines[-3:]}")
    header = [t for t, l in lines if l.startswith("2 cases")]
    first_done = [t for t, l in lines if l.startswith("[1/2]")]
    check(header and first_done, f"no header or no [1/2] line on a pipe: {lines}")
    if header and first_done:
        # The header comes before the first case starts; that case measures for 1 s.
        check(first_done[0] - header[0] > 0.5, f"the header came with the first result: {lines}")
    check(not any("\r" in l or "\x1b" in l for _, l in lines), "a pipe got terminal control characters")


def progress_on_a_terminal(tmp):
    master, slave = pty.openpty()
    p = subprocess.Popen([BIN, "run"] + TWO_CASES + ["--out", f"{tmp}/tty.json"], stdout=subprocess.PIPE,
                         stderr=slave)
    os.close(slave)
    start, seen, first_status = time.monotonic(), b"", None
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the run closed its end
            break
        if not chunk:
            break
        seen += chunk
        if first_status is None and b"\r\x1b[K[1/2] ETA" in seen:
            first_status = time.monotonic() - start
    os.close(master)
    stdout = p.stdout.read().decode()
    check(p.wait() == 0, f"run on a terminal exited {p.returncode}")
    text = seen.decode(errors="replace")
    check(first_status is not None, f"no status line on a terminal: {text[:500]!r}")
    check(re.search(r"\[1/2\] ETA \d+:\d\d  pingpong/pipe/size:64/", text), f"status line: {text[:500]!r}")
    check("results: " in stdout and "pingpong 64 B, sleeping:" in stdout, f"stdout: {stdout!r}")


def quiet(tmp):
    done = subprocess.run([BIN, "run", "--quiet", "--sweeps", "none", "--mechanisms", "pipe", "--patterns",
                           "pingpong", "--sizes", "64", "--wait", "block", "--messages", "100", "--repetitions", "1",
                           "--out", f"{tmp}/quiet.json"], capture_output=True, text=True)
    check(done.returncode == 0, f"--quiet exited {done.returncode}: {done.stderr}")
    noise = [l for l in done.stderr.splitlines() if not l.startswith("warning: ")]
    check(not noise, f"--quiet printed progress: {noise}")
    check(f"results: {tmp}/quiet.json" in done.stdout, f"--quiet lost the results line: {done.stdout!r}")
    check("pingpong 64 B, sleeping:" in done.stdout, f"--quiet lost the verdict: {done.stdout!r}")


def recomputed_verdicts(benchmarks):
    """Per (pattern, size, waiting): each mechanism's best median, best first."""
    waiting = {"spin": "polling", "spin_yield": "polling", "adaptive": "polling", "sqpoll": "polling",
               "block": "sleeping", "eventfd": "sleeping", "sem": "sleeping"}
    values = {}
    for b in benchmarks:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        pattern, mech = b["run_name"].split("/")[:2]
        fields = dict(part.split(":") for part in b["run_name"].split("/")[2:])
        key = "p50_ns" if pattern == "pingpong" else "msgs_per_s"
        values.setdefault((pattern, int(fields["size"]), waiting[fields["wait"]], mech, b["run_name"]),
                          []).append(b[key])
    best = {}
    for (pattern, size, wait, mech, _), v in values.items():
        m = statistics.median(v)
        group = best.setdefault((pattern, size, wait), {})
        lower = pattern == "pingpong"
        if mech not in group or (m < group[mech] if lower else m > group[mech]):
            group[mech] = m
    out = {}
    for key, group in best.items():
        ranked = sorted(group.items(), key=lambda kv: (kv[1] if key[0] == "pingpong" else -kv[1], kv[0]))
        out[key] = ranked
    return out


def summary_agrees(tmp):
    path = f"{tmp}/small.json"
    done = subprocess.run([BIN, "run", "--quiet", "--sweeps", "none", "--mechanisms", "pipe,unix_stream,shm_ring",
                           "--patterns", "pingpong,stream", "--sizes", "64,4K", "--wait", "block,spin",
                           "--messages", "300", "--repetitions", "3", "--capacities", "4", "--out", path,
                           "--hgrm", f"{tmp}/hgrm"], capture_output=True, text=True)
    check(done.returncode == 0, f"small run exited {done.returncode}: {done.stderr}")
    doc = json.load(open(path))
    s = subprocess.run([BIN, "summary", path, "--format", "json"], capture_output=True, text=True)
    check(s.returncode == 0 and not s.stderr, f"summary: {s.returncode} {s.stderr}")
    verdicts = json.loads(s.stdout)["verdicts"]
    check(verdicts == doc["context"]["verdicts"], "summary's verdicts differ from the file's context.verdicts")
    want = recomputed_verdicts(doc["benchmarks"])
    got = {(v["pattern"], v["size"], v["waiting"]): v for v in verdicts}
    check(set(got) == set(want), f"verdict keys {sorted(got)} != {sorted(want)}")
    for key, ranked in want.items():
        v = got.get(key)
        if v is None:
            continue
        check(v["best"] == ranked[0][0] and abs(v["value"] - ranked[0][1]) <= 1e-9 * ranked[0][1],
              f"{key}: best {v['best']} {v['value']} != {ranked[0]}")
        if len(ranked) > 1:
            r = ranked[1][1] / ranked[0][1] if key[0] == "pingpong" else ranked[0][1] / ranked[1][1]
            check(v["runner_up"] == ranked[1][0] and abs(v["ratio"] - r) <= 1e-9 * r, f"{key}: ratio {v}")
        else:
            check(v["ratio"] is None and v["runner_up"] is None, f"{key}: a ratio without runner-up {v}")
        check(v["candidates"] == len(ranked) and v["repetitions"] == 3, f"{key}: counts {v}")
    a = subprocess.run([BIN, "summary", path, "--all", "--format", "json"], capture_output=True, text=True)
    cases = json.loads(a.stdout)["cases"]
    names = {b["run_name"] for b in doc["benchmarks"] if b.get("run_type") == "iteration"}
    check({c["name"] for c in cases} == names, "summary --all does not list every case")
    for fmt in ("table", "markdown", "csv"):
        out = subprocess.run([BIN, "summary", path, "--format", fmt], capture_output=True, text=True)
        check(out.returncode == 0 and out.stdout, f"summary --format {fmt}: {out.returncode} {out.stderr}")
    hgrm_files(f"{tmp}/hgrm", doc)


def hgrm_files(directory, doc):
    ran = {b["run_name"] for b in doc["benchmarks"] if b.get("run_type") == "iteration"
           and not b.get("error_occurred") and "p50_ns" in b}
    files = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
    check(files == sorted(n.replace("/", "_") + ".hgrm" for n in ran), f"hgrm files {files} for cases {sorted(ran)}")
    for f in files:
        text = open(os.path.join(directory, f)).read()
        rows = [l.split() for l in text.splitlines() if re.match(r"^\s+\d", l)]
        check(len(rows) > 5, f"{f}: {len(rows)} rows")
        values = [float(r[0]) for r in rows]
        pcts = [float(r[1]) for r in rows]
        counts = [int(r[2]) for r in rows]
        check(values == sorted(values) and pcts == sorted(pcts) and counts == sorted(counts),
              f"{f}: not monotonic")
        check(pcts[-1] == 1.0 and "#[Mean    =" in text and "#[Buckets =" in text and "Total count" in text,
              f"{f}: no 100% row or footer")
        check("Value     Percentile TotalCount 1/(1-Percentile)" in text, f"{f}: header")
        name = {n.replace("/", "_") + ".hgrm": n for n in ran}.get(f)
        p50s = [b["p50_ns"] for b in doc["benchmarks"]
                if b.get("run_name") == name and b.get("run_type") == "iteration" and "p50_ns" in b]
        if p50s:  # the merged repetitions' median lies between theirs (histogram buckets aside)
            p50_ns = [float(r[0]) for r in rows if float(r[1]) >= 0.5][0] * 1000
            check(min(p50s) * 0.98 <= p50_ns <= max(p50s) * 1.02, f"{f}: p50 {p50_ns} ns vs {p50s}")


def main():
    with tempfile.TemporaryDirectory(prefix="ipcbench-progress-") as tmp:
        progress_on_a_pipe(tmp)
        progress_on_a_terminal(tmp)
        quiet(tmp)
        summary_agrees(tmp)
    for f in failures:
        print("FAIL:", f)
    print(f"progress_test: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
