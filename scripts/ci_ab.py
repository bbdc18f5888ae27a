"""Base and head measured on one runner, interleaved: the measuring half of
`scripts/bench-ci.sh --against REF` (scripts/bench_ci.py decides and reports).

Why this way: a hosted runner of one label is a different CPU model from job to job,
and one VM drifts by tens of percent within minutes. So the base (REF, built here in
a git worktree of its own) and the head (this checkout's build) run the same cases on
the same runner in the same job, one quick suite per repetition, in the order
A B B A A B B A ...: a drift that is linear over a few repetitions lands on both sides
equally, and a step lands on both within one repetition. Every repetition is a fresh
process and so a fresh pair per case. The repetitions of a side are then merged into
one results file, as a baseline's runs are.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plots"))
import results  # noqa: E402

# Test hook (tests/bench_ci_against_test.sh): "REGEX=FACTOR" makes the head's first
# measurement of the matching cases FACTOR times slower (latency multiplied,
# throughput divided) after it is measured, so that the rerun has a regression to
# refute. The summary names it whenever it is set; nothing else reads it.
INJECT_ENV = "BENCH_CI_TEST_SLOW_FIRST"

FLOORS = ("floor_cacheline_rtt_ns", "floor_cacheline_pair_rtt_ns", "floor_wake_rtt_ns", "floor_syscall_ns",
          "floor_clock_ns")


class BuildError(Exception):
    """REF could not be checked out or built: bad input to the gate (exit 2)."""


def git(*args):
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    except FileNotFoundError:
        raise BuildError("--against builds REF from this clone's history, and git is not installed")


def resolve(ref):
    """The commit REF names, or BuildError (a typo, or a shallow clone without it)."""
    done = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise BuildError(f"--against: {ref!r} is not a commit in this clone (a shallow clone? fetch it, "
                         "e.g. actions/checkout with fetch-depth: 0)")
    return done.stdout.strip()


def build_ref(sha, cache):
    """REF's ipcbench, built once per commit in a worktree of its own and kept in
    `cache` as ipcbench-<commit> (the worktree is removed after the build). Only the
    ipcbench target: the base's tests are not the gate's business."""
    binary = cache / f"ipcbench-{sha[:12]}"
    if binary.is_file() and os.access(binary, os.X_OK):
        print(f"bench-ci: base {sha[:12]}: reusing {binary}", flush=True)
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    src, log = cache / f"src-{sha[:12]}", cache / f"build-{sha[:12]}.log"
    remove_worktree(src)  # a build interrupted earlier
    if git("worktree", "add", "--detach", "--quiet", str(src), sha).returncode != 0:
        raise BuildError(f"--against: git worktree add {src} {sha[:12]} failed")
    started = time.monotonic()
    print(f"bench-ci: base {sha[:12]}: building in {src} (log: {log})", flush=True)
    # build/release, as the release preset lays a tree out: with ccache and a base_dir
    # above both trees, every source then compiles from the same relative paths as in
    # a release build of the same commit, and hits its objects.
    build = src / "build" / "release"
    try:
        with open(log, "w", encoding="utf-8") as out:
            for cmd in (["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release"],
                        ["cmake", "--build", str(build), "--target", "ipcbench", "-j", str(os.cpu_count() or 2)]):
                if subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT) != 0:
                    raise BuildError(f"--against: the base {sha[:12]} does not build (see {log})")
        shutil.copy2(build / "ipcbench", f"{binary}.tmp")
        os.replace(f"{binary}.tmp", binary)
    finally:
        remove_worktree(src)
    print(f"bench-ci: base {sha[:12]}: built in {time.monotonic() - started:.0f} s", flush=True)
    return binary


def remove_worktree(src):
    if src.exists():
        git("worktree", "remove", "--force", str(src))
        shutil.rmtree(src, ignore_errors=True)
    git("worktree", "prune")


def abba(repetitions):
    """The sides' order over 2 x repetitions runs: a b b a a b b a ..."""
    return ["ab"[(i + 1) // 2 % 2] for i in range(2 * repetitions)]


def run_side(binary, out_json, run_args, log):
    """One quick suite, one repetition, into out_json; its output goes to the log."""
    cmd = [str(binary), "run", "--preset", "quick", "--repetitions", "1", "--quiet", "--out", str(out_json)]
    log.write("+ " + " ".join(cmd + run_args) + "\n")
    log.flush()
    return subprocess.call(cmd + run_args, stdout=log, stderr=subprocess.STDOUT)


def measure(binaries, repetitions, run_args, outdir, what):
    """Both sides' suites, interleaved (abba), each side's repetitions merged into
    outdir/base.json and outdir/head.json. Returns {side: (path, exit status)}; an exit
    status of 1 means some case failed (named in its file), 2 that the build refused
    the options (BuildError), 130 an interrupt (KeyboardInterrupt)."""
    outdir.mkdir(parents=True, exist_ok=True)
    docs, status = {"a": [], "b": []}, {"a": 0, "b": 0}
    names = {"a": "base", "b": "head"}
    order = abba(repetitions)
    with open(outdir / "runs.log", "w", encoding="utf-8") as log:
        for i, side in enumerate(order):
            path = outdir / f"{names[side]}-{len(docs[side]) + 1}.json"
            started = time.monotonic()
            rc = run_side(binaries[side], path, run_args, log)
            print(f"bench-ci: {what} [{i + 1:2}/{len(order)}] {names[side]}: {time.monotonic() - started:4.1f} s"
                  + ("" if rc == 0 else f" (exit {rc})"), flush=True)
            if rc == 130:
                raise KeyboardInterrupt
            if rc == 2 or not path.is_file():
                raise BuildError(f"the {names[side]} build's ipcbench run exited {rc} with these options "
                                 f"(see {outdir / 'runs.log'})")
            status[side] = max(status[side], rc)
            ctx, benchmarks = results.load(path)
            docs[side].append({"context": ctx, "benchmarks": benchmarks})
    out = {}
    for side in "ab":
        path = outdir / f"{names[side]}.json"
        merged = merge_runs(docs[side])
        merged["context"]["repetition_order"] = "one per run, A B B A with the other build"
        write_json(path, merged)
        out[names[side]] = (path, status[side])
    return out


def merge_runs(docs):
    """One results document holding every run's repetitions (renumbered), without the
    runs' aggregates. Its floors are the medians of its runs', each run's own kept in
    context.merged_runs (the summary shows their range)."""
    ctx = dict(docs[0]["context"])
    ctx["merged_runs"] = [{k: d["context"].get(k) for k in ("date", "git_commit", "placement_drift") + FLOORS}
                          for d in docs]
    for key in FLOORS:
        values = [d["context"][key] for d in docs if results.is_num(d["context"].get(key))]
        if values:
            ctx[key] = statistics.median(values)
    memcpy = {}
    for d in docs:
        for size, v in (d["context"].get("floor_memcpy_bytes_per_s") or {}).items():
            if results.is_num(v):
                memcpy.setdefault(size, []).append(v)
    if memcpy:
        ctx["floor_memcpy_bytes_per_s"] = {size: statistics.median(v) for size, v in memcpy.items()}
    merged = {"context": ctx, "benchmarks": []}
    offset = {}
    for d in docs:
        reps = {}
        for b in d["benchmarks"]:
            if b.get("run_type", "iteration") != "iteration":
                continue  # the aggregates of one run are not the merged file's
            name = results.run_name(b)
            b = dict(b, repetition_index=offset.get(name, 0) + (b.get("repetition_index") or 0))
            b["repetitions"] = (b.get("repetitions") or 1) * len(docs)
            reps[name] = reps.get(name, 0) + 1
            merged["benchmarks"].append(b)
        for name, n in reps.items():
            offset[name] = offset.get(name, 0) + n
    return merged


def write_json(path, doc):
    # Minified: a merged file is read by ipcbench compare and GB's compare.py alike.
    Path(path).write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")


def injected():
    """The test hook's (regex, factor), or None when it is not set."""
    spec = os.environ.get(INJECT_ENV)
    if not spec:
        return None
    pattern, _, factor = spec.rpartition("=")
    try:
        return re.compile(pattern), float(factor)
    except (re.error, ValueError):
        raise BuildError(f"{INJECT_ENV}: expected REGEX=FACTOR, got {spec!r}")


def slow_down(path, hook):
    """The test hook applied to a merged results file, in place."""
    pattern, factor = hook
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    for b in doc["benchmarks"]:
        if not pattern.search(results.run_name(b)):
            continue
        for key in ("p50_ns", "p99_ns", "real_time"):
            if results.is_num(b.get(key)):
                b[key] *= factor
        for key in ("bytes_per_s", "msgs_per_s"):
            if results.is_num(b.get(key)):
                b[key] /= factor
    write_json(path, doc)
