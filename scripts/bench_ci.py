#!/usr/bin/python3
"""The regression gate, run by scripts/bench-ci.sh after it has built ipcbench.

Two ways to gate, and the summary, history and charts they share:
- --against REF: REF built beside the head and both measured on this runner,
  interleaved (scripts/ci_ab.py); a flagged case is measured again before it fails.
- a committed baseline of this machine's kind (results/baselines/<kind>.json); a run
  on a kind without one gates nothing and is recorded for its kind's trend.
Exit status: 0 no regression, 1 a confirmed regression or a failed case, 2 bad
input, 130 interrupted. See `scripts/bench-ci.sh --help`.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plots"))
sys.path.insert(0, str(ROOT / "scripts"))
import ci_ab  # noqa: E402  (the same-runner A/B measurement)
import ci_summary  # noqa: E402  (the markdown a reviewer reads)
import results  # noqa: E402  (results files read as plot.py reads them)
import trend  # noqa: E402

USAGE = """\
usage: scripts/bench-ci.sh [options] [-- ipcbench run options]

The CI regression gate. Measures the quick suite (5 repetitions per case),
compares it case by case (Mann-Whitney U per case and metric, `ipcbench
compare`), prints a markdown summary, appends the run to the history of this
machine kind and draws the HTML report and a trend chart.

what it compares against:
  --against REF          build REF (a commit, e.g. the pull request's merge
                         base) in a git worktree beside this checkout and run
                         both builds here, interleaved a repetition at a time
                         (A B B A A B ...); a case flagged as a regression is
                         measured again, A and B interleaved with fresh pairs,
                         and fails the gate only if the rerun confirms it.
                         For pull requests on any runner.
  (default)              the baseline of this machine kind, CPU model and
                         kernel major: results/baselines/<kind>.json. A kind
                         without one gates nothing: the run is recorded for
                         its kind's trend. For a dedicated runner.
  --baseline FILE        that baseline instead; used only if it is of this
                         run's machine kind
  --refresh-baseline     run the suite --baseline-runs times and write the
                         runs, merged, to the baseline of this machine kind
                         (or --baseline FILE); commit it
  --baseline-runs N      runs merged into a refreshed baseline           [3]
  --results FILE         gate this results file against the baseline
                         instead of running the suite

how:
  --repetitions N        repetitions per case (per side with --against), each
                         a fresh pair; 5 is the least at which the U test
                         reaches p < 0.05                                [5]
  --threshold PCT        smallest change that counts                   [25%]
  --alpha A              significance level                           [0.05]
  --metric LIST          `ipcbench compare --metric`: primary (throughput
                         for stream, p50 for pingpong and rate), or a list
                         of p50, p99, throughput                   [primary]
  --build-dir DIR        where --against builds REF and keeps its binary
                                                             [build/bench-ci]

where:
  --history FILE         run history, one JSON line per run
                                         [results/history/<kind>.jsonl]
  --label TEXT           shown with this run in the trend (e.g. a PR number)
  --trend-cases LIST     comma-separated regexes of case names to draw in the
                         trend                                  [a few cases]
  --out DIR              summary, results, report, charts, trend
                                                   [results/ci/<date>T<time>]
  --no-build             use the existing build/release/ipcbench (or the
                         binary named by $IPCBENCH) as the head
  -- ARGS                passed to `ipcbench run` (e.g. --mechanisms pipe,tcp)

To look across machines, use `ipcbench compare --normalize floor` or its fleet
view: the gate compares raw figures of one machine kind only.

writes into DIR: results.json (the head's), summary.md (also appended to
$GITHUB_STEP_SUMMARY when set), compare.json, report.html and the charts,
trend.png/svg; with --against also first/ and rerun/ (each side's runs).

exit status: 0 no regression (or nothing to gate against), 1 a regression
(confirmed by its rerun with --against) or a case that failed, 2 bad input
(an unknown REF or one that does not build, a malformed baseline or results
file, a bad option), 130 interrupted.
"""


class Usage(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Usage(message)


def parse(argv):
    run_args = []
    if "--" in argv:
        i = argv.index("--")
        argv, run_args = argv[:i], argv[i + 1:]
    ap = Parser(add_help=False)
    ap.add_argument("-h", "--help", action="store_true")
    ap.add_argument("--against")
    ap.add_argument("--baseline")
    ap.add_argument("--refresh-baseline", action="store_true")
    ap.add_argument("--baseline-runs", type=trend.positive_int)
    ap.add_argument("--results")
    ap.add_argument("--repetitions", type=trend.positive_int, default=5)
    ap.add_argument("--threshold", default="25%")
    ap.add_argument("--alpha", default="0.05")
    ap.add_argument("--metric", default="primary")
    ap.add_argument("--build-dir", default=os.path.relpath(ROOT / "build" / "bench-ci"))
    ap.add_argument("--normalize")
    ap.add_argument("--history")
    ap.add_argument("--label", default="")
    ap.add_argument("--trend-cases", default=trend.DEFAULT_CASES)
    ap.add_argument("--out")
    ap.add_argument("--no-build", action="store_true")  # handled by bench-ci.sh
    args = ap.parse_args(argv)
    args.run_args = run_args
    if not args.help:
        check(args)
    return args


def check(args):
    if args.normalize is not None:
        raise Usage("--normalize is not a gate option: figures over floors are for looking across machines "
                    "(ipcbench compare --normalize floor, or its fleet view); the gate compares one kind raw")
    if args.baseline_runs is not None and not args.refresh_baseline:
        raise Usage("--baseline-runs goes with --refresh-baseline")
    args.baseline_runs = args.baseline_runs or 3
    modes = [m for m, on in (("--against", args.against is not None), ("--refresh-baseline", args.refresh_baseline),
                             ("--results", args.results is not None)) if on]
    if len(modes) > 1:
        raise Usage(f"{modes[0]} and {modes[1]} do not go together")
    if args.against is not None and args.baseline:
        raise Usage("--against measures its own base; it takes no --baseline")
    if args.results and args.run_args:
        raise Usage("--results gates an existing file; it takes no ipcbench run options")
    if args.results and not Path(args.results).exists():
        raise Usage(f"--results: no such file: {args.results}")
    if args.baseline and not args.refresh_baseline and not Path(args.baseline).exists():
        raise Usage(f"no baseline at {args.baseline} (make one with scripts/bench-ci.sh --refresh-baseline)")
    if any(a.startswith("--repetitions") for a in args.run_args):
        raise Usage("--repetitions is the gate's option (before --), not ipcbench run's")


def ipcbench():
    # $IPCBENCH: another build of it (the tests pass the binary ctest built).
    return os.environ.get("IPCBENCH") or str(ROOT / "build" / "release" / "ipcbench")


def default_baseline(kind):
    return os.path.relpath(ROOT / "results" / "baselines" / f"{kind}.json")


def history_path(args, kind):
    return args.history or os.path.relpath(ROOT / "results" / "history" / f"{kind}.jsonl")


def run_suite(args, out_json):
    """The quick suite in one process, repetitions interleaved (--interleave) so that a
    drift of the machine during the run widens every case's spread instead of shifting
    a few cases."""
    # The gate's sweep is quick's libraries sweep alone: the fan and boundary sweeps'
    # groups run oversubscribed on a 2-vCPU runner, too noisy to gate (run them with
    # --sweeps to gate them anyway).
    sweeps = [] if any(a.split("=")[0] == "--sweeps" for a in args.run_args) else ["--sweeps", "libraries"]
    cmd = [ipcbench(), "run", "--preset", "quick", "--repetitions", str(args.repetitions), "--interleave",
           "--out", str(out_json)] + sweeps + args.run_args
    print("+ " + " ".join(cmd), flush=True)
    status = subprocess.call(cmd)
    if status == 2:
        raise Usage("ipcbench run rejected its options (see above)")
    if status == 130 or not out_json.is_file():
        sys.exit(130 if status == 130 else 1)
    return status  # 1: some case failed; the rest is still worth comparing


def compare(args, base, new):
    """`ipcbench compare` of two files: (exit status, markdown table, JSON report)."""
    out = {}
    for fmt in ("markdown", "json"):
        cmd = [ipcbench(), "compare", str(base), str(new), "--threshold", args.threshold, "--alpha", args.alpha,
               "--metric", args.metric, "--format", fmt]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode == 2:
            raise Usage(done.stderr.strip() or "ipcbench compare: bad input")
        if done.returncode not in (0, 1):
            sys.stderr.write(done.stderr)
            raise RuntimeError(f"ipcbench compare exited {done.returncode}")
        out[fmt] = (done.returncode, done.stdout)
    return out["markdown"][0], out["markdown"][1], json.loads(out["json"][1])


def regressions(report):
    """The (case, metric) pairs compare called a regression."""
    return [(r["name"], r["metric"]) for r in report.get("rows", []) if r.get("verdict") == "REGRESSION"]


def problems(benchmarks):
    """Cases that failed (a dead or hung peer, a verification error: these fail the
    gate) and cases this machine cannot run (a kernel limit: a note, as in the
    baseline), each {case: first error message}. Rates skipped past saturation are
    neither."""
    failed, not_runnable = {}, {}
    for b in benchmarks:
        message = b.get("error_message") or "error"
        if not b.get("error_occurred") or "beyond saturation" in message:
            continue
        name = results.run_name(b)
        (not_runnable if message.startswith("not runnable") else failed).setdefault(name, message)
    return failed, not_runnable


def main(argv):
    args = parse(argv)
    if args.help:
        sys.stdout.write(USAGE)
        return 0
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    args.out = Path(args.out) if args.out else ROOT / "results" / "ci" / stamp
    if args.refresh_baseline:
        return refresh_baseline(args)
    if args.against is not None:
        return gate_against(args)
    return gate_baseline(args)


def make_out(args):
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Usage(f"cannot create {args.out}: {e.strerror or e}")


def gate_against(args):
    """Base and head built and measured here, interleaved; flagged cases measured again."""
    hook = ci_ab.injected()
    sha = ci_ab.resolve(args.against)
    if not os.access(ipcbench(), os.X_OK):
        raise Usage(f"no ipcbench at {ipcbench()} to measure as the head (build it, or drop --no-build)")
    make_out(args)
    started = datetime.datetime.now()
    binaries = {"a": ci_ab.build_ref(sha, Path(args.build_dir)), "b": ipcbench()}
    first = ci_ab.measure(binaries, args.repetitions, args.run_args, args.out / "first", "first measurement")
    if hook:
        ci_ab.slow_down(first["head"][0], hook)
    _, table_md, first_report = compare(args, first["base"][0], first["head"][0])
    flagged = regressions(first_report)
    rerun_report = None
    if flagged:
        names = sorted({name for name, _ in flagged})
        rerun_args = [a for a in args.run_args if not a.startswith("--benchmark_filter")]
        # Google Benchmark matches the names it registered, which go on past ours ('/...').
        rerun_args.append("--benchmark_filter=^(" + "|".join(names) + ")(/|$)")
        rerun = ci_ab.measure(binaries, args.repetitions, rerun_args, args.out / "rerun", "rerun")
        _, _, rerun_report = compare(args, rerun["base"][0], rerun["head"][0])
    confirmed = [f for f in flagged if f in regressions(rerun_report or {})]
    head_json = args.out / "results.json"
    head_json.write_bytes(first["head"][0].read_bytes())
    base_ctx, base_benchmarks = results.load(first["base"][0])
    new_ctx, new_benchmarks = results.load(head_json)
    failed, not_runnable = problems(new_benchmarks)
    base_failed, _ = problems(base_benchmarks)
    failed_here = {n: m for n, m in failed.items() if n not in base_failed}
    verdict = "regression" if confirmed else "failed" if failed_here else "pass"
    text = ci_summary.against(
        ci_summary.Gate(args=args, verdict=verdict, base_ctx=base_ctx, new_ctx=new_ctx, table_md=table_md,
                        failed=failed_here, not_runnable=not_runnable, failed_in_base=failed.keys() & base_failed.keys()),
        sha=sha, first=first_report, rerun=rerun_report, flagged=flagged, confirmed=confirmed, hook=hook,
        seconds=(datetime.datetime.now() - started).total_seconds())
    (args.out / "compare.json").write_text(json.dumps({"first": first_report, "rerun": rerun_report}, indent=1),
                                           encoding="utf-8")
    return finish(args, text, head_json, new_ctx, verdict, len(confirmed))


def gate_baseline(args):
    """The head's run against the committed baseline of its machine kind, if there is one."""
    # The files given are read (and refused, exit 2) before anything is run: a broken
    # baseline found after a minute of benchmarking helps nobody.
    new_ctx = new_benchmarks = None
    if args.results:
        new_ctx, new_benchmarks = results.load(args.results)
    kind = results.machine_kind(new_ctx if new_ctx is not None else results.local_context())
    args.baseline = args.baseline or default_baseline(kind)
    base_ctx = results.load(args.baseline)[0] if Path(args.baseline).exists() else None
    make_out(args)
    run_status = 0
    results_json = Path(args.results) if args.results else args.out / "results.json"
    if not args.results:
        run_status = run_suite(args, results_json)
        new_ctx, new_benchmarks = results.load(results_json)
    failed, not_runnable = problems(new_benchmarks)
    gate = ci_summary.Gate(args=args, verdict="", base_ctx=base_ctx, new_ctx=new_ctx, table_md="", failed=failed,
                           not_runnable=not_runnable, failed_in_base=set())
    report, regressed = {}, 0
    if base_ctx is not None and results.machine_kind(base_ctx) == results.machine_kind(new_ctx):
        status, gate.table_md, report = compare(args, args.baseline, results_json)
        regressed = report.get("regressions", 0)
        gate.verdict = "regression" if status == 1 else "failed" if failed or run_status else "pass"
    else:
        gate.verdict = "failed" if failed or run_status else "ungated"
    (args.out / "compare.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return finish(args, ci_summary.baseline(gate, regressed, results_json), results_json, new_ctx, gate.verdict,
                  regressed)


def finish(args, text, results_json, new_ctx, verdict, regressed):
    """Writes and prints the summary, records the run in its kind's history, draws."""
    (args.out / "summary.md").write_text(text, encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as f:
            f.write(text)
    print(text, flush=True)
    history = history_path(args, results.machine_kind(new_ctx))
    append_history(history, args.label, results_json, verdict, regressed)
    draw(args, history, results.machine_kind(new_ctx), results_json)
    print(f"ci: {verdict}; summary, report and trend in {args.out}")
    return 1 if verdict in ("regression", "failed") else 0


def refresh_baseline(args):
    """Runs the suite --baseline-runs times and writes them merged: every run's
    repetitions of a case become the baseline's repetitions of it. One run holds one
    moment of a VM (its vCPU placement, its wake-up cost); several hold its drift, so
    a new run in one of those states is not taken for a change of the code."""
    make_out(args)
    docs, runs = [], []
    for i in range(args.baseline_runs):
        path = args.out / f"baseline-run-{i + 1}.json"
        status = run_suite(args, path)
        ctx, benchmarks = results.load(path)  # checked as any results file: exit 2, no baseline written
        failed, _ = problems(benchmarks)
        if status or failed:
            print(f"bench-ci: run {i + 1} had failed cases ({', '.join(sorted(failed)) or 'see above'}); "
                  "the baseline is not written", file=sys.stderr)
            return 1
        docs.append({"context": ctx, "benchmarks": benchmarks})
        runs.append(path)
    kind = results.machine_kind(docs[0]["context"])
    target = Path(args.baseline or default_baseline(kind))
    target.parent.mkdir(parents=True, exist_ok=True)
    ci_ab.write_json(target, ci_ab.merge_runs(docs))
    print(f"baseline written: {target} ({len(docs)} runs merged, machine kind {kind}; commit it)")
    for path in runs:
        append_history(history_path(args, kind), args.label, path, "baseline", 0)
    return 0


def append_history(history, label, results_json, verdict, regressed):
    trend.main(["append", str(results_json), "--history", history, "--verdict", verdict,
                "--regressions", str(regressed), "--label", label])


def draw(args, history, kind, results_json):
    """The report and the charts of this run, and the trend over its kind's history. A
    chart that cannot be drawn is a note, not a failed gate: the verdict is the
    compare's."""
    for cmd in ([sys.executable, str(ROOT / "plots" / "plot.py"), str(results_json), "--out", str(args.out)],
                [sys.executable, str(ROOT / "plots" / "trend.py"), "draw", "--history", history,
                 "--cases", args.trend_cases, "--kind", kind, "--out", str(args.out)]):
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"ci: note: {Path(cmd[1]).name} failed: {done.stderr.strip()}", file=sys.stderr)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (Usage, results.InputError, ci_ab.BuildError) as e:
        print(f"bench-ci: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
