"""The charts plot.py draws, one function per chart, on a shared Canvas.

Each chart function takes the Canvas (the cases, a colour per mechanism, the output
directory) and writes NAME.png and NAME.svg through Canvas.save, or, when the run has
no data for it, prints a note on stderr and writes nothing. matplotlib is imported by
the caller (plot.py main) and handed in, so that bad input fails before it loads.
"""
import math
import sys

import results

LINESTYLES = {"spin": "-", "block": "--"}  # any other wait mode: dotted
MARKERS = "osD^vP*X"                       # one per capacity when several


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



def mechanism_colours(plt, facts, mechanisms):
    """A fixed colour per mechanism, so a mechanism looks the same in every chart of
    every run (and in the trend): its place in the registry's order (facts from
    results.mechanism_facts; every registered mechanism when the file names them), with
    mechanisms the facts do not know after them by name. tab10's distinct hues first;
    tab20's light shades only past ten mechanisms."""
    palette = list(plt.get_cmap("tab10").colors) + list(plt.get_cmap("tab20").colors[1::2])
    order = results.mechanism_order(facts)
    order += sorted(m for m in mechanisms if m not in facts)
    return {m: palette[i % len(palette)] for i, m in enumerate(order)}


def draw_all(cv):
    """Every chart, in the order report.html shows them."""
    latency(cv, "latency_vs_size", "pingpong", "pingpong: one-way latency vs message size")
    throughput(cv)
    latency(cv, "stream_latency_vs_size", "stream", "stream: one-way latency vs message size")
    capacity(cv)
    load_latency(cv)
    zero_copy(cv)
    spectrum(cv)
    floor_multiple(cv)
    wait_cost(cv)


class Canvas:
    """What every chart shares: pyplot and its ticker, the cases, a colour per mechanism
    and a marker per capacity, and the files written so far."""

    def __init__(self, plt, ticker, ctx, cases, outdir, facts):
        self.plt, self.ticker, self.outdir = plt, ticker, outdir
        self.note = footnote(ctx)
        self.cases = cases
        self.facts = facts
        self.colour = mechanism_colours(plt, facts, {c["mechanism"] for c in cases.values()})
        caps = sorted(size_capacities(cases, "pingpong") | size_capacities(cases, "stream"), key=cap_order)
        self.multi_cap = len(caps) > 1
        self.marker = {cap: MARKERS[i % len(MARKERS)] for i, cap in enumerate(caps)}
        self.written = []

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

    def main_grid_cases(self, pattern, size):
        """The main grid's cases of one pattern at one size: the capacity with the most
        cases, as the size charts use."""
        caps = size_capacities(self.cases, pattern)
        return [c for c in self.cases.values()
                if c["pattern"] == pattern and c["size"] == size and c["capacity"] in caps]



def size_lines(cv, ax, data, band):
    for (mech, wait, cap), pts in data.items():
        xs, ys, his = zip(*pts)
        label = f"{mech}, {wait}" + (f", capacity {cap}" if cv.multi_cap else "")
        kw = dict(color=cv.colour[mech], linestyle=LINESTYLES.get(wait, ":"))
        ax.plot(xs, ys, marker=cv.marker[cap] if cv.multi_cap else "o",
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
    ax.xaxis.set_major_locator(cv.ticker.FixedLocator(sizes))
    ax.xaxis.set_major_formatter(cv.ticker.FuncFormatter(human_bytes))
    ax.xaxis.set_minor_locator(cv.ticker.NullLocator())
    ax.set_xlabel("message size (bytes)")
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", axis="y", alpha=0.1)


def latency(cv, name, pattern, title):
    data = series(cv.cases, pattern, "p50_ns", "p99_ns")
    if not data:
        print(f"plot.py: note: no {pattern} latency data, skipping {name}", file=sys.stderr)
        return
    fig, ax = cv.plt.subplots(figsize=(8, 5), layout="constrained")
    size_lines(cv, ax, data, band=True)
    ax.set_ylabel("one-way latency (ns)")
    cv.y_ticks(ax, lambda v: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    # Say so when cases were left out for lack of latency (stream under 8 B).
    caps = size_capacities(cv.cases, pattern)
    hidden = sum(not (c["get"]("p50_ns") or 0) > 0 and c["get"]("msgs_per_s") is not None
                 for c in cv.cases.values() if c["pattern"] == pattern and c["capacity"] in caps)
    sub = "line: p50, shaded band: p50 to p99"
    if hidden:
        sub += f"; {hidden} case(s) without latency data not shown"
    ax.set_title(sub, fontsize=8, color="0.35")
    cv.legend(ax, ax.get_legend_handles_labels())
    cv.save(fig, name, title)


def throughput(cv):
    gbs = series(cv.cases, "stream", "bytes_per_s", scale=1e-9)
    rate = series(cv.cases, "stream", "msgs_per_s")
    if not gbs and not rate:
        print("plot.py: note: no stream throughput data, skipping throughput_vs_size",
              file=sys.stderr)
        return
    fig, (a1, a2) = cv.plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    eng = cv.ticker.EngFormatter(sep="")  # 100k, 1M, 10M
    for ax, data, ylabel, fmt in ((a1, gbs, "throughput (GB/s)", "{:g}".format),
                                  (a2, rate, "message rate (msgs/s)", eng)):
        if data:
            size_lines(cv, ax, data, band=False)
            cv.y_ticks(ax, fmt)
        ax.set_ylabel(ylabel)
    # One legend for both panels (same series), right of the second one.
    cv.legend(a2, (a1 if gbs else a2).get_legend_handles_labels())
    cv.save(fig, "throughput_vs_size", "stream: throughput vs message size")


def capacity(cv):
    """Stream message rate vs the capacity the kernel granted, one panel per size,
    one line per mechanism and wait mode: where a bigger buffer stops helping."""
    data = {}  # size -> (mechanism, wait) -> {capacity_effective: msgs_per_s}
    for c in cv.cases.values():
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
    fig, axes = cv.plt.subplots(1, n, figsize=(5.5 * n + 2.5, 4.8), layout="constrained", squeeze=False)
    eng = cv.ticker.EngFormatter(sep="")
    handles = {}
    for ax, (size, per) in zip(axes[0], data.items()):
        for (mech, wait), pts in sorted(per.items()):
            xs, ys = zip(*pts)
            line, = ax.plot(xs, ys, marker="o", markersize=4, color=cv.colour[mech],
                            linestyle=LINESTYLES.get(wait, ":"), label=f"{mech}, {wait}")
            handles.setdefault(f"{mech}, {wait}", line)
        cv.log2_x(ax, [x for pts in per.values() for x, _ in pts], lambda v: f"{v:g}")
        ax.set_yscale("log")
        cv.y_ticks(ax, eng)
        ax.set_xlabel("capacity granted (messages in flight, capacity_effective)")
        ax.set_ylabel("message rate (msgs/s)")
        ax.set_title(f"{human_bytes(size)} messages", fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
    cv.simple_legend(axes[0][-1], (list(handles.values()), list(handles)), "mechanism, wait")
    cv.save(fig, "throughput_vs_capacity", "stream: message rate vs granted capacity")


def load_latency(cv):
    """Rate pattern: p50 and p99 latency (from the intended send time) vs the offered
    rate, log-log, one row of panels per size. Saturated points are marked x; rates
    past saturation were skipped and are absent."""
    data = {}  # size -> (mechanism, wait, capacity) -> [(rate, p50, p99, saturated)]
    for c in cv.cases.values():
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
    fig, axes = cv.plt.subplots(len(rows), 2, figsize=(13, 4.6 * len(rows)), layout="constrained",
                                  squeeze=False)
    eng = cv.ticker.EngFormatter(sep="")
    handles = {}
    for row, size in zip(axes, rows):
        for col, (ax, name) in enumerate(zip(row, ("p50", "p99"))):
            for (mech, wait, cap), pts in sorted(data[size].items()):
                pts.sort()
                xs = [p[0] for p in pts]
                ys = [p[1 + col] for p in pts]
                label = f"{mech}, {wait}" + (f", capacity {cap}" if len(caps) > 1 else "")
                line, = ax.plot(xs, ys, marker="o", markersize=4, color=cv.colour[mech],
                                linestyle=LINESTYLES.get(wait, ":"), label=label)
                handles.setdefault(label, line)
                sat = [(x, y) for (x, *_, s), y in zip(pts, ys) if s]
                if sat:
                    ax.plot(*zip(*sat), linestyle="none", marker="x", markersize=9,
                            color=cv.colour[mech])
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.xaxis.set_major_formatter(cv.ticker.FuncFormatter(lambda v, _: eng(v)))
            cv.y_ticks(ax, lambda v: f"{v:,.0f}" if v >= 1 else f"{v:g}")
            ax.set_xlabel("offered rate (msgs/s)")
            ax.set_ylabel(f"{name} one-way latency (ns)")
            ax.set_title(f"{human_bytes(size)} messages: {name}, from each message's intended send time "
                         "(x: saturated)", fontsize=9)
            ax.grid(True, which="major", alpha=0.3)
    cv.simple_legend(axes[0][-1], (list(handles.values()), list(handles)),
                       "mechanism, wait" + (", capacity" if len(caps) > 1 else ""))
    cv.save(fig, "load_latency", "rate (open loop): latency vs offered load")


def zero_copy(cv):
    """Each zero-copy mechanism against the copying one it rides on (its transport:
    shm_ring_zc and shm_ring) across sizes (up to 16 MiB in the zero_copy sweep), at
    the capacity where the zero-copy ones ran the most sizes: stream throughput and
    pingpong p50 side by side."""
    present = {c["mechanism"] for c in cv.cases.values()}
    zc = {m for m in present if cv.facts.get(m, {}).get("zero_copy")}
    copying = sorted({cv.facts[m]["transport"] for m in zc} & present)
    runs = [c for c in cv.cases.values() if c["mechanism"] in zc | set(copying) and c["size"] > 0]
    sizes_at = {}
    for c in runs:
        if c["mechanism"] in zc:
            sizes_at.setdefault(c["capacity"], set()).add(c["size"])
    if not sizes_at:
        print("plot.py: note: no zero-copy mechanism's cases, skipping zero_copy", file=sys.stderr)
        return
    cap = max(sizes_at, key=lambda k: (len(sizes_at[k]), cap_order(k)))
    # The waits the zero-copy ones ran at that capacity: the copying ones' other cases
    # there (a capacity sweep's) are not part of the comparison.
    waits = {c["wait"] for c in runs if c["mechanism"] in zc and c["capacity"] == cap}
    runs = [c for c in runs if c["wait"] in waits]
    panels = (("stream", "bytes_per_s", 1e-9, "stream throughput (GB/s)", "{:g}".format),
              ("pingpong", "p50_ns", 1.0, "pingpong p50 one-way latency (ns)",
               lambda v: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    fig, axes = cv.plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    handles = {}
    for ax, (pattern, metric, scale, ylabel, fmt) in zip(axes, panels):
        data = {}
        for c in runs:
            y = c["get"](metric)
            if c["pattern"] == pattern and c["capacity"] == cap and y is not None and y > 0:
                data.setdefault((c["mechanism"], c["wait"]), []).append((c["size"], y * scale))
        for (mech, wait), pts in sorted(data.items()):
            xs, ys = zip(*sorted(pts))
            line, = ax.plot(xs, ys, marker="o", markersize=5, color=cv.colour[mech],
                            linestyle=LINESTYLES.get(wait, ":"), label=f"{mech}, {wait}")
            handles.setdefault(f"{mech}, {wait}", line)
        if data:
            ax.set_xscale("log", base=2)
            ax.xaxis.set_major_locator(cv.ticker.FixedLocator(sorted({x for pts in data.values() for x, _ in pts})))
            ax.xaxis.set_major_formatter(cv.ticker.FuncFormatter(human_bytes))
            ax.xaxis.set_minor_locator(cv.ticker.NullLocator())
            ax.set_yscale("log")
            cv.y_ticks(ax, fmt)
        ax.set_xlabel("message size (bytes)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_title(f"capacity {cap}: copy in and out vs written and read in the slot", fontsize=9)
    cv.simple_legend(axes[-1], (list(handles.values()), list(handles)), "mechanism, wait")
    cv.save(fig, "zero_copy", ", ".join(copying) + (": " if copying else "") + "copy vs zero-copy")


def spectrum(cv, size=64):
    """Pingpong at one size: p50, p90, p99, p99.9, p99.99 and max per mechanism and
    wait mode, the tail and not only the middle."""
    keys = (("p50_ns", "p50"), ("p90_ns", "p90"), ("p99_ns", "p99"), ("p999_ns", "p99.9"),
            ("p9999_ns", "p99.99"), ("max_ns", "max"))
    rows = []
    for c in cv.main_grid_cases("pingpong", size):
        ys = [c["get"](k) for k, _ in keys]
        if all(y is not None and y > 0 for y in ys[:3]):
            rows.append((c["mechanism"], c["wait"], ys))
    if not rows:
        print(f"plot.py: note: no pingpong percentiles at {size} B, skipping latency_spectrum", file=sys.stderr)
        return
    fig, ax = cv.plt.subplots(figsize=(9, 5.5), layout="constrained")
    xs = list(range(len(keys)))
    for mech, wait, ys in sorted(rows, key=lambda r: (r[0], r[1])):
        pts = [(x, y) for x, y in zip(xs, ys) if y is not None and y > 0]
        ax.plot(*zip(*pts), marker="o", markersize=4, color=cv.colour[mech],
                linestyle=LINESTYLES.get(wait, ":"), label=f"{mech}, {wait}")
    ax.set_xticks(xs, [label for _, label in keys])
    ax.set_yscale("log")
    cv.y_ticks(ax, lambda v: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    ax.set_xlabel("percentile of round trips (one way = round trip / 2)")
    ax.set_ylabel("one-way latency (ns)")
    ax.grid(True, which="major", alpha=0.3)
    cv.simple_legend(ax, ax.get_legend_handles_labels(), "mechanism, wait")
    cv.save(fig, "latency_spectrum", f"pingpong, {human_bytes(size)}: latency percentiles, p50 to max")


def floor_multiple(cv, size=64):
    """Pingpong at one size: each case's round trip as a multiple of the matching
    floor of its own run (x_floor), best first: who is near the hardware."""
    rows = [(c["get"]("x_floor"), c["mechanism"], c["wait"]) for c in cv.main_grid_cases("pingpong", size)]
    rows = sorted((x, m, w) for x, m, w in rows if x is not None and x > 0)
    if not rows:
        print(f"plot.py: note: no x_floor at {size} B, skipping x_floor", file=sys.stderr)
        return
    fig, ax = cv.plt.subplots(figsize=(9, 0.28 * len(rows) + 1.5), layout="constrained")
    ys = range(len(rows))
    ax.barh(list(ys), [x for x, _, _ in rows], color=[cv.colour[m] for _, m, _ in rows],
            hatch=None, alpha=0.9)
    ax.set_yticks(list(ys), [f"{m}, {w}" for _, m, w in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1, color="0.3", linewidth=1)
    ax.set_xlabel("p50 round trip / floor of the same run (cache line for polling waits, wake-up for "
                  "sleeping ones)")
    ax.grid(True, which="major", axis="x", alpha=0.3)
    cv.save(fig, "x_floor", f"pingpong, {human_bytes(size)}: how far from what the hardware allows")


def wait_cost(cv, size=64):
    """Pingpong at one size: p50 latency against the CPU both sides spent per round
    trip, one point per mechanism and wait mode (every case at that size and the
    main grid's capacity, the wait sweep's included): what waiting buys and costs."""
    caps = size_capacities(cv.cases, "pingpong")
    pts = []
    for c in cv.cases.values():
        if c["pattern"] != "pingpong" or c["size"] != size or c["capacity"] not in caps:
            continue
        lat, tx, rx = c["get"]("p50_ns"), c["get"]("cpu_ns_per_msg_tx"), c["get"]("cpu_ns_per_msg_rx")
        if lat and tx and rx and lat > 0 and tx + rx > 0:
            pts.append((tx + rx, lat, c["mechanism"], c["wait"]))
    if not pts:
        print(f"plot.py: note: no CPU counters at {size} B, skipping wait_cost", file=sys.stderr)
        return
    fig, ax = cv.plt.subplots(figsize=(9, 5.5), layout="constrained")
    markers = {"spin": "o", "spin_yield": "v", "adaptive": "D", "block": "s", "eventfd": "^", "sem": "P"}
    # Points labelled with their wait mode where a mechanism has more modes than block
    # and spin (the rings'): the legend alone would not tell six markers apart.
    waits = {}
    for *_, mech, wait in pts:
        waits.setdefault(mech, set()).add(wait)
    many = {m for m, seen in waits.items() if len(cv.facts.get(m, {}).get("waits") or seen) > 2}
    handles = {}
    for cpu, lat, mech, wait in pts:
        h = ax.scatter(cpu, lat, color=cv.colour[mech], marker=markers.get(wait, "x"), s=36,
                       label=f"{mech}, {wait}")
        handles.setdefault(f"{mech}, {wait}", h)
        if mech in many:
            ax.annotate(wait, (cpu, lat), textcoords="offset points", xytext=(4, 3), fontsize=7, color="0.3")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("CPU per round trip, both sides (ns; cpu_ns_per_msg_tx + _rx)")
    ax.set_ylabel("p50 one-way latency (ns)")
    ax.grid(True, which="major", alpha=0.3)
    cv.simple_legend(ax, (list(handles.values()), list(handles)), "mechanism, wait")
    cv.save(fig, "wait_cost", f"pingpong, {human_bytes(size)}: latency against the CPU it costs")
