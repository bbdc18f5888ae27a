#!/usr/bin/python3
"""Plot ipcbench results (Google Benchmark-compatible JSON).

usage: plot.py RESULTS.json [--out DIR]

Writes into DIR (default: plots/out/<stem of RESULTS>, next to this script):
- charts as PNG and SVG, each answering one question (docs/charts.md): best_mechanism
  (the answer: the fastest mechanism per message size and way of waiting, from
  context.verdicts or computed from the main grid), latency_vs_size and
  throughput_vs_size (polling and sleeping apart), and when the run has their data
  throughput_vs_capacity (a capacity sweep), load_latency (the rate pattern),
  zero_copy (a zero-copy mechanism against the one it rides on), x_transport (each
  mechanism beside its transport), latency_spectrum,
  x_floor and wait_cost (pingpong at 64 B), distance (64 B pingpong per placement, from
  run --placement); a chart without data is skipped with a
  note on stderr. Each chart is a function in plots/charts.py; the file is read by
  plots/results.py;
- not_run.txt, listing failed, not-runnable and skipped cases;
- report.html (plots/report.py): the verdict and the answer chart first, then
  warnings (collapsed to one line), environment, floors, the other charts (linked PNGs
  next to it, so the page stays small) and a sortable, filterable table of every case.
Prints one line per written file. Bad input: one "plot.py: ..." line on stderr and
exit status 2. That includes a results file that is not Google Benchmark JSON as
ipcbench writes it: truncated or malformed, NaN or Infinity (not JSON; ipcbench
writes null), a number past a double, a field of the wrong type, a directory, or
larger than 64 MiB (MAX_BYTES; a default run's results are a few MB).
"""
import argparse
import os
import sys
from pathlib import Path

import charts  # plots/charts.py, next to this script: one function per chart
import report  # plots/report.py: report.html
import results  # plots/results.py: loading, validation, case names, mechanism facts
from results import MAX_BYTES, InputError, collect, load
# The tests reach these through plot (plot.series, plot.size_capacities).
from charts import series, size_capacities  # noqa: F401


# `ipcbench plot` runs this script with IPCBENCH_PLOT_VIA=ipcbench: its usage and its
# one line of bad input then read as ipcbench's ("ipcbench: plot: ...").
VIA_IPCBENCH = os.environ.get("IPCBENCH_PLOT_VIA") == "ipcbench"
PROG = "ipcbench plot" if VIA_IPCBENCH else "plot.py"
ERROR_PREFIX = "ipcbench: plot" if VIA_IPCBENCH else "plot.py"


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors, no abbreviated options (`--o` is no --out) and no
    option given twice (which one should win is a guess)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):  # one-line usage errors, same format as the rest
        raise InputError(message)

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        seen = set()
        for a in args:
            if a == "--":
                break
            name = a.split("=", 1)[0]
            action = self._option_string_actions.get(name)
            if action is None or isinstance(action, argparse._HelpAction):
                continue
            if action.dest in seen:
                raise InputError(f"{name}: given twice")
            seen.add(action.dest)
        return super().parse_known_args(args, namespace)


def main(argv):
    ap = Parser(prog=PROG, description="Plot ipcbench results JSON (Google Benchmark JSON as ipcbench writes it, "
                                       f"at most {MAX_BYTES >> 20} MiB).")
    ap.add_argument("results", help="results JSON written by ipcbench")
    ap.add_argument("--out", help="output directory (default: plots/out/<stem of RESULTS>)")
    args = ap.parse_args(argv)
    if args.out == "":
        raise InputError("--out: empty directory name")
    if args.out and os.path.exists(args.out) and not os.path.isdir(args.out):
        raise InputError(f"--out: {args.out} exists and is not a directory")
    ctx, benchmarks = load(args.results)
    cases, failed = collect(benchmarks)
    outdir = Path(args.out) if args.out else Path(__file__).resolve().parent / "out" / Path(args.results).stem
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create {outdir}: {e.strerror or e}")

    import matplotlib  # imported late so bad input fails fast, and only here
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker as ticker

    facts = results.mechanism_facts(ctx, benchmarks)
    canvas = charts.Canvas(plt, ticker, ctx, cases, outdir, facts)
    charts.draw_all(canvas)
    not_run = outdir / "not_run.txt"
    try:
        not_run.write_text("".join(line + "\n" for line in failed), encoding="utf-8")
        html = report.write(outdir, ctx, benchmarks, cases, failed, canvas.written, source=args.results)
    except OSError as e:
        raise InputError(f"cannot write into {outdir}: {e.strerror or e}")
    for path in canvas.written + [not_run, html]:
        print(path)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except InputError as e:
        print(f"{ERROR_PREFIX}: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # never a traceback; still say what went wrong
        print(f"{ERROR_PREFIX}: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
