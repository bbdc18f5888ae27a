#!/usr/bin/python3
"""Every reader of results files against every kind of corrupt file: exit status 2,
exactly one line on stderr with the reader's prefix, no Python traceback, no C++
exception, nothing written (no charts, no history line, no baseline). And the
valid-but-odd files every reader must accept. Usage: bad_files_test.py REPO_ROOT
IPCBENCH_BINARY; exit 77 (skip) when /usr/bin/python3 has no matplotlib.

Readers: `ipcbench compare` (the file as base and as new), `ipcbench plot`,
plots/plot.py (report.py reads no file: plot.py hands it what it loaded),
`plots/trend.py append`, scripts/bench-ci.sh with the file as --results, as
--baseline, and as one of the runs --refresh-baseline merges (a stand-in ipcbench
writes it). `plots/trend.py draw` reads the history (JSON lines): its own set.
Correctness only; the 100 MB files are made in a scratch directory and deleted.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve()
BIN = os.path.realpath(sys.argv[2])
PY = "/usr/bin/python3"
PLOT = str(ROOT / "plots" / "plot.py")
TREND = str(ROOT / "plots" / "trend.py")
GATE = str(ROOT / "scripts" / "bench-ci.sh")
BIG = 100 << 20

if subprocess.run([PY, "-c", "import matplotlib"], capture_output=True).returncode != 0:
    print(f"bad_files_test: {PY} cannot import matplotlib; skipping")
    sys.exit(77)

failures = []
checks = 0


def fail(what):
    failures.append(what)


def good_doc():
    """A small results file as ipcbench writes it: floors, two cases of five repetitions."""
    benches = []
    for name in ("pingpong/pipe/size:64/capacity:16/wait:block", "stream/shm_ring/size:64/capacity:16/wait:spin"):
        for i in range(5):
            benches.append({"name": name, "run_name": name, "run_type": "iteration", "repetition_index": i,
                            "repetitions": 5, "real_time": 1000.0 + i, "p50_ns": 100.0 + i, "p99_ns": 200.0 + i,
                            "msgs_per_s": 1e6 + i, "bytes_per_s": 6.4e7 + i, "error_occurred": False})
    ctx = {"date": "2026-11-23T10:00:00+00:00", "git_commit": "abc", "cpu_model": "Test CPU",
           "floor_cacheline_rtt_ns": 120.0, "floor_wake_rtt_ns": 60000.0, "floor_memcpy_bytes_per_s": {"64": 6e10},
           "grids": [{"name": "main", "repetitions": 5, "case_seconds": 0.1}], "cpu_pinning": [0, 1]}
    return {"context": ctx, "benchmarks": benches}


def with_entry(change):
    d = good_doc()
    change(d["benchmarks"][3])
    return json.dumps(d).encode()


def replace_first(old, new):
    text = json.dumps(good_doc())
    assert old in text, old
    return text.replace(old, new, 1).encode()


GOOD = json.dumps(good_doc()).encode()
# name -> file content (bytes), or a callable making the path in the scratch directory.
CORRUPT = {
    "empty": b"",
    "truncated": GOOD[: len(GOOD) // 2],
    "truncated_by_one_byte": GOOD[:-1],
    "malformed": b'{"benchmarks": [}]',
    "not_json": b"hello, world\n",
    "binary": bytes(range(256)) * 64,
    "not_utf8_in_a_name": b'{"benchmarks": [{"name": "\xff\xfe"}]}',
    "nul_byte": GOOD[:40] + b"\0" + GOOD[40:],
    "nan_literal": replace_first('"p50_ns": 101.0', '"p50_ns": NaN'),
    "infinity_literal": replace_first('"p50_ns": 101.0', '"p50_ns": Infinity'),
    "minus_infinity_literal": replace_first('"bytes_per_s": 64000001.0', '"bytes_per_s": -Infinity'),
    "number_1e400": replace_first('"p50_ns": 101.0', '"p50_ns": 1e400'),
    "integer_of_400_digits": replace_first('"p50_ns": 101.0', '"p50_ns": 1' + "0" * 400),
    "top_level_array": b"[]",
    "top_level_null": b"null",
    "top_level_string": b'"benchmarks"',
    "no_benchmarks": json.dumps({"context": good_doc()["context"]}).encode(),
    "benchmarks_an_object": json.dumps({"benchmarks": {"name": "a"}}).encode(),
    "benchmarks_null": b'{"benchmarks": null}',
    "entry_a_number": json.dumps({"benchmarks": good_doc()["benchmarks"] + [7]}).encode(),
    "entry_null": json.dumps({"benchmarks": [None] + good_doc()["benchmarks"]}).encode(),
    "entry_without_name": with_entry(lambda b: b.pop("name")),
    "name_a_number": with_entry(lambda b: b.update(name=64)),
    "run_name_a_list": with_entry(lambda b: b.update(run_name=["x"])),
    "run_type_a_number": with_entry(lambda b: b.update(run_type=1)),
    "error_occurred_a_string": with_entry(lambda b: b.update(error_occurred="yes")),
    "error_message_an_object": with_entry(lambda b: b.update(error_occurred=True, error_message={})),
    "p50_a_string": with_entry(lambda b: b.update(p50_ns="101")),
    "p99_an_object": with_entry(lambda b: b.update(p99_ns={"v": 1})),
    "bytes_per_s_a_list": with_entry(lambda b: b.update(bytes_per_s=[1.0])),
    "context_a_list": json.dumps(dict(good_doc(), context=[1])).encode(),
    "nested_100000_deep": b'{"benchmarks": ' + b"[" * 100000 + b"]" * 100000 + b"}",
    "missing": None,  # no such file
    "directory": lambda d: d,
    "device": lambda d: "/dev/zero",
    "size_100MB": "big",
}


def odd_doc():
    """Valid but odd, accepted by every reader: a failed case, an entry without
    run_type, a null statistic, a non-positive value, unknown fields, a 2^70 integer,
    aggregates, and (in the file) a UTF-8 byte-order mark."""
    d = good_doc()
    b = d["benchmarks"]
    b[0].pop("run_type")
    b[1]["p99_ns"] = None
    b[2]["p50_ns"] = -5.0
    b[3]["bytes_per_s"] = 2 ** 70
    b[4]["unknown"] = {"nested": [1, None, {"x": "y"}]}
    d["context"]["unknown"] = [None]
    name = "pingpong/tcp/size:64/capacity:16/wait:block"
    b += [{"name": name, "run_name": name, "run_type": "iteration", "repetition_index": i,
           "error_occurred": True, "error_message": "not runnable: a limit"} for i in range(5)]
    b.append({"name": b[5]["name"] + "_median", "run_name": b[5]["name"], "run_type": "aggregate",
              "aggregate_name": "median", "p50_ns": 102.0})
    return d


ODD = b"\xef\xbb\xbf" + json.dumps(odd_doc()).encode()


def make(tmp, kind, content):
    """The corrupt file's path."""
    if content is None:
        return os.path.join(tmp, "no-such-file.json")
    if callable(content):
        return content(tmp)
    path = os.path.join(tmp, kind + ".json")
    if content == "big":
        # 100 MB that start like a results file: refused by size, never parsed.
        with open(path, "wb") as f:
            f.write(b'{"benchmarks": [], "context": {"pad": "')
            chunk = b"x" * (1 << 20)
            for _ in range(BIG >> 20):
                f.write(chunk)
            f.write(b'"}}')
        return path
    Path(path).write_bytes(content)
    return path


def run(argv, env=None, timeout=60):
    try:
        return subprocess.run(argv, capture_output=True, timeout=timeout, env=dict(os.environ, **(env or {})))
    except subprocess.TimeoutExpired:
        return None


def check_bad(what, argv, prefix, must_not_exist=(), env=None):
    """Exit 2, one stderr line starting with prefix, no traceback; listed paths absent."""
    done = run(argv, env)
    if done is None:
        return f"{what}: still running after 60 s"
    err = done.stderr.decode(errors="replace")
    lines = err.splitlines()
    shown = f"{what}: exit {done.returncode}, stderr {err[:300]!r}"
    if done.returncode != 2:
        return shown + ": exit status is not 2"
    if len(lines) != 1:
        return shown + ": stderr is not one line"
    if not lines[0].startswith(prefix):
        return shown + f": stderr does not start with {prefix!r}"
    if "Traceback" in err or "internal error" in err or "terminate called" in err or "json.exception" in err.split(
            "(")[0]:
        return shown + ": a crash, not a message"
    for p in must_not_exist:
        if os.path.exists(p):
            return shown + f": wrote {p}"
    return None


def check_ok(what, argv, ok=(0,), env=None):
    done = run(argv, env)
    if done is None:
        return f"{what}: still running after 60 s"
    if done.returncode not in ok:
        return f"{what}: exit {done.returncode}, stderr {done.stderr.decode(errors='replace')[-400:]!r}"
    return None


def fake_ipcbench(tmp, source):
    """A stand-in for `ipcbench run` that writes `source` as its results (for the runs
    --refresh-baseline merges); anything else goes to the real binary."""
    path = os.path.join(tmp, "fake-ipcbench")
    Path(path).write_text(f"""#!/bin/sh
if [ "$1" = run ]; then
  while [ $# -gt 0 ]; do [ "$1" = --out ] && cp '{source}' "$2"; shift; done
  exit 0
fi
exec '{BIN}' "$@"
""")
    os.chmod(path, 0o755)
    return path


def results_jobs(tmp, kind, content):
    """One job per reader for one corrupt results file, each with its own output paths
    (the jobs run in parallel)."""
    d = tempfile.mkdtemp(dir=tmp, prefix=kind + "-")
    bad = make(d, kind, content)
    good = os.path.join(d, "good.json")
    Path(good).write_bytes(GOOD)
    env = {"IPCBENCH": BIN}

    def paths(i):
        return os.path.join(d, f"out{i}"), os.path.join(d, f"history{i}.jsonl")

    def gate(i):
        out, hist = paths(i)
        return [GATE, "--no-build", "--history", hist, "--out", out]

    jobs = [
        (f"{kind}: ipcbench compare BAD GOOD", [BIN, "compare", bad, good], "ipcbench: compare: ", (), None),
        (f"{kind}: ipcbench compare GOOD BAD", [BIN, "compare", good, bad], "ipcbench: compare: ", (), None),
        (f"{kind}: ipcbench plot", [BIN, "plot", bad, "--out", paths(1)[0]], "ipcbench: plot: ", paths(1), None),
        (f"{kind}: plot.py", [PY, PLOT, bad, "--out", paths(2)[0]], "plot.py: ", paths(2), None),
        (f"{kind}: trend.py append", [PY, TREND, "append", bad, "--history", paths(3)[1]], "trend.py: ", paths(3),
         None),
        (f"{kind}: bench-ci --results", gate(4) + ["--results", bad, "--baseline", good], "bench-ci: ", paths(4), env),
        (f"{kind}: bench-ci --baseline", gate(5) + ["--results", good, "--baseline", bad], "bench-ci: ", paths(5),
         env),
    ]
    if isinstance(content, bytes) or content == "big":  # a file the stand-in can copy as its results
        base = os.path.join(d, "base.json")
        jobs.append((f"{kind}: bench-ci --refresh-baseline merging it",
                     gate(6) + ["--refresh-baseline", "--baseline-runs", "2", "--baseline", base], "bench-ci: ",
                     (base, paths(6)[1]), {"IPCBENCH": fake_ipcbench(d, bad)}))
    return jobs


def record_line():
    """One history record, as trend.py append writes it for the good file."""
    d = tempfile.mkdtemp(prefix="ipcbench-bad-files-record-")
    try:
        Path(d, "good.json").write_bytes(GOOD)
        subprocess.run([PY, TREND, "append", os.path.join(d, "good.json"), "--history", os.path.join(d, "h")],
                       check=True, capture_output=True)
        return Path(d, "h").read_text().strip()
    finally:
        subprocess.run(["rm", "-rf", d])


def history_corruptions(line):
    rec = json.loads(line)

    def changed(change):
        r = copy.deepcopy(rec)
        change(r)
        return (line + "\n" + json.dumps(r) + "\n").encode()

    name = next(iter(rec["cases"]))
    return {
        "empty": b"",
        "blank_lines_only": b"\n\n  \n",
        "last_line_truncated": (line + "\n" + line[: len(line) // 2]).encode(),
        "malformed_middle_line": (line + "\n{\n" + line + "\n").encode(),
        "line_not_an_object": (line + "\n[1, 2]\n").encode(),
        "record_without_cases": changed(lambda r: r.pop("cases")),
        "cases_a_list": changed(lambda r: r.update(cases=[1])),
        "case_null": changed(lambda r: r["cases"].update({name: None})),
        "metric_a_string": changed(lambda r: r["cases"][name].update(p50_ns="100")),
        "cpu_model_a_list": changed(lambda r: r.update(cpu_model=["x"])),
        "floors_a_string": changed(lambda r: r.update(floors="x")),
        "nan_literal": (line + "\n" + line.replace('"p50_ns":', '"p50_ns":NaN,"x":', 1) + "\n").encode(),
        "number_1e400": (line + "\n" + line.replace('"p50_ns":', '"p50_ns":1e400,"x":', 1) + "\n").encode(),
        "binary": bytes(range(256)) * 64,
        "nested_100000_deep": b"[" * 100000 + b"]" * 100000 + b"\n",
        "missing": None,
        "directory": lambda d: d,
        "device": lambda d: "/dev/zero",
        "one_line_of_100MB": "big",
    }


def history_jobs(tmp, kind, content):
    d = tempfile.mkdtemp(dir=tmp, prefix="history-" + kind + "-")
    if content == "big":  # one line, no newline: refused once it passes 64 MiB
        path = os.path.join(d, "history.jsonl")
        with open(path, "wb") as f:
            chunk = b"x" * (1 << 20)
            for _ in range(BIG >> 20):
                f.write(chunk)
    else:
        path = make(d, kind, content)
    out = os.path.join(d, "out")
    return [(f"history {kind}: trend.py draw", [PY, TREND, "draw", "--history", path, "--out", out], "trend.py: ",
             (out,), None)]


def main():
    global checks
    with tempfile.TemporaryDirectory(prefix="ipcbench-bad-files-") as tmp:
        jobs = []
        for kind, content in CORRUPT.items():
            jobs += results_jobs(tmp, kind, content)
        line = record_line()
        for kind, content in history_corruptions(line).items():
            jobs += history_jobs(tmp, kind, content)
        with ThreadPoolExecutor(max_workers=4) as pool:
            for problem in pool.map(lambda j: check_bad(*j), jobs):
                checks += 1
                if problem:
                    fail(problem)
        # The 100 MB files are gone before the slower checks below.
        subprocess.run(["find", tmp, "-size", "+50M", "-delete"])

        # Valid but odd: every reader accepts it.
        odd = os.path.join(tmp, "odd.json")
        Path(odd).write_bytes(ODD)
        hist = os.path.join(tmp, "odd-history.jsonl")
        ok_jobs = [
            ("odd: ipcbench compare", [BIN, "compare", odd, odd], None),
            ("odd: plot.py", [PY, PLOT, odd, "--out", os.path.join(tmp, "odd-charts")], None),
            ("odd: trend.py append", [PY, TREND, "append", odd, "--history", hist], None),
            ("odd: bench-ci --results --baseline", [GATE, "--no-build", "--results", odd, "--baseline", odd,
                                                    "--history", os.path.join(tmp, "odd-gate.jsonl"),
                                                    "--out", os.path.join(tmp, "odd-gate")], {"IPCBENCH": BIN}),
        ]
        with ThreadPoolExecutor(max_workers=4) as pool:
            for problem in pool.map(lambda j: check_ok(j[0], j[1], env=j[2]), ok_jobs):
                checks += 1
                if problem:
                    fail(problem)
        if not Path(tmp, "odd-charts", "report.html").is_file():
            fail("odd: plot.py wrote no report.html")
        checks += 1
        # What plot.py read of it: the failed case as failed, 2^70 as a number.
        sys.path.insert(0, str(ROOT / "plots"))
        import plot
        try:
            _, benchmarks = plot.load(odd)
            cases, failed = plot.collect(benchmarks)
            if not (len(failed) == 1 and "not runnable: a limit" in failed[0] and len(cases) == 2):
                fail(f"odd: plot.collect gave {len(cases)} cases, failed {failed}")
        except Exception as e:
            fail(f"odd: plot.load: {type(e).__name__}: {e}")
        checks += 1

        # The history: odd lines accepted (a byte-order mark, blank lines, unknown keys,
        # 2^70), and a record appended after a torn last line lands on a line of its own.
        rec = json.loads(line)
        rec["unknown"] = {"a": [1]}
        rec["cases"][next(iter(rec["cases"]))]["p50_ns"] = 2 ** 70
        Path(hist).write_bytes(b"\xef\xbb\xbf" + (line + "\n\n" + json.dumps(rec) + "\n").encode())
        problem = check_ok("odd history: trend.py draw", [PY, TREND, "draw", "--history", hist,
                                                          "--out", os.path.join(tmp, "odd-trend")])
        checks += 1
        if problem:
            fail(problem)
        torn = os.path.join(tmp, "torn.jsonl")
        Path(torn).write_text(line + "\n" + line[:100])
        good = os.path.join(tmp, "good.json")
        Path(good).write_bytes(GOOD)
        run([PY, TREND, "append", good, "--history", torn])
        lines = Path(torn).read_text().split("\n")
        checks += 1
        if not (len(lines) == 4 and lines[1] == line[:100] and lines[2] == line and lines[3] == ""):
            fail(f"append after a torn line: {[x[:60] for x in lines]}")
        problem = check_bad("torn history: trend.py draw", [PY, TREND, "draw", "--history", torn, "--out",
                                                            os.path.join(tmp, "torn-out")], "trend.py: ")
        checks += 1
        if problem or ":2 " not in run([PY, TREND, "draw", "--history", torn]).stderr.decode():
            fail(problem or "torn history: the message does not name line 2")

        # A history of 100 MB of valid records: drawn, in bounded memory (read a line at
        # a time, the last 30 runs kept; reading it whole took 700 MB). The peak RSS of
        # the child is measured by a Python wrapper (RUSAGE_CHILDREN).
        big = os.path.join(tmp, "big-history.jsonl")
        with open(big, "w") as f:
            for _ in range(BIG // (len(line) + 1) + 1):
                f.write(line + "\n")
        measure = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
                   "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
        done = run([PY, "-c", measure, PY, TREND, "draw", "--history", big, "--out", os.path.join(tmp, "big-trend")])
        checks += 1
        if done is None or done.returncode != 0:
            fail(f"100 MB history: trend.py draw: {done and done.stderr.decode()[-300:]}")
        elif int(done.stdout.split()[-1]) > 300 << 10:
            fail(f"100 MB history: trend.py draw peaked at {int(done.stdout.split()[-1]) >> 10} MB (limit 300)")
        os.unlink(big)

    for f in failures:
        print("FAIL:", f)
    print(f"bad_files_test: {checks} checks, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
