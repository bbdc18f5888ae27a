#!/usr/bin/python3
"""The regression gate, run by scripts/bench-ci.sh after it has built ipcbench.

Runs the quick suite (interleaved repetitions), compares it against the committed
baseline with `ipcbench compare`, writes a markdown summary, appends the run to the
history, and draws the report and the trend. See `scripts/bench-ci.sh --help`.
Exit status: 0 no regression, 1 a regression or a failed case, 2 bad input,
130 interrupted.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plots"))
import report  # noqa: E402  (number formats, as the report shows them)
import results  # noqa: E402  (results files read as plot.py reads them)
import trend  # noqa: E402

USAGE = """\
usage: scripts/bench-ci.sh [options] [-- ipcbench run options]

The CI regression gate. Runs the quick suite with interleaved repetitions,
compares it case by case against a baseline (Mann-Whitney U per case and
metric, `ipcbench compare`), prints a markdown summary, appends the run to a
history file and draws the HTML report and a trend chart of chosen cases.

options:
  --baseline FILE        results to compare against   [results/baseline.json]
  --refresh-baseline     run the suite --baseline-runs times and write the
                         runs, merged, to the baseline file instead of
                         comparing (commit the file afterwards)
  --baseline-runs N      runs merged into a refreshed baseline, so that it
                         holds the machine's run-to-run drift, not one
                         moment of it                                    [3]
  --results FILE         gate this results file instead of running the suite
  --repetitions N        fresh pairs per case; 5 is the least at which the
                         U test can reach p < 0.05 per case              [5]
  --threshold PCT        smallest change that counts; above the run-to-run
                         noise of the machine (README: A/A runs)       [25%]
  --alpha A              significance level                           [0.05]
  --metric LIST          `ipcbench compare --metric`: primary (throughput
                         for stream, p50 for pingpong and rate), or a list
                         of p50, p99, throughput                   [primary]
  --normalize floor      compare over each run's floors (baseline from a
                         different machine)                              [off]
  --history FILE         run history, one JSON line per run
                                                     [results/history.jsonl]
  --label TEXT           shown with this run in the trend (e.g. a PR number)
  --trend-cases LIST     comma-separated regexes of case names to draw in the
                         trend                                  [a few cases]
  --out DIR              summary, results, report, charts, trend
                                                   [results/ci/<date>T<time>]
  --no-build             use the existing build/release/ipcbench (or the
                         binary named by $IPCBENCH)
  -- ARGS                passed to `ipcbench run` (e.g. --mechanisms pipe,tcp)

writes into DIR: results.json, summary.md (also appended to
$GITHUB_STEP_SUMMARY when set), compare.json, report.html and the charts,
trend.png/svg.

exit status: 0 no regression, 1 a regression or a case that failed,
2 bad input (a missing or malformed baseline or results file, as plot.py
reads them, checked before anything runs; a bad option), 130 interrupted.
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
    ap.add_argument("--baseline", default=os.path.relpath(ROOT / "results" / "baseline.json"))
    ap.add_argument("--refresh-baseline", action="store_true")
    ap.add_argument("--results")
    ap.add_argument("--repetitions", type=trend.positive_int, default=5)
    ap.add_argument("--threshold", default="25%")
    ap.add_argument("--alpha", default="0.05")
    ap.add_argument("--metric", default="primary")
    ap.add_argument("--baseline-runs", type=trend.positive_int)
    ap.add_argument("--normalize", choices=["floor"])
    ap.add_argument("--history", default=os.path.relpath(ROOT / "results" / "history.jsonl"))
    ap.add_argument("--label", default="")
    ap.add_argument("--trend-cases", default=trend.DEFAULT_CASES)
    ap.add_argument("--out")
    ap.add_argument("--no-build", action="store_true")  # handled by bench-ci.sh
    args = ap.parse_args(argv)
    args.run_args = run_args
    if args.help:
        return args
    if args.baseline_runs is not None and not args.refresh_baseline:
        raise Usage("--baseline-runs goes with --refresh-baseline")
    args.baseline_runs = args.baseline_runs or 3
    if args.refresh_baseline and args.results:
        raise Usage("--refresh-baseline runs the suite; it takes no --results")
    if args.results and run_args:
        raise Usage("--results gates an existing file; it takes no ipcbench run options")
    if args.results and not Path(args.results).exists():
        raise Usage(f"--results: no such file: {args.results}")
    if not args.refresh_baseline and not Path(args.baseline).exists():
        raise Usage(f"no baseline at {args.baseline} (make one with scripts/bench-ci.sh --refresh-baseline)")
    return args


def ipcbench():
    # $IPCBENCH: another build of it (the tests pass the binary ctest built).
    return os.environ.get("IPCBENCH") or str(ROOT / "build" / "release" / "ipcbench")


def run_suite(args, out_json):
    """The quick suite, repetitions interleaved so that a drift of the machine during
    the run widens every case's spread instead of shifting a few cases."""
    cmd = [ipcbench(), "run", "--preset", "quick", "--repetitions", str(args.repetitions), "--interleave",
           "--out", str(out_json)] + args.run_args
    print("+ " + " ".join(cmd), flush=True)
    status = subprocess.call(cmd)
    if status == 2:
        raise Usage("ipcbench run rejected its options (see above)")
    if status == 130 or not out_json.is_file():
        sys.exit(130 if status == 130 else 1)
    return status  # 1: some case failed; the rest is still worth comparing


def compare(args, base, new, fmt):
    cmd = [ipcbench(), "compare", str(base), str(new), "--threshold", args.threshold, "--alpha", args.alpha,
           "--metric", args.metric, "--format", fmt]
    if args.normalize:
        cmd += ["--normalize", args.normalize]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode == 2:
        raise Usage(done.stderr.strip() or "ipcbench compare: bad input")
    if done.returncode not in (0, 1):
        sys.stderr.write(done.stderr)
        raise RuntimeError(f"ipcbench compare exited {done.returncode}")
    return done.returncode, done.stdout


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


def fmt_ns(v):
    return report.fmt_ns(v) or "?"


def summary(args, base_ctx, new_ctx, report, table_md, failed, not_runnable):
    """The markdown a reviewer reads first: the verdict, what was compared with what,
    whether the machine itself moved, then compare's table of changes."""
    regressions = report.get("regressions", 0)
    if regressions:
        verdict = f"## :x: ipcbench: {regressions} regression(s)"
    elif failed:
        verdict = f"## :x: ipcbench: {len(failed)} case(s) failed to run"
    else:
        verdict = "## :white_check_mark: ipcbench: no regression"
    lines = [verdict, ""]
    lines.append(f"Compared `{args.results_path}` (commit `{new_ctx.get('git_commit', '?')}`, "
                 f"{new_ctx.get('date', '?')}) against the baseline `{args.baseline}` (commit "
                 f"`{base_ctx.get('git_commit', '?')}`, {base_ctx.get('date', '?')}): Mann-Whitney U per case "
                 f"and metric ({args.metric}), threshold {args.threshold}, alpha {args.alpha}"
                 + (", over each run's floors" if args.normalize else "") + ".")
    lines.append("")
    lines.append("| | baseline | this run |")
    lines.append("|---|---|---|")
    lines.append(f"| CPU | {base_ctx.get('cpu_model', '?')} | {new_ctx.get('cpu_model', '?')} |")
    for key, what in (("floor_cacheline_rtt_ns", "cache-line round trip"), ("floor_wake_rtt_ns", "wake-up round trip")):
        lines.append(f"| {what} | {floor_text(base_ctx, key)} | {floor_text(new_ctx, key)} |")
    lines.append(f"| repetitions | {order(base_ctx)} | {order(new_ctx)} |")
    lines.append("")
    notes = []
    if base_ctx.get("cpu_model") != new_ctx.get("cpu_model") and not args.normalize:
        notes.append("the two runs are from different CPUs: raw times are not comparable; use `--normalize floor`")
    for ctx, which in ((base_ctx, "baseline"), (new_ctx, "this run")):
        if ctx.get("placement_drift"):
            notes.append(f"{which}: the CPUs moved between near and far cores mid-run (cache-line floor "
                         f"{fmt_ns(ctx.get('floor_cacheline_rtt_ns'))} before, "
                         f"{fmt_ns(ctx.get('floor_cacheline_rtt_ns_after'))} after): spinning cases are suspect")
        for w in ctx.get("warnings") or []:
            notes.append(f"{which}: {w}")
    for key, what in (("floor_cacheline_rtt_ns", "cache-line"), ("floor_wake_rtt_ns", "wake-up")):
        b, n = base_ctx.get(key), new_ctx.get(key)
        if results.is_num(b) and results.is_num(n) and b > 0 and abs(n / b - 1) > 0.15:
            notes.append(f"the {what} floor moved {100 * (n / b - 1):+.0f}% between the runs: the machine changed, "
                         "not only the code; read the changes against it")
    for name, message in sorted(failed.items())[:10]:
        notes.append(f"FAILED `{name}`: {message}")
    if len(failed) > 10:
        notes.append(f"... and {len(failed) - 10} more failed case(s); see report.html")
    if not_runnable:
        notes.append(f"{len(not_runnable)} case(s) not runnable on this machine (kernel limits; the reasons are in "
                     "report.html and not_run.txt), e.g. " + next(iter(sorted(not_runnable.values()))))
    if notes:
        lines += ["**Warnings**", ""] + [f"- {n}" for n in notes] + [""]
    lines.append(table_md.rstrip())
    return "\n".join(lines) + "\n"


def floor_text(ctx, key):
    """A floor, or the range of it over a merged baseline's runs."""
    values = [r.get(key) for r in ctx.get("baseline_runs") or [] if results.is_num(r.get(key))]
    if len(values) > 1:
        return f"{fmt_ns(min(values))} to {fmt_ns(max(values))} over {len(values)} runs"
    return fmt_ns(ctx.get(key))


def order(ctx):
    runs = len(ctx.get("baseline_runs") or []) or 1
    reps = {g.get("repetitions") for g in ctx.get("grids") or [] if isinstance(g, dict)}
    reps = "/".join(str(r * runs) for r in sorted(r for r in reps if r is not None)) or "?"
    merged = f" ({runs} runs merged)" if runs > 1 else ""
    return f"{reps}{merged}, {ctx.get('repetition_order', 'consecutive')}"


def main(argv):
    args = parse(argv)
    if args.help:
        sys.stdout.write(USAGE)
        return 0
    # The files given are read (and refused, exit 2) before anything is created or run:
    # a broken baseline found after a minute of benchmarking helps nobody.
    if not args.refresh_baseline:
        base_ctx, _ = results.load(args.baseline)
    if args.results:
        new_ctx, new_benchmarks = results.load(args.results)
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    out = Path(args.out) if args.out else ROOT / "results" / "ci" / stamp
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Usage(f"cannot create {out}: {e.strerror or e}")

    if args.refresh_baseline:
        return refresh_baseline(args, out)
    run_status = 0
    if args.results:
        results_json = Path(args.results)
    else:
        results_json = out / "results.json"
        run_status = run_suite(args, results_json)
        new_ctx, new_benchmarks = results.load(results_json)
    args.results_path = results_json
    failed, not_runnable = problems(new_benchmarks)

    status, table_md = compare(args, args.baseline, results_json, "markdown")
    _, as_json = compare(args, args.baseline, results_json, "json")
    (out / "compare.json").write_text(as_json, encoding="utf-8")
    report = json.loads(as_json)
    text = summary(args, base_ctx, new_ctx, report, table_md, failed, not_runnable)
    (out / "summary.md").write_text(text, encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as f:
            f.write(text)
    print(text, flush=True)

    verdict = "regression" if status == 1 else "failed" if failed or run_status else "pass"
    append_history(args, results_json, verdict, report.get("regressions", 0))
    draw(args, results_json, out)
    print(f"ci: {verdict}; summary, report and trend in {out}")
    return 0 if verdict == "pass" else 1


def refresh_baseline(args, out):
    """Runs the suite --baseline-runs times and writes them merged: every run's
    repetitions of a case become the baseline's repetitions of it. One run holds one
    moment of a VM (its vCPU placement, its wake-up cost); several hold its drift, so
    a new run in one of those states is not taken for a change of the code."""
    docs, runs = [], []
    for i in range(args.baseline_runs):
        path = out / f"baseline-run-{i + 1}.json"
        status = run_suite(args, path)
        ctx, benchmarks = results.load(path)  # checked as any results file: exit 2, no baseline written
        failed, _ = problems(benchmarks)
        if status or failed:
            print(f"bench-ci: run {i + 1} had failed cases ({', '.join(sorted(failed)) or 'see above'}); "
                  "the baseline is not written", file=sys.stderr)
            return 1
        docs.append({"context": ctx, "benchmarks": benchmarks})
        runs.append(path)
    merged = merge_runs(docs)
    # Minified: the file is committed, and GB's compare.py reads it all the same.
    Path(args.baseline).write_text(json.dumps(merged, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"baseline written: {args.baseline} ({len(docs)} runs merged; commit it)")
    for path in runs:
        append_history(args, path, "baseline", 0)
    return 0


FLOORS = ("floor_cacheline_rtt_ns", "floor_cacheline_pair_rtt_ns", "floor_wake_rtt_ns", "floor_syscall_ns",
          "floor_clock_ns")


def merge_runs(docs):
    """One results document holding every run's repetitions (renumbered), without the
    runs' aggregates. compare --normalize floor divides by the context's floors, one set
    per file: the merged file's are the medians of its runs', each run's own kept in
    context.baseline_runs."""
    ctx = dict(docs[0]["context"])
    ctx["baseline_runs"] = [{k: d["context"].get(k) for k in ("date", "git_commit", "placement_drift") + FLOORS}
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


def append_history(args, results_json, verdict, regressions):
    trend.main(["append", str(results_json), "--history", args.history, "--verdict", verdict,
                "--regressions", str(regressions), "--label", args.label])


def draw(args, results_json, out):
    """The report and the charts of this run, and the trend over the history. A chart
    that cannot be drawn is a note, not a failed gate: the verdict is the compare's."""
    for cmd in ([sys.executable, str(ROOT / "plots" / "plot.py"), str(results_json), "--out", str(out)],
                [sys.executable, str(ROOT / "plots" / "trend.py"), "draw", "--history", args.history,
                 "--cases", args.trend_cases, "--out", str(out)]):
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"ci: note: {Path(cmd[1]).name} failed: {done.stderr.strip()}", file=sys.stderr)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (Usage, results.InputError) as e:
        print(f"bench-ci: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
