#!/usr/bin/python3
"""Plot ipcbench results (Google Benchmark-compatible JSON).

usage: plot.py RESULTS.json [--out DIR]

Writes into DIR (default: plots/out/<stem of RESULTS>, next to this script):
- charts as PNG and SVG: latency_vs_size, throughput_vs_size and
  stream_latency_vs_size, and when the run has their data throughput_vs_capacity
  (a capacity sweep), load_latency (the rate pattern), zero_copy (shm_ring_zc),
  latency_spectrum, x_floor and wait_cost (pingpong at 64 B); a chart without data
  is skipped with a note on stderr;
- not_run.txt, listing failed, not-runnable and skipped cases;
- report.html (plots/report.py), one self-contained page: warnings, environment,
  floors, every chart inline with links to its files, and a sortable, filterable
  table of every case.
Prints one line per written file. Bad input: one "plot.py: ..." line on stderr and
exit status 2. That includes a results file that is not Google Benchmark JSON as
ipcbench writes it: truncated or malformed, NaN or Infinity (not JSON; ipcbench
writes null), a number past a double, a field of the wrong type, a directory, or
larger than 64 MiB (MAX_BYTES; a default run writes about 3.3 MB).
"""
import argparse
import json
import math
import os
import stat
import statistics
import sys
from pathlib import Path

import report  # plots/report.py, next to this script

COUNTERS = ("p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns", "max_ns", "msgs_per_s",
            "bytes_per_s", "capacity_effective", "verified", "errors",
            "latency_samples", "measured_msgs", "real_time", "offered_msgs_per_s", "saturated",
            "x_floor", "cpu_ns_per_msg_tx", "cpu_ns_per_msg_rx")
# Colour order: the spinning ring first (the one read against the floor), then the
# kernel mechanisms roughly by family.
KNOWN_MECHANISMS = ["shm_ring", "pipe", "unix_stream", "fifo", "unix_dgram", "unix_seqpacket",
                    "tcp", "udp", "posix_mq", "sysv_msg", "boost_mq", "shm_locked", "rpc",
                    "shm_ring_zc", "rpc_tcp", "rpc_unix"]
LINESTYLES = {"spin": "-", "block": "--"}  # any other wait mode: dotted
MARKERS = "osD^vP*X"                       # one per capacity when several


# `ipcbench plot` runs this script with IPCBENCH_PLOT_VIA=ipcbench: its usage and its
# one line of bad input then read as ipcbench's ("ipcbench: plot: ...").
VIA_IPCBENCH = os.environ.get("IPCBENCH_PLOT_VIA") == "ipcbench"
PROG = "ipcbench plot" if VIA_IPCBENCH else "plot.py"
ERROR_PREFIX = "ipcbench: plot" if VIA_IPCBENCH else "plot.py"
# The largest results file any reader accepts (as harness/compare.hpp's
# kMaxResultsBytes): refused in a moment rather than parsed into gigabytes.
MAX_BYTES = 64 << 20


class InputError(Exception):
    """Problem with the user's input: reported as one line, exit status 2."""


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


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _no_constant(name):
    raise ValueError(f"{name} is not JSON (ipcbench writes null for an undefined value)")


def _finite_float(text):
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"the number {text[:40]} is past a double's range")
    return v


def _bounded_int(text):
    # As a double it must stay finite (every reader does arithmetic on it). The length
    # test first: int() of a long literal is slow, and refused past 4300 digits anyway.
    try:
        if len(text) <= 400:
            v = int(text)
            float(v)
            return v
    except OverflowError:
        pass
    raise ValueError(f"the number {text[:40]}... is past a double's range")


def parse_json(text, where):
    """Strict JSON, as ipcbench's C++ reader takes it: no NaN or Infinity, no number
    past a double's range (Python would give inf), nesting bounded by the recursion
    limit. Any failure is one InputError."""
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except ValueError as e:  # json.JSONDecodeError, or a number or constant refused above
        raise InputError(f"{where} is not valid JSON: {e}")
    except RecursionError:
        raise InputError(f"{where} is nested too deeply (not a results file)")


def check_file(path):
    """A readable regular file (or a pipe) no larger than MAX_BYTES: a directory reads as
    an error whose message says little, and /dev/zero never ends."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}")
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path} is a directory, not a results file")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise InputError(f"{path} is not a regular file")
    if st.st_size > MAX_BYTES:
        raise InputError(f"{path} is larger than {MAX_BYTES >> 20} MiB, more than any results file "
                         "(refused rather than parsed)")


def read_text(path):
    """The text of a results file, through check_file; a pipe is read to one byte past
    the limit. A UTF-8 byte-order mark is allowed (the C++ reader skips it too)."""
    check_file(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}")
    if len(data) > MAX_BYTES:
        raise InputError(f"{path} is larger than {MAX_BYTES >> 20} MiB, more than any results file "
                         "(refused rather than parsed)")
    if not data:
        raise InputError(f"{path} is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path} is not UTF-8 text (a binary file?): {e.reason} at byte {e.start}")


# Context keys the readers (this script, report.py, trend.py, bench_ci.py) use as more
# than text, with the type each must have when present; null is always allowed.
def _list_of(kind):
    return lambda v: isinstance(v, list) and all(kind(x) for x in v)


_NUMBER = is_num
_CONTEXT_TYPES = {
    "floor_cacheline_rtt_ns": (_NUMBER, "a number"),
    "floor_cacheline_rtt_ns_after": (_NUMBER, "a number"),
    "floor_cacheline_pair_rtt_ns": (_NUMBER, "a number"),
    "floor_wake_rtt_ns": (_NUMBER, "a number"),
    "floor_wake_rtt_ns_after": (_NUMBER, "a number"),
    "floor_syscall_ns": (_NUMBER, "a number"),
    "floor_clock_ns": (_NUMBER, "a number"),
    "floor_drift": (_NUMBER, "a number"),
    "floor_memcpy_bytes_per_s": (lambda v: isinstance(v, dict) and all(is_num(x) or x is None for x in v.values()),
                                 "an object of numbers"),
    "placement_drift": (lambda v: isinstance(v, bool), "a boolean"),
    "incomplete": (lambda v: isinstance(v, bool), "a boolean"),
    "warnings": (_list_of(lambda x: isinstance(x, str)), "a list of strings"),
    "cpu_pinning": (_list_of(is_num), "a list of numbers"),
    "grids": (_list_of(lambda g: isinstance(g, dict) and all(is_num(g.get(k)) or g.get(k) is None
                                                             for k in ("repetitions", "case_seconds"))),
              "a list of objects with numeric repetitions and case_seconds"),
    "baseline_runs": (_list_of(lambda r: isinstance(r, dict)), "a list of objects"),
}
for _key in ("date", "git_commit", "cpu_model", "kernel", "preset", "host_name", "repetition_order",
             "build_type", "cpu_governor"):
    _CONTEXT_TYPES[_key] = (lambda v: isinstance(v, str), "a string")


def load(path):
    doc = parse_json(read_text(path), path)
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise InputError(f"{path} has no 'benchmarks' list")
    ctx = doc.get("context", {})
    if not isinstance(ctx, dict):
        raise InputError(f"{path}: 'context' is not an object")
    for key, (ok, what) in _CONTEXT_TYPES.items():
        if ctx.get(key) is not None and not ok(ctx[key]):
            raise InputError(f"{path}: context.{key} is not {what}")
    for i, b in enumerate(doc["benchmarks"]):
        where = f"{path}: benchmarks[{i}]"
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            raise InputError(f"{where} is not an object with a string 'name'")
        for key in ("run_name", "run_type", "aggregate_name", "error_message"):
            if key in b and not isinstance(b[key], str):
                raise InputError(f"{where}.{key} is not a string")
        if not isinstance(b.get("error_occurred", False), bool):
            raise InputError(f"{where}.error_occurred is not a boolean")
        for key in COUNTERS + ("repetition_index", "repetitions"):
            if b.get(key) is not None and not is_num(b[key]):
                raise InputError(f"{where}.{key} is not a number")
    return ctx, doc["benchmarks"]


def parse_name(name):
    """'pattern/mechanism/size:N/capacity:N/wait:W[/rate:N]' -> dict of its parts."""
    parts = name.split("/")
    params = dict(p.split(":", 1) for p in parts[2:] if ":" in p)
    try:
        if len(parts) < 3:
            raise ValueError
        size, cap = int(params["size"]), params.get("capacity", "")
        rate = int(params["rate"]) if "rate" in params else None
        # Bounded so that every chart can take them as doubles on a log axis.
        if not 0 <= size <= 1 << 62 or (rate is not None and not 0 <= rate <= 1 << 62):
            raise ValueError
    except (KeyError, ValueError):
        raise InputError(f"benchmark name {name!r} is not pattern/mechanism/size:N/...")
    return {"pattern": parts[0], "mechanism": parts[1], "size": size,
            "capacity": cap, "wait": params.get("wait", ""), "rate": rate}


def collect(benchmarks):
    """Group entries by case (run_name). Returns (cases, failed): cases maps
    run_name -> {parsed name..., "get": metric -> value or None, "entries": the
    case's JSON entries}; failed lists "run_name \u2014 reason" per case that has no data."""
    groups = {}
    for b in benchmarks:
        run = b.get("run_name")
        if run is None:  # aggregates carry a "_median"-style suffix on name
            agg = b.get("aggregate_name")
            run = b["name"][: -len(agg) - 1] if agg and b["name"].endswith("_" + agg) else b["name"]
        groups.setdefault(run, []).append(b)
    cases, failed = {}, []
    for run, entries in groups.items():
        errs = [b for b in entries if b.get("error_occurred")]
        if errs:  # no usable data; report once per case
            failed.append(f"{run} \u2014 {errs[0].get('error_message') or 'error'}")
            continue
        median = next((b for b in entries if b.get("run_type") == "aggregate"
                       and b.get("aggregate_name") == "median"), None)
        iters = [b for b in entries if b.get("run_type", "iteration") == "iteration"]

        def get(key, median=median, iters=iters):
            if median is not None and is_num(median.get(key)):
                return float(median[key])
            vals = [float(b[key]) for b in iters if is_num(b.get(key)) and math.isfinite(b[key])]
            return statistics.median(vals) if vals else None

        cases[run] = dict(parse_name(run), get=get, entries=entries)
    return cases, failed


def human_bytes(n, _pos=None):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}"
        n /= 1024


def footnote(ctx):
    pin = ctx.get("cpu_pinning")
    pin = ("pinned to CPUs " + ",".join(map(str, pin)) if isinstance(pin, list) and pin
           else "pinning unknown" if "cpu_pinning" not in ctx else "unpinned")
    parts = [str(ctx.get("cpu_model", "unknown CPU")), str(ctx.get("kernel", "unknown kernel")),
             pin, str(ctx.get("date", "unknown date"))]
    if ctx.get("incomplete"):
        parts.append("INCOMPLETE RUN")
    return "  \u00b7  ".join(parts)


def size_capacities(cases, pattern):
    """The capacities a size chart draws: those with the most cases of the pattern (the
    main grid's). A sweep's extra capacities, run for a few mechanisms or sizes only,
    have their own charts."""
    count = {}
    for c in cases.values():
        if c["pattern"] == pattern:
            count[c["capacity"]] = count.get(c["capacity"], 0) + 1
    top = max(count.values(), default=0)
    return {cap for cap, n in count.items() if n == top}


def series(cases, pattern, metric, band_metric=None, scale=1.0):
    """{(mechanism, wait, capacity): [(size, y, y_band)]} for one pattern;
    points without a positive value are dropped (log axes)."""
    out = {}
    caps = size_capacities(cases, pattern)
    for c in cases.values():
        if c["pattern"] != pattern or c["size"] <= 0 or c["capacity"] not in caps:
            continue
        y = c["get"](metric)
        if y is None or not y > 0:
            continue
        hi = c["get"](band_metric) if band_metric else None
        out.setdefault((c["mechanism"], c["wait"], c["capacity"]), []).append(
            (c["size"], y * scale, hi * scale if hi is not None else math.nan))  # nan: gap in band
    # A series at one size only (a sweep's extra wait modes) is no line: its own chart
    # shows it.
    return {k: sorted(v) for k, v in sorted(out.items(), key=lambda kv: series_order(kv[0])) if len(v) >= 2}


def cap_order(cap):
    return (len(cap), cap)  # "4" before "16" without assuming capacities are numeric


def series_order(key):
    mech, wait, cap = key
    return (mech, wait, cap_order(cap))


def mechanism_colours(plt, mechanisms):
    """A fixed colour per known mechanism, so a mechanism looks the same in every chart
    of every run (and in the trend); mechanisms added later take the remaining colours.
    tab10's distinct hues first; tab20's light shades only past ten mechanisms."""
    palette = list(plt.get_cmap("tab10").colors) + list(plt.get_cmap("tab20").colors[1::2])
    mechs = sorted(mechanisms)
    extra = [m for m in mechs if m not in KNOWN_MECHANISMS]
    colour = {m: palette[KNOWN_MECHANISMS.index(m) % len(palette)] for m in mechs if m in KNOWN_MECHANISMS}
    colour.update({m: palette[(len(KNOWN_MECHANISMS) + i) % len(palette)] for i, m in enumerate(extra)})
    return colour


class Charts:
    def __init__(self, plt, ticker, ctx, cases, outdir):
        self.plt, self.ticker, self.outdir = plt, ticker, outdir
        self.note = footnote(ctx)
        self.cases = cases
        self.colour = mechanism_colours(plt, {c["mechanism"] for c in cases.values()})
        caps = sorted(size_capacities(cases, "pingpong") | size_capacities(cases, "stream"), key=cap_order)
        self.multi_cap = len(caps) > 1
        self.marker = {cap: MARKERS[i % len(MARKERS)] for i, cap in enumerate(caps)}
        self.written = []

    def draw(self, ax, data, band):
        for (mech, wait, cap), pts in data.items():
            xs, ys, his = zip(*pts)
            label = f"{mech}, {wait}" + (f", capacity {cap}" if self.multi_cap else "")
            kw = dict(color=self.colour[mech], linestyle=LINESTYLES.get(wait, ":"))
            ax.plot(xs, ys, marker=self.marker[cap] if self.multi_cap else "o",
                    markersize=5, label=label, **kw)
            if band:  # faint p99 edge in the same style tells overlapping bands apart
                ax.fill_between(xs, ys, his, color=kw["color"], alpha=0.12, linewidth=0)
                ax.plot(xs, his, linewidth=0.7, alpha=0.5, **kw)
        sizes = sorted({p[0] for pts in data.values() for p in pts})
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        # Ticks at the measured sizes when few, else at powers of two spaced so
        # that at most 7 labels fit (e.g. 1 B, 16 B, 256 B, 4 KiB, 64 KiB, 1 MiB).
        if len(sizes) > 7:
            lo, hi = math.floor(math.log2(sizes[0])), math.ceil(math.log2(sizes[-1]))
            step = next(k for k in (1, 2, 4, 8, 10, 20, 40) if (hi - lo) // k < 7)
            sizes = [2.0 ** e for e in range(lo, hi + 1) if e % step == 0]
        ax.xaxis.set_major_locator(self.ticker.FixedLocator(sizes))
        ax.xaxis.set_major_formatter(self.ticker.FuncFormatter(human_bytes))
        ax.xaxis.set_minor_locator(self.ticker.NullLocator())
        ax.set_xlabel("message size (bytes)")
        ax.grid(True, which="major", alpha=0.3)
        ax.grid(True, which="minor", axis="y", alpha=0.1)

    def y_ticks(self, ax, fmt):
        """Label 1-2-5 steps when the y range is short (bare powers of ten leave
        only two or three labels), else powers of ten only."""
        lo, hi = ax.get_ylim()
        subs = (1.0, 2.0, 5.0) if hi / lo <= 10 ** 3.5 else (1.0,)
        ax.yaxis.set_major_locator(self.ticker.LogLocator(subs=subs))
        ax.yaxis.set_major_formatter(self.ticker.FuncFormatter(lambda v, _: fmt(v)))
        ax.yaxis.set_minor_formatter(self.ticker.NullFormatter())

    def legend(self, ax, handles_labels):
        title = "mechanism, wait" + (", capacity" if self.multi_cap else "")
        ax.legend(*handles_labels, title=title, title_fontsize=8, fontsize=8,
                  loc="upper left", bbox_to_anchor=(1.02, 1))

    def save(self, fig, name, title):
        fig.suptitle(title, fontsize=12)
        fig.text(0.5, -0.01, self.note, ha="center", va="top", fontsize=7, color="0.35")
        for ext in ("png", "svg"):
            path = self.outdir / f"{name}.{ext}"
            # bbox "tight" grows the canvas to include the outside legend and footnote.
            fig.savefig(path, dpi=130, bbox_inches="tight")
            self.written.append(path)
        self.plt.close(fig)

    def latency(self, name, pattern, title):
        data = series(self.cases, pattern, "p50_ns", "p99_ns")
        if not data:
            print(f"plot.py: note: no {pattern} latency data, skipping {name}", file=sys.stderr)
            return
        fig, ax = self.plt.subplots(figsize=(8, 5), layout="constrained")
        self.draw(ax, data, band=True)
        ax.set_ylabel("one-way latency (ns)")
        self.y_ticks(ax, lambda v: f"{v:,.0f}" if v >= 1 else f"{v:g}")
        # Say so when cases were left out for lack of latency (stream under 8 B).
        caps = size_capacities(self.cases, pattern)
        hidden = sum(not (c["get"]("p50_ns") or 0) > 0 and c["get"]("msgs_per_s") is not None
                     for c in self.cases.values() if c["pattern"] == pattern and c["capacity"] in caps)
        sub = "line: p50, shaded band: p50 to p99"
        if hidden:
            sub += f"; {hidden} case(s) without latency data not shown"
        ax.set_title(sub, fontsize=8, color="0.35")
        self.legend(ax, ax.get_legend_handles_labels())
        self.save(fig, name, title)

    def throughput(self):
        gbs = series(self.cases, "stream", "bytes_per_s", scale=1e-9)
        rate = series(self.cases, "stream", "msgs_per_s")
        if not gbs and not rate:
            print("plot.py: note: no stream throughput data, skipping throughput_vs_size",
                  file=sys.stderr)
            return
        fig, (a1, a2) = self.plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
        eng = self.ticker.EngFormatter(sep="")  # 100k, 1M, 10M
        for ax, data, ylabel, fmt in ((a1, gbs, "throughput (GB/s)", "{:g}".format),
                                      (a2, rate, "message rate (msgs/s)", eng)):
            if data:
                self.draw(ax, data, band=False)
                self.y_ticks(ax, fmt)
            ax.set_ylabel(ylabel)
        # One legend for both panels (same series), right of the second one.
        self.legend(a2, (a1 if gbs else a2).get_legend_handles_labels())
        self.save(fig, "throughput_vs_size", "stream: throughput vs message size")


    def simple_legend(self, ax, handles_labels, title):
        ax.legend(*handles_labels, title=title, title_fontsize=8, fontsize=8,
                  loc="upper left", bbox_to_anchor=(1.02, 1))

    def log2_x(self, ax, xs, fmt):
        """Log2 x axis with a tick at powers of two in range (at most ~12)."""
        ax.set_xscale("log", base=2)
        # 1023: 2.0 ** 1024 overflows (a capacity_effective near a double's top).
        lo, hi = math.floor(math.log2(min(xs))), min(1023, math.ceil(math.log2(max(xs))))
        step = max(1, math.ceil((hi - lo) / 12))
        ax.xaxis.set_major_locator(self.ticker.FixedLocator([2.0 ** e for e in range(lo, hi + 1, step)]))
        ax.xaxis.set_major_formatter(self.ticker.FuncFormatter(lambda v, _: fmt(v)))
        ax.xaxis.set_minor_locator(self.ticker.NullLocator())

    def capacity(self):
        """Stream message rate vs the capacity the kernel granted, one panel per size,
        one line per mechanism and wait mode: where a bigger buffer stops helping."""
        data = {}  # size -> (mechanism, wait) -> {capacity_effective: msgs_per_s}
        for c in self.cases.values():
            if c["pattern"] != "stream":
                continue
            x, y = c["get"]("capacity_effective"), c["get"]("msgs_per_s")
            if x is None or y is None or not x > 0 or not y > 0:
                continue  # capacity_effective 0: one message does not fit whole
            # Several requested capacities can be granted the same (a pipe's page):
            # one point each, the best rate.
            pts = data.setdefault(c["size"], {}).setdefault((c["mechanism"], c["wait"]), {})
            pts[x] = max(y, pts.get(x, 0))
        data = {size: {k: sorted(v.items()) for k, v in per.items() if len(v) >= 2}
                for size, per in data.items()}
        data = {size: per for size, per in sorted(data.items()) if per}
        if not data:
            print("plot.py: note: no capacity sweep (a stream at 2+ capacities), skipping "
                  "throughput_vs_capacity", file=sys.stderr)
            return
        n = len(data)
        fig, axes = self.plt.subplots(1, n, figsize=(5.5 * n + 2.5, 4.8), layout="constrained", squeeze=False)
        eng = self.ticker.EngFormatter(sep="")
        handles = {}
        for ax, (size, per) in zip(axes[0], data.items()):
            for (mech, wait), pts in sorted(per.items()):
                xs, ys = zip(*pts)
                line, = ax.plot(xs, ys, marker="o", markersize=4, color=self.colour[mech],
                                linestyle=LINESTYLES.get(wait, ":"), label=f"{mech}, {wait}")
                handles.setdefault(f"{mech}, {wait}", line)
            self.log2_x(ax, [x for pts in per.values() for x, _ in pts], lambda v: f"{v:g}")
            ax.set_yscale("log")
            self.y_ticks(ax, eng)
            ax.set_xlabel("capacity granted (messages in flight, capacity_effective)")
            ax.set_ylabel("message rate (msgs/s)")
            ax.set_title(f"{human_bytes(size)} messages", fontsize=10)
            ax.grid(True, which="major", alpha=0.3)
        self.simple_legend(axes[0][-1], (list(handles.values()), list(handles)), "mechanism, wait")
        self.save(fig, "throughput_vs_capacity", "stream: message rate vs granted capacity")

    def load_latency(self):
        """Rate pattern: p50 and p99 latency (from the intended send time) vs the offered
        rate, log-log, one row of panels per size. Saturated points are marked x; rates
        past saturation were skipped and are absent."""
        data = {}  # size -> (mechanism, wait, capacity) -> [(rate, p50, p99, saturated)]
        for c in self.cases.values():
            if c["pattern"] != "rate" or c["rate"] is None:
                continue
            p50, p99 = c["get"]("p50_ns"), c["get"]("p99_ns")
            if p50 is None or not p50 > 0:
                continue
            data.setdefault(c["size"], {}).setdefault((c["mechanism"], c["wait"], c["capacity"]), []).append(
                (c["rate"], p50, p99 if p99 and p99 > 0 else math.nan, bool(c["get"]("saturated"))))
        if not data:
            print("plot.py: note: no rate cases with latency, skipping load_latency", file=sys.stderr)
            return
        caps = {k[2] for per in data.values() for k in per}
        rows = sorted(data)
        fig, axes = self.plt.subplots(len(rows), 2, figsize=(13, 4.6 * len(rows)), layout="constrained",
                                      squeeze=False)
        eng = self.ticker.EngFormatter(sep="")
        handles = {}
        for row, size in zip(axes, rows):
            for col, (ax, name) in enumerate(zip(row, ("p50", "p99"))):
                for (mech, wait, cap), pts in sorted(data[size].items()):
                    pts.sort()
                    xs = [p[0] for p in pts]
                    ys = [p[1 + col] for p in pts]
                    label = f"{mech}, {wait}" + (f", capacity {cap}" if len(caps) > 1 else "")
                    line, = ax.plot(xs, ys, marker="o", markersize=4, color=self.colour[mech],
                                    linestyle=LINESTYLES.get(wait, ":"), label=label)
                    handles.setdefault(label, line)
                    sat = [(x, y) for (x, *_, s), y in zip(pts, ys) if s]
                    if sat:
                        ax.plot(*zip(*sat), linestyle="none", marker="x", markersize=9,
                                color=self.colour[mech])
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.xaxis.set_major_formatter(self.ticker.FuncFormatter(lambda v, _: eng(v)))
                self.y_ticks(ax, lambda v: f"{v:,.0f}" if v >= 1 else f"{v:g}")
                ax.set_xlabel("offered rate (msgs/s)")
                ax.set_ylabel(f"{name} one-way latency (ns)")
                ax.set_title(f"{human_bytes(size)} messages: {name}, from each message's intended send time "
                             "(x: saturated)", fontsize=9)
                ax.grid(True, which="major", alpha=0.3)
        self.simple_legend(axes[0][-1], (list(handles.values()), list(handles)),
                           "mechanism, wait" + (", capacity" if len(caps) > 1 else ""))
        self.save(fig, "load_latency", "rate (open loop): latency vs offered load")


    def zero_copy(self):
        """shm_ring against shm_ring_zc across sizes (up to 16 MiB in the zero_copy
        sweep), at the capacity where the zero-copy ring ran the most sizes: stream
        throughput and pingpong p50 side by side."""
        pair = ("shm_ring", "shm_ring_zc")
        runs = [c for c in self.cases.values() if c["mechanism"] in pair and c["size"] > 0]
        sizes_at = {}
        for c in runs:
            if c["mechanism"] == "shm_ring_zc":
                sizes_at.setdefault(c["capacity"], set()).add(c["size"])
        if not sizes_at:
            print("plot.py: note: no shm_ring_zc cases, skipping zero_copy", file=sys.stderr)
            return
        cap = max(sizes_at, key=lambda k: (len(sizes_at[k]), cap_order(k)))
        # The waits the zero-copy ring ran at that capacity: the copying ring's other
        # cases there (a capacity sweep's) are not part of the comparison.
        waits = {c["wait"] for c in runs if c["mechanism"] == "shm_ring_zc" and c["capacity"] == cap}
        runs = [c for c in runs if c["wait"] in waits]
        panels = (("stream", "bytes_per_s", 1e-9, "stream throughput (GB/s)", "{:g}".format),
                  ("pingpong", "p50_ns", 1.0, "pingpong p50 one-way latency (ns)",
                   lambda v: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
        fig, axes = self.plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
        handles = {}
        for ax, (pattern, metric, scale, ylabel, fmt) in zip(axes, panels):
            data = {}
            for c in runs:
                y = c["get"](metric)
                if c["pattern"] == pattern and c["capacity"] == cap and y is not None and y > 0:
                    data.setdefault((c["mechanism"], c["wait"]), []).append((c["size"], y * scale))
            for (mech, wait), pts in sorted(data.items()):
                xs, ys = zip(*sorted(pts))
                line, = ax.plot(xs, ys, marker="o", markersize=5, color=self.colour[mech],
                                linestyle=LINESTYLES.get(wait, ":"), label=f"{mech}, {wait}")
                handles.setdefault(f"{mech}, {wait}", line)
            if data:
                ax.set_xscale("log", base=2)
                ax.xaxis.set_major_locator(self.ticker.FixedLocator(sorted({x for pts in data.values() for x, _ in pts})))
                ax.xaxis.set_major_formatter(self.ticker.FuncFormatter(human_bytes))
                ax.xaxis.set_minor_locator(self.ticker.NullLocator())
                ax.set_yscale("log")
                self.y_ticks(ax, fmt)
            ax.set_xlabel("message size (bytes)")
            ax.set_ylabel(ylabel)
            ax.grid(True, which="major", alpha=0.3)
        axes[0].set_title(f"capacity {cap}: copy in and out vs written and read in the slot", fontsize=9)
        self.simple_legend(axes[-1], (list(handles.values()), list(handles)), "mechanism, wait")
        self.save(fig, "zero_copy", "shm_ring: copy vs zero-copy")


    def main_grid_cases(self, pattern, size):
        """The main grid's cases of one pattern at one size: the capacity with the most
        cases, as the size charts use."""
        caps = size_capacities(self.cases, pattern)
        return [c for c in self.cases.values()
                if c["pattern"] == pattern and c["size"] == size and c["capacity"] in caps]

    def spectrum(self, size=64):
        """Pingpong at one size: p50, p90, p99, p99.9, p99.99 and max per mechanism and
        wait mode, the tail and not only the middle."""
        keys = (("p50_ns", "p50"), ("p90_ns", "p90"), ("p99_ns", "p99"), ("p999_ns", "p99.9"),
                ("p9999_ns", "p99.99"), ("max_ns", "max"))
        rows = []
        for c in self.main_grid_cases("pingpong", size):
            ys = [c["get"](k) for k, _ in keys]
            if all(y is not None and y > 0 for y in ys[:3]):
                rows.append((c["mechanism"], c["wait"], ys))
        if not rows:
            print(f"plot.py: note: no pingpong percentiles at {size} B, skipping latency_spectrum", file=sys.stderr)
            return
        fig, ax = self.plt.subplots(figsize=(9, 5.5), layout="constrained")
        xs = list(range(len(keys)))
        for mech, wait, ys in sorted(rows, key=lambda r: (r[0], r[1])):
            pts = [(x, y) for x, y in zip(xs, ys) if y is not None and y > 0]
            ax.plot(*zip(*pts), marker="o", markersize=4, color=self.colour[mech],
                    linestyle=LINESTYLES.get(wait, ":"), label=f"{mech}, {wait}")
        ax.set_xticks(xs, [label for _, label in keys])
        ax.set_yscale("log")
        self.y_ticks(ax, lambda v: f"{v:,.0f}" if v >= 1 else f"{v:g}")
        ax.set_xlabel("percentile of round trips (one way = round trip / 2)")
        ax.set_ylabel("one-way latency (ns)")
        ax.grid(True, which="major", alpha=0.3)
        self.simple_legend(ax, ax.get_legend_handles_labels(), "mechanism, wait")
        self.save(fig, "latency_spectrum", f"pingpong, {human_bytes(size)}: latency percentiles, p50 to max")

    def floor_multiple(self, size=64):
        """Pingpong at one size: each case's round trip as a multiple of the matching
        floor of its own run (x_floor), best first: who is near the hardware."""
        rows = [(c["get"]("x_floor"), c["mechanism"], c["wait"]) for c in self.main_grid_cases("pingpong", size)]
        rows = sorted((x, m, w) for x, m, w in rows if x is not None and x > 0)
        if not rows:
            print(f"plot.py: note: no x_floor at {size} B, skipping x_floor", file=sys.stderr)
            return
        fig, ax = self.plt.subplots(figsize=(9, 0.28 * len(rows) + 1.5), layout="constrained")
        ys = range(len(rows))
        ax.barh(list(ys), [x for x, _, _ in rows], color=[self.colour[m] for _, m, _ in rows],
                hatch=None, alpha=0.9)
        ax.set_yticks(list(ys), [f"{m}, {w}" for _, m, w in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1, color="0.3", linewidth=1)
        ax.set_xlabel("p50 round trip / floor of the same run (cache line for polling waits, wake-up for "
                      "sleeping ones)")
        ax.grid(True, which="major", axis="x", alpha=0.3)
        self.save(fig, "x_floor", f"pingpong, {human_bytes(size)}: how far from what the hardware allows")

    def wait_cost(self, size=64):
        """Pingpong at one size: p50 latency against the CPU both sides spent per round
        trip, one point per mechanism and wait mode (every case at that size and the
        main grid's capacity, the wait sweep's included): what waiting buys and costs."""
        caps = size_capacities(self.cases, "pingpong")
        pts = []
        for c in self.cases.values():
            if c["pattern"] != "pingpong" or c["size"] != size or c["capacity"] not in caps:
                continue
            lat, tx, rx = c["get"]("p50_ns"), c["get"]("cpu_ns_per_msg_tx"), c["get"]("cpu_ns_per_msg_rx")
            if lat and tx and rx and lat > 0 and tx + rx > 0:
                pts.append((tx + rx, lat, c["mechanism"], c["wait"]))
        if not pts:
            print(f"plot.py: note: no CPU counters at {size} B, skipping wait_cost", file=sys.stderr)
            return
        fig, ax = self.plt.subplots(figsize=(9, 5.5), layout="constrained")
        markers = {"spin": "o", "spin_yield": "v", "adaptive": "D", "block": "s", "eventfd": "^", "sem": "P"}
        handles = {}
        for cpu, lat, mech, wait in pts:
            h = ax.scatter(cpu, lat, color=self.colour[mech], marker=markers.get(wait, "x"), s=36,
                           label=f"{mech}, {wait}")
            handles.setdefault(f"{mech}, {wait}", h)
            if mech.startswith("shm_ring"):
                ax.annotate(wait, (cpu, lat), textcoords="offset points", xytext=(4, 3), fontsize=7, color="0.3")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("CPU per round trip, both sides (ns; cpu_ns_per_msg_tx + _rx)")
        ax.set_ylabel("p50 one-way latency (ns)")
        ax.grid(True, which="major", alpha=0.3)
        self.simple_legend(ax, (list(handles.values()), list(handles)), "mechanism, wait")
        self.save(fig, "wait_cost", f"pingpong, {human_bytes(size)}: latency against the CPU it costs")


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

    charts = Charts(plt, ticker, ctx, cases, outdir)
    charts.latency("latency_vs_size", "pingpong", "pingpong: one-way latency vs message size")
    charts.throughput()
    charts.latency("stream_latency_vs_size", "stream", "stream: one-way latency vs message size")
    charts.capacity()
    charts.load_latency()
    charts.zero_copy()
    charts.spectrum()
    charts.floor_multiple()
    charts.wait_cost()
    not_run = outdir / "not_run.txt"
    try:
        not_run.write_text("".join(line + "\n" for line in failed), encoding="utf-8")
        html = report.write(outdir, ctx, benchmarks, cases, failed, charts.written, source=args.results)
    except OSError as e:
        raise InputError(f"cannot write into {outdir}: {e.strerror or e}")
    for path in charts.written + [not_run, html]:
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
