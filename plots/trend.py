#!/usr/bin/python3
"""Keep a history of ipcbench runs and draw chosen cases across it.

usage: trend.py append RESULTS.json --history FILE [--verdict V] [--regressions N] [--label TEXT]
       trend.py draw --history FILE [--cases LIST] [--last N] [--kind KIND] [--out DIR]

append: adds one line to FILE (JSON Lines): when, which commit, the floors, the
  verdict of the regression gate, the mechanisms in the registry's order (for
  plot.py's colours), and each case's medians over its repetitions
  (p50, p99, msgs/s, bytes/s, x_floor) with their spread. Enough to draw a
  trend without keeping every results file.
draw: writes trend.png and trend.svg into DIR (default: the history file's
  directory): the chosen cases over the last N runs (default 30), latency cases
  (pingpong, rate) in one panel and throughput cases (stream) in another, with
  runs the gate flagged marked red and runs with placement drift hollow. Only the
  runs of one machine kind (CPU model and kernel major, as results.machine_kind
  names it) are drawn: --kind, by default the kind of the history's last run. Raw
  figures of two kinds do not belong on one line.
  --cases is a comma-separated list of regular expressions matched anywhere in
  case names (default: a few 64 B pingpong and 64 KiB stream cases, one per
  mechanism family, and the ring's 64 B stream).

Bad input: one "trend.py: ..." line on stderr and exit status 2: a results file
plot.py would refuse, or a history line that is not a run record (malformed or
truncated JSON, NaN or Infinity, a field of the wrong type; the line is named). The
history is read a line at a time and only the last N runs are kept, so it may grow
without bound; a line over 64 MiB is refused.
"""
import argparse
import collections
import json
import math
import os
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import charts  # noqa: E402  (colours and line styles, as plot.py draws them)
import plot  # noqa: E402  (its argument parser)
import report  # noqa: E402  (spread and number formats, as the report shows them)
import results  # noqa: E402  (loading, validation and case names)
from results import InputError, is_num  # noqa: E402

SCHEMA = 1
METRICS = ("p50_ns", "p99_ns", "msgs_per_s", "bytes_per_s", "x_floor")
DEFAULT_CASES = (r"^pingpong/shm_ring/size:64/capacity:16/wait:spin$,"
                 r"^pingpong/pipe/size:64/capacity:16/wait:block$,"
                 r"^pingpong/unix_stream/size:64/capacity:16/wait:block$,"
                 r"^pingpong/tcp/size:64/capacity:16/wait:block$,"
                 r"^stream/shm_ring/size:64/capacity:16/wait:spin$,"
                 r"^stream/shm_ring/size:65536/capacity:16/wait:spin$,"
                 r"^stream/pipe/size:65536/capacity:16/wait:block$,"
                 r"^stream/unix_stream/size:65536/capacity:16/wait:block$")
VERDICTS = ("pass", "regression", "failed", "baseline", "ungated", "unknown")


def record(ctx, benchmarks, verdict, regressions, label):
    cases, failed = results.collect(benchmarks)
    reps = {}
    for b in benchmarks:
        if b.get("run_type", "iteration") == "iteration" and is_num(b.get("real_time")):
            reps.setdefault(b.get("run_name", b["name"]), []).append(float(b["real_time"]))
    out = {}
    for name, c in sorted(cases.items()):
        row = {k: c["get"](k) for k in METRICS}
        # 4 significant digits: finer than any run-to-run noise, a quarter of the bytes.
        row = {k: float(f"{v:.4g}") for k, v in row.items() if v is not None and math.isfinite(v)}
        s = report.spread(reps.get(name, []))  # the terminal's and the report's spread
        if s is not None:
            row["spread"] = float(f"{s:.3g}")
        out[name] = row
    floors = {k: ctx.get(k) for k in ("floor_cacheline_rtt_ns", "floor_cacheline_rtt_ns_after",
                                       "floor_cacheline_pair_rtt_ns", "floor_wake_rtt_ns",
                                       "floor_wake_rtt_ns_after", "floor_syscall_ns") if is_num(ctx.get(k))}
    return {"schema": SCHEMA, "date": ctx.get("date"), "git_commit": ctx.get("git_commit"),
            "label": label, "preset": ctx.get("preset"), "host_name": ctx.get("host_name"),
            "cpu_model": ctx.get("cpu_model"), "kernel": ctx.get("kernel"),
            "machine_kind": results.machine_kind(ctx),
            "repetition_order": ctx.get("repetition_order"), "incomplete": bool(ctx.get("incomplete")),
            "placement_drift": bool(ctx.get("placement_drift")), "floors": floors,
            "verdict": verdict, "regressions": regressions, "failed_cases": len(failed),
            # The registry's order, so that the trend gives each mechanism plot.py's colour.
            "mechanism_order": results.mechanism_order(results.mechanism_facts(ctx, benchmarks)),
            "cases": out}


def append(args):
    ctx, benchmarks = results.load(args.results)
    line = json.dumps(record(ctx, benchmarks, args.verdict, args.regressions, args.label),
                      separators=(",", ":"), sort_keys=True)
    path = Path(args.history)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab+") as f:  # one write of one line: a whole record or none
            # A line cut short by an earlier crash stays one bad line (draw names it)
            # instead of swallowing this record too.
            torn = False
            if f.seek(0, os.SEEK_END) > 0:
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"
            f.write((b"\n" if torn else b"") + line.encode("utf-8") + b"\n")
    except OSError as e:
        raise InputError(f"cannot append to {path}: {e.strerror or e}")
    print(path)
    return 0


def _text_or_none(v):
    return v is None or isinstance(v, str)


# What draw and tick_label use of a record, and the type each must have.
_RECORD_TYPES = {key: (_text_or_none, "a string") for key in
                 ("date", "git_commit", "label", "preset", "host_name", "cpu_model", "kernel", "repetition_order",
                  "verdict", "machine_kind")}
_RECORD_TYPES.update({key: (lambda v: v is None or isinstance(v, bool), "a boolean")
                      for key in ("placement_drift", "incomplete")})
_RECORD_TYPES["mechanism_order"] = (
    lambda v: v is None or (isinstance(v, list) and all(isinstance(m, str) for m in v)), "a list of strings")
_RECORD_TYPES["floors"] = (lambda v: v is None or (isinstance(v, dict) and all(is_num(x) for x in v.values())),
                           "an object of numbers")


def check_record(run, where):
    if not isinstance(run, dict) or not isinstance(run.get("cases"), dict):
        raise InputError(f"{where} is not a run record (no 'cases' object)")
    for key, (ok, what) in _RECORD_TYPES.items():
        if not ok(run.get(key)):
            raise InputError(f"{where}: {key} is not {what}")
    for name, case in run["cases"].items():
        if not isinstance(case, dict) or not all(is_num(v) or v is None for v in case.values()):
            raise InputError(f"{where}: cases[{name!r}] is not an object of numbers")


def kind_of(run):
    """A record's machine kind (records written before it was stored: from their CPU
    model and kernel)."""
    return run.get("machine_kind") or results.machine_kind(run)


def read_history(path, last=None):
    """The last `last` runs of each machine kind in the history ({kind: [runs]}, all of
    them when None), every line checked. Read a line at a time, so the memory is the
    runs kept, not the file."""
    results.check_path(path, "history file")
    runs, latest = collections.defaultdict(lambda: collections.deque(maxlen=last)), None
    try:
        with open(path, "rb") as f:
            for i, raw in enumerate(iter(lambda: f.readline(results.MAX_BYTES + 1), b""), 1):
                where = f"{path}:{i}"
                if len(raw) > results.MAX_BYTES:
                    raise InputError(f"{where} is longer than {results.MAX_BYTES >> 20} MiB (not a run record)")
                try:
                    text = raw.decode("utf-8-sig" if i == 1 else "utf-8")
                except UnicodeDecodeError as e:
                    raise InputError(f"{where} is not UTF-8 text (a binary file?): {e.reason}")
                if not text.strip():
                    continue
                run = results.parse_json(text, where)
                check_record(run, where)
                latest = kind_of(run)
                runs[latest].append(run)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}")
    if not runs:
        raise InputError(f"{path} has no runs")
    return {kind: list(r) for kind, r in runs.items()}, latest


def runs_of_kind(args):
    """The runs to draw (the last --last of --kind) and how many kinds were left out."""
    by_kind, latest = read_history(args.history, args.last)
    kind = args.kind or latest
    if kind not in by_kind:
        raise InputError(f"--kind: no run of {kind!r} in {args.history} (it has: {', '.join(sorted(by_kind))})")
    return kind, by_kind[kind], len(by_kind) - 1


def draw(args):
    kind, runs, other_kinds = runs_of_kind(args)
    try:
        patterns = [re.compile(p) for p in args.cases.split(",") if p]
    except re.error as e:
        raise InputError(f"--cases: bad regular expression: {e}")
    if not patterns:
        raise InputError("--cases: empty list")
    names = sorted({n for r in runs for n in r["cases"] if any(p.search(n) for p in patterns)})
    if not names:
        raise InputError(f"--cases matches no case in {args.history}")
    outdir = Path(args.out) if args.out else Path(args.history).resolve().parent
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create {outdir}: {e.strerror or e}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker as ticker

    colour = colours(plt, runs, names)
    # Each case relative to its own median over the runs drawn: cases three decades
    # apart share one linear axis, and a 10% step stands out as 10%.
    panels = [([n for n in names if not n.startswith("stream/")], "p50_ns", "p50 latency", report.fmt_ns),
              ([n for n in names if n.startswith("stream/")], "bytes_per_s", "throughput",
               lambda v: f"{v / 1e9:.3g} GB/s")]
    panels = [p for p in panels if p[0]]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 4.2 * len(panels)), layout="constrained",
                             squeeze=False, sharex=True)
    xs = list(range(len(runs)))
    for ax, (group, metric, what, fmt) in zip(axes[:, 0], panels):
        draw_cases(ax, group, metric, fmt, runs, colour)
        for x, r in zip(xs, runs):
            if r.get("verdict") in ("regression", "failed"):
                ax.axvspan(x - 0.4, x + 0.4, color="tab:red", alpha=0.12, linewidth=0)
        ax.axhline(100, color="0.3", linewidth=0.8)
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.0f}%"))
        ax.set_ylabel(f"{what}, % of the case's median")
        ax.set_title("higher is slower" if metric == "p50_ns" else "higher is faster", fontsize=8, color="0.35")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), title="case", title_fontsize=8)
    bottom = axes[-1, 0]
    step = max(1, math.ceil(len(runs) / 15))  # at most ~15 labels
    bottom.set_xticks(xs[::step], [tick_label(r) for r in runs[::step]], rotation=35, ha="right", fontsize=7)
    bottom.set_xlim(-0.6, len(runs) - 0.4)
    bottom.set_xlabel("run (date, commit); red band: the gate failed; hollow marker: CPU placement drifted")
    fig.suptitle(f"ipcbench trend on {kind}: {len(runs)} run(s) of {args.history}", fontsize=12)
    hosts = sorted({f"{r.get('cpu_model')}, {r.get('kernel')}" for r in runs})
    fig.text(0.5, -0.01, "  \u00b7  ".join(hosts) + (f"  \u00b7  runs of {other_kinds} other machine kind(s) "
                                                   "left out: each kind has its own trend" if other_kinds else ""),
             ha="center", va="top", fontsize=7, color="0.35")
    written = []
    for ext in ("png", "svg"):
        path = outdir / f"trend.{ext}"
        fig.savefig(path, dpi=130, bbox_inches="tight")
        written.append(path)
    plt.close(fig)
    for path in written:
        print(path)
    return 0


def draw_cases(ax, group, metric, fmt, runs, colour):
    """One line per case of the group, each run's value as a percentage of the case's
    median over the runs drawn."""
    xs = list(range(len(runs)))
    for name in group:
        c = results.parse_name(name)
        pts = [(x, r["cases"][name][metric], r) for x, r in zip(xs, runs)
               if is_num(r["cases"].get(name, {}).get(metric)) and r["cases"][name][metric] > 0]
        if not pts:
            continue
        mid = statistics.median(p[1] for p in pts)
        pts = [(x, 100 * y / mid, r) for x, y, r in pts]
        shape = results.shape_of(c)  # "3 consumers", "2 pairs": a group's case apart from the pair's
        label = (f"{c['pattern']} {c['mechanism']}, {c['wait']}, {charts.human_bytes(c['size'])}"
                 f"{', ' + shape if shape else ''} (median {fmt(mid)})")
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=colour[c["mechanism"]],
                linestyle=charts.LINESTYLES.get(c["wait"], ":"), marker="o", markersize=4, label=label)
        # Hollow markers: the CPUs moved mid-run, spinning figures are suspect.
        drift = [(x, y) for x, y, r in pts if r.get("placement_drift")]
        if drift:
            ax.plot(*zip(*drift), linestyle="none", marker="o", markersize=8, markerfacecolor="white",
                    color=colour[c["mechanism"]])


def colours(plt, runs, names):
    """A colour per mechanism of the cases drawn, as plot.py gives it: by the registry's
    order the latest run that recorded it (mechanism_order), else by name."""
    order = next((r["mechanism_order"] for r in reversed(runs) if r.get("mechanism_order")), [])
    facts = {m: {"order": i} for i, m in enumerate(order)}
    return charts.mechanism_colours(plt, facts, {results.parse_name(n)["mechanism"] for n in names})


def tick_label(run):
    date = str(run.get("date") or "?")[:16].replace("T", " ")
    commit = str(run.get("git_commit") or "?")[:8]
    label = f"{date} {commit}"
    return label + (f" {run['label']}" if run.get("label") else "")


def whole(text, least):
    if not re.fullmatch(r"-?[0-9]{1,18}", text):  # int() would take ' 5', '1_000' and other scripts' digits
        raise argparse.ArgumentTypeError(f"not a whole number of at most 18 digits: {text!r}")
    n = int(text)
    if n < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}: {text!r}")
    return n


def positive_int(text):
    return whole(text, 1)


def count(text):
    return whole(text, 0)


def main(argv):
    ap = plot.Parser(prog="trend.py", description="Keep a history of ipcbench runs and draw a trend.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=plot.Parser)
    a = sub.add_parser("append", help="append a results file's summary to the history")
    a.add_argument("results")
    a.add_argument("--history", required=True)
    a.add_argument("--verdict", choices=VERDICTS, default="unknown")
    a.add_argument("--regressions", type=count, default=0)
    a.add_argument("--label", default="", help="free text shown on the trend's x axis (e.g. a PR number)")
    d = sub.add_parser("draw", help="draw trend.png/svg from the history")
    d.add_argument("--history", required=True)
    d.add_argument("--cases", default=DEFAULT_CASES)
    d.add_argument("--last", type=positive_int, default=30)
    d.add_argument("--kind", help="the machine kind whose runs are drawn [the last run's]")
    d.add_argument("--out")
    args = ap.parse_args(argv)
    return append(args) if args.command == "append" else draw(args)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except InputError as e:
        print(f"trend.py: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # never a traceback; still say what went wrong
        print(f"trend.py: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
