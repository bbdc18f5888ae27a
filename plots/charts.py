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
# Highlighted series per axes: more cannot be told apart; the rest are drawn thin and
# grey (and are in the report's table).
HIGHLIGHT = 8
GREY = "0.78"
SPREAD_NOTE = "(dot: median of the repetitions, bar: their min to max)"


def human_bytes(n, _pos=None):
    """Message sizes: powers of two, so binary units (64 KiB, 1 MiB)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}"
        n /= 1024


def _eng(v, units):
    """v with the unit of the largest scale it reaches (the last one's scale is 1)."""
    for scale, unit in units:
        if abs(v) >= scale or scale == 1:
            return f"{v / scale:.3g}{unit}"


def fmt_ns(v, _pos=None):
    """Nanoseconds in engineering units: 850 ns, 1.2 \u00b5s, 3 ms."""
    return _eng(v, ((1e9, " s"), (1e6, " ms"), (1e3, " \u00b5s"), (1, " ns")))


def fmt_rate(v, _pos=None):
    """A count per second: 950, 12k, 3.1M."""
    return _eng(v, ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")))


def fmt_bytes_per_s(v, _pos=None):
    """Bytes per second, decimal: 850 MB/s, 5.2 GB/s."""
    return _eng(v, ((1e9, " GB/s"), (1e6, " MB/s"), (1e3, " kB/s"), (1, " B/s")))


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
    for c in results.plain_cases(cases).values():
        if c["pattern"] == pattern:
            count[c["capacity"]] = count.get(c["capacity"], 0) + 1
    top = max(count.values(), default=0)
    return {cap for cap, n in count.items() if n == top}


def series(cases, pattern, metric, scale=1.0):
    """{(mechanism, wait, capacity): [(size, y, lo, hi, repetitions)]} for one pattern
    at the main grid's capacity, one pair (no group: results.plain_cases): y the
    median over repetitions, lo..hi their range.
    Points without a positive value are dropped (log axes)."""
    out = {}
    caps = size_capacities(cases, pattern)
    for c in results.plain_cases(cases).values():
        if c["pattern"] != pattern or c["size"] <= 0 or c["capacity"] not in caps:
            continue
        y = c["get"](metric)
        if y is None or not y > 0:
            continue
        out.setdefault((c["mechanism"], c["wait"], c["capacity"]), []).append(point(c, c["size"], metric, scale))
    # A series at one size only (a sweep's extra wait modes) is no line: its own chart
    # shows it.
    return {k: sorted(v) for k, v in sorted(out.items(), key=lambda kv: series_order(kv[0])) if len(v) >= 2}


def point(c, x, metric, scale=1.0):
    """(x, median, min, max, repetitions) of a case's metric over its repetitions."""
    y = c["get"](metric) * scale
    vals = [v * scale for v in c["values"](metric) if v > 0] or [y]
    return (x, y, min(vals), max(vals), c["repetitions"])


def by_waiting(data):
    """Split {(mechanism, wait, ...): pts} into polling and sleeping (the small multiples)."""
    out = {"polling": {}, "sleeping": {}}
    for key, pts in data.items():
        way = results.waiting_of(key[1])
        if way:
            out[way][key] = pts
    return out


def highlighted(data, better):
    """The HIGHLIGHT keys of data {key: [(x, y, ...)]} with the best mean rank over the
    x values they share with the others (lower or higher y is better)."""
    if len(data) <= HIGHLIGHT:
        return set(data)
    at = {}
    for key, pts in data.items():
        for x, y, *_ in pts:
            at.setdefault(x, []).append((y if better == "lower" else -y, key))
    ranks = {key: [] for key in data}
    for ys in at.values():
        for i, (_, key) in enumerate(sorted(ys)):
            ranks[key].append(i / max(1, len(ys) - 1))
    score = {key: sum(r) / len(r) for key, r in ranks.items()}
    return set(sorted(data, key=lambda k: (score[k], tuple(map(str, k))))[:HIGHLIGHT])


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
    tab20's light shades only past ten mechanisms, tab20b's and tab20c's past twenty (a
    colour is never reused below forty)."""
    palette = (list(plt.get_cmap("tab10").colors) + list(plt.get_cmap("tab20").colors[1::2])
               + list(plt.get_cmap("tab20b").colors[::2]) + list(plt.get_cmap("tab20c").colors[::2]))
    order = results.mechanism_order(facts)
    order += sorted(m for m in mechanisms if m not in facts)
    return {m: palette[i % len(palette)] for i, m in enumerate(order)}


def draw_all(cv):
    """Every chart, in the order report.html shows them: the answer first."""
    best_mechanism(cv)
    latency(cv)
    throughput(cv)
    capacity(cv)
    load_latency(cv)
    zero_copy(cv)
    over_transport(cv)
    spectrum(cv)
    floor_multiple(cv)
    wait_cost(cv)
    fan(cv)
    pairs(cv)
    distance(cv)


class Canvas:
    """What every chart shares: pyplot and its ticker, the cases (all_cases: every
    placement's, for distance; run_cases: the run's placement, groups included, for
    fan and pairs; cases: of those, one pair's, for the rest), a colour per mechanism
    and a marker per capacity, and the files written so far."""

    def __init__(self, plt, ticker, ctx, cases, outdir, facts):
        self.plt, self.ticker, self.outdir = plt, ticker, outdir
        self.note = footnote(ctx)
        # A --placement sweep: the distance chart draws every placement, the others the
        # one on the run's own CPUs (so no chart joins points of different placements).
        self.all_cases = cases
        self.placement = run_placement(ctx, cases)
        if self.placement:
            cases = {k: c for k, c in cases.items() if c["placement"] == self.placement}
            self.note += f"; placement {self.placement} (the distance chart: every placement)"
        # Groups (fanout, fanin, --pairs) only in the fan and pairs charts: the others
        # draw one pair's cases.
        self.run_cases = cases
        self.cases = results.plain_cases(cases)
        self.facts = facts
        self.colour = mechanism_colours(plt, facts, {c["mechanism"] for c in self.all_cases.values()})
        caps = sorted(size_capacities(cases, "pingpong") | size_capacities(cases, "stream"), key=cap_order)
        self.multi_cap = len(caps) > 1
        self.marker = {cap: MARKERS[i % len(MARKERS)] for i, cap in enumerate(caps)}
        self.verdicts = results.verdicts(ctx, cases)
        self.written = []

    def y_ticks(self, ax, fmt, axis="y"):
        """Label 1-2-5 steps when the range of a log axis is short (bare powers of ten
        leave only two or three labels), else powers of ten only."""
        lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
        ax = ax.yaxis if axis == "y" else ax.xaxis
        subs = ((1.0, 1.5, 2.0, 3.0, 5.0, 7.0) if hi / lo <= 10 else (1.0, 2.0, 5.0) if hi / lo <= 10 ** 3.5
                else (1.0,))
        ax.set_major_locator(self.ticker.LogLocator(subs=subs))
        ax.set_major_formatter(self.ticker.FuncFormatter(lambda v, _: fmt(v)))
        ax.set_minor_formatter(self.ticker.NullFormatter())

    def save(self, fig, name, title, dpi=90):
        fig.suptitle(title, fontsize=12)
        fig.text(0.5, -0.01, self.note, ha="center", va="top", fontsize=7, color="0.35")
        for ext in ("png", "svg"):
            path = self.outdir / f"{name}.{ext}"
            # bbox "tight" grows the canvas to include the outside legend and footnote.
            # 90 dpi: sharp enough on screen, and the report stays small (the SVG is
            # there for print and zoom).
            fig.savefig(path, dpi=dpi, bbox_inches="tight")
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



PLACEMENTS = ("same_cpu", "smt_sibling", "same_l3", "cross_l3", "cross_numa")  # nearest first


def run_placement(ctx, cases):
    """The placement the charts other than distance draw when the cases hold several:
    the one on the run's own CPUs (context.cpu_pinning), else the nearest with cases;
    "" when the cases hold one placement or none."""
    present = {c["placement"] for c in cases.values()}
    if len(present) < 2:
        return ""
    pinned = ctx.get("cpu_pinning")
    for name, p in (ctx.get("placements") or {}).items():
        if isinstance(p, dict) and p.get("cpus") == pinned and name in present:
            return name
    return next(p for p in PLACEMENTS + tuple(sorted(present)) if p in present)


def distance(cv, size=64):
    """The cost of distance: pingpong p50 one-way latency at one size per placement (x:
    nearest to farthest), a series per mechanism and wait mode, polling and sleeping
    apart, the repetitions' range as bars. Drawn when the results hold several placements."""
    chosen = {k: c for k, c in results.plain_cases(cv.all_cases).items()
              if c["pattern"] == "pingpong" and c["size"] == size and c["placement"]}
    cases = list(chosen.values())
    order = [p for p in PLACEMENTS if any(c["placement"] == p for c in cases)]
    order += sorted({c["placement"] for c in cases} - set(order))
    caps = size_capacities(chosen, "pingpong")
    data = {}
    for c in cases:
        if c["capacity"] in caps and (c["get"]("p50_ns") or 0) > 0:
            data.setdefault((c["mechanism"], c["wait"]), []).append(point(c, order.index(c["placement"]), "p50_ns"))
    split = by_waiting(data)
    if len(order) < 2 or not any(split.values()):
        print(f"plot.py: note: no {size} B pingpong at two placements or more, skipping distance", file=sys.stderr)
        return
    fig, axes = cv.plt.subplots(1, 2, figsize=(12, 5.4), layout="constrained")
    for ax, (way, part) in zip(axes, split.items()):
        ax.set_title(waiting_title(way), fontsize=10)
        if not part:
            ax.set_axis_off()
            continue
        handles, labels, _ = draw_series(cv, ax, part, "lower")
        ax.set_xticks(range(len(order)), [p.replace("_", " ") for p in order])
        ax.set_xlim(-0.5, len(order) - 0.5)
        ax.set_yscale("log")
        cv.y_ticks(ax, fmt_ns)
        ax.set_xlabel("placement of the two sides (nearest to farthest)")
        ax.set_ylabel("p50 one-way latency (round trip / 2)")
        ax.grid(True, which="major", alpha=0.3)
        panel_legend(ax, handles, labels)
    cv.save(fig, "distance", f"pingpong, {human_bytes(size)}: the cost of distance between the two sides")


def draw_series(cv, ax, data, better, label=None, marker=None):
    """Each series of data {key: [(x, y, lo, hi, repetitions)]}, key (mechanism, wait,
    ...): the HIGHLIGHT best in their mechanism's colour, a dot (or marker(key)) at the
    median with the repetitions' range as a bar, hollow where there was one repetition
    (no spread); the others thin and grey, without a legend entry. Returns (handles,
    labels, the highlighted keys)."""
    from matplotlib.lines import Line2D
    label = label or (lambda k: f"{k[0]}, {k[1]}")
    marker = marker or (lambda k: "o")
    top = highlighted(data, better)
    handles, labels, single = [], [], False
    for key, pts in data.items():
        xs, ys, lo, hi, reps = zip(*sorted(pts))
        if key not in top:
            ax.plot(xs, ys, color=GREY, linewidth=0.7, zorder=1)
            continue
        colour = cv.colour.get(key[0], "0.4")
        line, = ax.plot(xs, ys, color=colour, linestyle=LINESTYLES.get(key[1], ":"), linewidth=1.4,
                        marker=marker(key), markersize=4.5, zorder=3)
        ax.errorbar(xs, ys, yerr=[[max(0, y - v) for y, v in zip(ys, lo)], [max(0, v - y) for y, v in zip(ys, hi)]],
                    fmt="none", ecolor=colour, elinewidth=1, capsize=2, zorder=3)
        one = [(x, y) for x, y, n in zip(xs, ys, reps) if n <= 1]
        if one:
            single = True
            ax.plot(*zip(*one), linestyle="none", marker=marker(key), markersize=4.5, markerfacecolor="white",
                    markeredgecolor=colour, zorder=4)
        handles.append(line)
        labels.append(label(key))
    if len(top) < len(data):
        handles.append(Line2D([], [], color=GREY, linewidth=0.7))
        labels.append(f"{len(data) - len(top)} more (grey; in the table)")
    if single:
        handles.append(Line2D([], [], color="0.3", marker="o", markerfacecolor="white", linestyle="none"))
        labels.append("hollow: one repetition (no spread)")
    return handles, labels, top


def panel_legend(ax, handles, labels):
    """A legend under its own panel: each small multiple names its own series."""
    if handles:
        ax.legend(handles, labels, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2,
                  frameon=False)


def size_axis(cv, ax, sizes):
    """Log2 x axis of message sizes; ticks at the measured sizes when few, else at
    powers of two spaced so that at most 7 labels fit."""
    sizes = sorted(sizes)
    ax.set_xscale("log", base=2)
    if len(sizes) > 7:
        lo, hi = math.floor(math.log2(sizes[0])), math.ceil(math.log2(sizes[-1]))
        step = next(k for k in (1, 2, 4, 8, 10, 20, 40) if (hi - lo) // k < 7)
        sizes = [2.0 ** e for e in range(lo, hi + 1) if e % step == 0]
    ax.xaxis.set_major_locator(cv.ticker.FixedLocator(sizes))
    ax.xaxis.set_major_formatter(cv.ticker.FuncFormatter(human_bytes))
    ax.xaxis.set_minor_locator(cv.ticker.NullLocator())
    ax.set_xlabel("message size")
    ax.grid(True, which="major", alpha=0.3)


def waiting_title(way):
    return f"{way} ({', '.join(results.WAITING[way])})"


def size_multiples(cv, data, better, ylabel, fmt):
    """Two panels, polling and sleeping, of series against message size. Returns the
    figure, or None when neither has data."""
    split = by_waiting(data)
    if not any(split.values()):
        return None
    fig, axes = cv.plt.subplots(1, 2, figsize=(12, 5.4), layout="constrained")
    for ax, (way, part) in zip(axes, split.items()):
        ax.set_title(waiting_title(way), fontsize=10)
        if not part:
            ax.text(0.5, 0.5, "no cases", ha="center", va="center", transform=ax.transAxes, color="0.5")
            ax.set_axis_off()
            continue
        label = (lambda k: f"{k[0]}, {k[1]}, capacity {k[2]}") if cv.multi_cap else None
        handles, labels, _ = draw_series(cv, ax, part, better, label)
        size_axis(cv, ax, {p[0] for pts in part.values() for p in pts})
        ax.set_yscale("log")
        cv.y_ticks(ax, fmt)
        ax.set_ylabel(ylabel)
        panel_legend(ax, handles, labels)
    return fig


def latency(cv):
    fig = size_multiples(cv, series(cv.cases, "pingpong", "p50_ns"), "lower", "p50 one-way latency", fmt_ns)
    if fig is None:
        print("plot.py: note: no pingpong latency data, skipping latency_vs_size", file=sys.stderr)
        return
    cv.save(fig, "latency_vs_size", "pingpong: which mechanism answers fastest at each message size?\n" + SPREAD_NOTE)


def throughput(cv):
    fig = size_multiples(cv, series(cv.cases, "stream", "bytes_per_s"), "higher", "throughput (payload bytes/s)",
                         fmt_bytes_per_s)
    if fig is None:
        print("plot.py: note: no stream throughput data, skipping throughput_vs_size", file=sys.stderr)
        return
    cv.save(fig, "throughput_vs_size", "stream: which mechanism moves the most bytes at each message size?\n"
            + SPREAD_NOTE)


# Where the capacity chart puts capacity 0 (a rendezvous: each send waits until the
# message is taken) on its log2 axis: one step left of capacity 1.
RENDEZVOUS_X = 0.5


def capacity_tick(v):
    return "0" if v == RENDEZVOUS_X else f"{v:g}"


def capacity_points(cv):
    """{(size, waiting): ({(mechanism, wait): [line points]}, {(mechanism, wait): the
    main grid's point})}: stream msgs/s against the capacity granted. The sweep's
    points (one repetition each, say) make the line; the main grid's case at its
    capacity (more repetitions) is a mark of its own, not a point of the line. A run
    whose main grid has several capacities and no sweep joins those instead (their
    repetitions are alike)."""
    main = results.main_grid(cv.cases)
    found = ({}, {})  # sweep's, main grid's: panel -> key -> {capacity granted: point}
    for run, c in cv.cases.items():
        way = results.waiting_of(c["wait"])
        if c["pattern"] != "stream" or way is None:
            continue
        x, y = c["get"]("capacity_effective"), c["get"]("msgs_per_s")
        if c["capacity"] == "0" and x == 0:
            x = RENDEZVOUS_X  # a rendezvous: the line's first point, left of capacity 1
        if x is None or y is None or not x > 0 or not y > 0:
            continue  # capacity_effective 0: one message does not fit whole
        # Several requested capacities can be granted the same (a pipe's page): the best.
        pts = found[run in main].setdefault((c["size"], way), {}).setdefault((c["mechanism"], c["wait"]), {})
        if x not in pts or y > pts[x][1]:
            pts[x] = point(c, x, "msgs_per_s")

    def lines(found_):
        return {panel: {k: list(v.values()) for k, v in sorted(per.items()) if len(v) >= 2}
                for panel, per in found_.items()}

    sweep, marks = lines(found[False]), found[True]
    if not any(sweep.values()):
        sweep, marks = lines(found[True]), {}
    out = {}
    for panel, per in sorted(sweep.items(), key=lambda kv: (kv[0][0], kv[0][1] != "polling")):
        if per:
            main_pts = {k: max(v.values(), key=lambda p: p[4]) for k, v in marks.get(panel, {}).items() if k in per}
            out[panel] = (per, main_pts)
    return out


def capacity(cv):
    """Stream message rate vs the capacity the kernel granted, a panel per size and way
    of waiting: where a bigger buffer stops helping, and what a synchronous send (capacity
    0, a rendezvous) costs against it."""
    data = capacity_points(cv)
    if not data:
        print("plot.py: note: no capacity sweep (a stream at 2+ capacities), skipping "
              "throughput_vs_capacity", file=sys.stderr)
        return
    from matplotlib.lines import Line2D
    sizes = sorted({size for size, _ in data})
    ways = [w for w in results.WAITING if any(way == w for _, way in data)]
    fig, axes = cv.plt.subplots(len(ways), len(sizes), figsize=(6 * len(sizes), 5.6 * len(ways)),
                                layout="constrained", squeeze=False)
    for row, way in zip(axes, ways):
        for ax, size in zip(row, sizes):
            ax.set_title(f"{human_bytes(size)} messages, {waiting_title(way)}", fontsize=10)
            if (size, way) not in data:
                ax.set_axis_off()
                continue
            per, marks = data[(size, way)]
            handles, labels, top = draw_series(cv, ax, per, "higher")
            for key, (x, y, lo, hi, _) in marks.items():
                colour = cv.colour.get(key[0], "0.4") if key in top else GREY
                ax.errorbar([x], [y], yerr=[[y - lo], [hi - y]], fmt="D", markersize=7, color=colour,
                            markeredgecolor="black", capsize=3, zorder=5)
            if marks:
                handles.append(Line2D([], [], marker="D", color="0.5", markeredgecolor="black", linestyle="none"))
                labels.append("main grid's case (its repetitions), not on the line")
            cv.log2_x(ax, [p[0] for pts in per.values() for p in pts], capacity_tick)
            ax.set_yscale("log")
            cv.y_ticks(ax, fmt_rate)
            ax.set_xlabel("capacity granted (messages in flight; 0: a rendezvous)")
            ax.set_ylabel("message rate (msgs/s)")
            ax.grid(True, which="major", alpha=0.3)
            panel_legend(ax, handles, labels)
    cv.save(fig, "throughput_vs_capacity", "stream: from which capacity does a bigger buffer stop helping?")


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
    fig, axes = cv.plt.subplots(len(rows), 2, figsize=(13, 5.4 * len(rows)), layout="constrained",
                                squeeze=False)
    label = (lambda k: f"{k[0]}, {k[1]}, capacity {k[2]}") if len(caps) > 1 else None
    for row, size in zip(axes, rows):
        for col, (ax, name) in enumerate(zip(row, ("p50", "p99"))):
            # One point per rate (a sweep's single repetition): no bar, hollow.
            per = {k: [(p[0], p[1 + col], p[1 + col], p[1 + col], 1) for p in sorted(pts) if p[1 + col] > 0]
                   for k, pts in data[size].items()}
            handles, labels, top = draw_series(cv, ax, {k: v for k, v in per.items() if v}, "lower", label)
            for key, pts in sorted(data[size].items()):
                sat = [(p[0], p[1 + col]) for p in pts if p[3] and p[1 + col] > 0]
                if sat:
                    ax.plot(*zip(*sat), linestyle="none", marker="x", markersize=9,
                            color=cv.colour.get(key[0], "0.4") if key in top else GREY)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.xaxis.set_major_formatter(cv.ticker.FuncFormatter(fmt_rate))
            cv.y_ticks(ax, fmt_ns)
            ax.set_xlabel("offered rate (msgs/s)")
            ax.set_ylabel(f"{name} one-way latency")
            ax.set_title(f"{human_bytes(size)} messages: {name}, from each message's intended send time "
                         "(x: saturated)", fontsize=9)
            ax.grid(True, which="major", alpha=0.3)
            panel_legend(ax, handles, labels)
    cv.save(fig, "load_latency", "rate (open loop): up to which offered load does latency stay flat?")


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
    panels = (("stream", "bytes_per_s", 1.0, "stream throughput (payload bytes/s)", fmt_bytes_per_s),
              ("pingpong", "p50_ns", 1.0, "pingpong p50 one-way latency", fmt_ns))
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
    cv.save(fig, "zero_copy", ", ".join(copying) + (": " if copying else "") + "copy vs zero-copy: from which size does "
            "skipping the copies pay?")


def transport_pairs(cv):
    """{(mechanism, wait): transport} for every mechanism with a transport (the mechanism
    it rides on: zmq_ipc on unix_stream) where both ran."""
    present = {c["mechanism"] for c in cv.cases.values()}
    pairs = {}
    for c in cv.cases.values():
        transport = cv.facts.get(c["mechanism"], {}).get("transport")
        if transport in present:
            pairs[(c["mechanism"], c["wait"])] = transport
    return pairs


def paired_case(cv, pattern, size, mechanism, wait):
    """The main grid's case of mechanism at pattern, size and wait, or None."""
    found = [c for c in cv.main_grid_cases(pattern, size) if c["mechanism"] == mechanism and c["wait"] == wait]
    return found[0] if found else None


def over_transport_panel(cv, ax, pairs, pattern, size, metric, fmt):
    """Horizontal bars, a pair per (mechanism, wait): the mechanism in its colour, its
    transport grey below it, repetitions' min-to-max as error bars, the mechanism's
    x_transport written at its bar. Returns the number of pairs drawn."""
    rows = []
    for (mech, wait), transport in sorted(pairs.items(), key=lambda kv: series_order(kv[0] + ("",))):
        c, t = paired_case(cv, pattern, size, mech, wait), paired_case(cv, pattern, size, transport, wait)
        if c is not None and t is not None and c["get"](metric) and t["get"](metric):
            rows.append((mech, wait, transport, point(c, 0, metric), point(t, 0, metric), c["get"]("x_transport")))
    for i, (mech, wait, transport, pc, pt, x) in enumerate(rows):
        y = -3 * i
        for dy, p, colour in ((0, pc, cv.colour[mech]), (1, pt, "0.7")):
            ax.barh(y - dy, p[1], xerr=[[p[1] - p[2]], [p[3] - p[1]]], color=colour, height=0.9,
                    error_kw={"elinewidth": 1, "capsize": 2})
        label = f" {x:.2f}x" if x is not None else " no x_transport"
        ax.annotate(label, (pc[3], y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks([-3 * i - d for i in range(len(rows)) for d in (0, 1)],
                  [n for mech, wait, transport, *_ in rows for n in (f"{mech}, {wait}", f"{transport}, {wait}")],
                  fontsize=8)
    if rows:
        ax.set_xscale("log")
        cv.y_ticks(ax, fmt, axis="x")
    ax.grid(True, axis="x", which="major", alpha=0.3)
    return len(rows)


def over_transport(cv):
    """What a mechanism costs over the one it rides on (a library over its socket, RPC
    over its stream, zero-copy over the copying ring): pingpong p50 at 64 B (left) and
    stream throughput at 64 KiB (right), each beside its transport's in the same run,
    labelled with x_transport (lower is better; 1x costs nothing)."""
    pairs = transport_pairs(cv)
    if not pairs:
        print("plot.py: note: no mechanism ran beside its transport, skipping x_transport", file=sys.stderr)
        return
    height = 1.2 + 0.5 * len(pairs)
    fig, axes = cv.plt.subplots(1, 2, figsize=(13, height), layout="constrained")
    drawn = over_transport_panel(cv, axes[0], pairs, "pingpong", 64, "p50_ns", fmt_ns)
    axes[0].set_title("pingpong 64 B: p50 one-way latency (lower is better)", fontsize=9)
    drawn += over_transport_panel(cv, axes[1], pairs, "stream", 65536, "bytes_per_s", fmt_bytes_per_s)
    axes[1].set_title("stream 64 KiB: payload bytes/s (higher is better)", fontsize=9)
    if not drawn:
        cv.plt.close(fig)
        print("plot.py: note: no 64 B pingpong or 64 KiB stream beside a transport, skipping x_transport",
              file=sys.stderr)
        return
    cv.save(fig, "x_transport", "What each mechanism costs over the one it rides on (x_transport)")


def spectrum(cv, size=64):
    """Pingpong at one size: p50, p90, p99, p99.9, p99.99 and max per mechanism and
    wait mode, the tail and not only the middle; polling and sleeping apart."""
    keys = (("p50_ns", "p50"), ("p90_ns", "p90"), ("p99_ns", "p99"), ("p999_ns", "p99.9"),
            ("p9999_ns", "p99.99"), ("max_ns", "max"))
    data = {}
    for c in cv.main_grid_cases("pingpong", size):
        ys = [c["get"](k) for k, _ in keys]
        if all(y is not None and y > 0 for y in ys[:3]):
            data[(c["mechanism"], c["wait"], c["capacity"])] = [
                point(c, i, k) for i, ((k, _), y) in enumerate(zip(keys, ys)) if y is not None and y > 0]
    split = by_waiting(data)
    if not data or not any(split.values()):
        print(f"plot.py: note: no pingpong percentiles at {size} B, skipping latency_spectrum", file=sys.stderr)
        return
    fig, axes = cv.plt.subplots(1, 2, figsize=(12, 5.4), layout="constrained")
    for ax, (way, part) in zip(axes, split.items()):
        ax.set_title(waiting_title(way), fontsize=10)
        if not part:
            ax.set_axis_off()
            continue
        handles, labels, _ = draw_series(cv, ax, part, "lower")
        ax.set_xticks(range(len(keys)), [label for _, label in keys])
        ax.set_yscale("log")
        cv.y_ticks(ax, fmt_ns)
        ax.set_xlabel("percentile of round trips (one way = round trip / 2)")
        ax.set_ylabel("one-way latency")
        ax.grid(True, which="major", alpha=0.3)
        panel_legend(ax, handles, labels)
    cv.save(fig, "latency_spectrum", f"pingpong, {human_bytes(size)}: how long is each mechanism's tail?")


def floor_multiple(cv, size=64):
    """Pingpong at one size: each case's round trip as a multiple of the matching floor
    of its own run (x_floor), best first, polling (against the cache-line round trip)
    and sleeping (against the wake-up round trip) apart: two floors, two rankings.
    Dots on a log axis with a stem from 1x, the repetitions' range as a bar."""
    rows = {"polling": [], "sleeping": []}
    for c in cv.main_grid_cases("pingpong", size):
        x, way = c["get"]("x_floor"), results.waiting_of(c["wait"])
        if x is not None and x > 0 and way:
            rows[way].append((point(c, 0, "x_floor"), c["mechanism"], c["wait"]))
    if not any(rows.values()):
        print(f"plot.py: note: no x_floor at {size} B, skipping x_floor", file=sys.stderr)
        return
    n = max(len(r) for r in rows.values())
    fig, axes = cv.plt.subplots(1, 2, figsize=(12, 0.3 * n + 2), layout="constrained")
    for ax, (way, part) in zip(axes, rows.items()):
        floor = "cache-line round trip" if way == "polling" else "wake-up round trip"
        ax.set_title(f"{waiting_title(way)}: against the {floor}", fontsize=10)
        if not part:
            ax.set_axis_off()
            continue
        part.sort(key=lambda r: r[0][1])
        for i, ((_, x, lo, hi, reps), mech, _) in enumerate(part):
            colour = cv.colour.get(mech, "0.4")
            ax.plot([1, x], [i, i], color=colour, linewidth=1, alpha=0.6)
            ax.errorbar([x], [i], xerr=[[x - lo], [hi - x]], fmt="o", color=colour, capsize=2, markersize=6,
                        markerfacecolor=colour if reps > 1 else "white")
        ax.set_yticks(range(len(part)), [f"{m}, {w}" for _, m, w in part], fontsize=8)
        ax.set_ylim(len(part) - 0.5, -0.5)
        ax.set_xscale("log")
        cv.y_ticks(ax, lambda v: f"{v:g}\u00d7", axis="x")
        ax.axvline(1, color="0.3", linewidth=1)
        ax.set_xlabel("p50 round trip / floor of the same run (1\u00d7 = the hardware)")
        ax.grid(True, which="major", axis="x", alpha=0.3)
    cv.save(fig, "x_floor", f"pingpong, {human_bytes(size)}: how far is each mechanism from what the hardware "
                            "allows?\n(hollow: one repetition; bar: the repetitions' range)")


def verdict_text(v):
    """A verdict cell's figure: '180 ns' or '3.1M msgs/s', and the ratio to the runner-up."""
    unit = v.get("unit") or ""
    value = fmt_ns(v["value"]) if unit == "ns" else fmt_rate(v["value"]) + (f" {unit}" if unit else "")
    ratio = v.get("ratio")
    if not ratio:
        return value
    return value + (f"\n{ratio:.2f}\u00d7 next" if ratio < 10 else f"\n{ratio:,.0f}\u00d7 next")


def best_mechanism(cv):
    """The answer: per pattern x way of waiting (rows) and message size (columns), the
    best mechanism, its figure and how far ahead of the runner-up, in its colour. One
    pair's verdicts: a group's (3 consumers, 2 pairs) are in the verdict table and the
    fan and pairs charts, and drawn here only when the run has no others."""
    verdicts = [v for v in cv.verdicts if v["waiting"] in results.WAITING]
    verdicts = [v for v in verdicts if not results.is_group_shape(v.get("shape"))] or verdicts
    if not verdicts:
        print("plot.py: note: no verdicts (no pingpong or stream cases of the main grid), skipping "
              "best_mechanism", file=sys.stderr)
        return
    rows = list(dict.fromkeys((v["pattern"], v.get("shape") or "", v["waiting"]) for v in verdicts))
    sizes = sorted({v["size"] for v in verdicts})
    cell = {(v["pattern"], v.get("shape") or "", v["waiting"], v["size"]): v for v in verdicts}
    fig, ax = cv.plt.subplots(figsize=(2.2 + 1.75 * len(sizes), 0.9 + 0.85 * len(rows)), layout="constrained")
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Rectangle
    for i, row in enumerate(rows):
        for j, size in enumerate(sizes):
            v = cell.get(row + (size,))
            colour = to_rgba(cv.colour.get(v["best"], "0.8"), 0.38) if v else (1, 1, 1, 1)
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=colour, edgecolor="white", linewidth=2))
            if not v:
                ax.text(j + 0.5, i + 0.5, "\u2013", ha="center", va="center", color="0.5")
                continue
            one = " (1 rep)" if (v.get("repetitions") or 0) == 1 else ""
            ax.text(j + 0.5, i + 0.32, v["best"], ha="center", va="center", fontsize=11, weight="bold")
            ax.text(j + 0.5, i + 0.68, verdict_text(v) + one, ha="center", va="center", fontsize=9.5,
                    linespacing=1.1)
    ax.set_xlim(0, len(sizes))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([j + 0.5 for j in range(len(sizes))], [human_bytes(s) for s in sizes])
    metric = {"pingpong": "p50, lower", "stream": "msgs/s, higher", "fanout": "msgs/s, higher",
              "fanin": "msgs/s, higher", "compete": "msgs/s, higher"}
    ax.set_yticks([i + 0.5 for i in range(len(rows))],
                  [f"{p} ({metric.get(p, 'best')})\n{shape + ', ' if shape else ''}{way}" for p, shape, way in rows],
                  fontsize=10)
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    for spine in ax.spines.values():
        spine.set_visible(False)
    cv.save(fig, "best_mechanism", "Which mechanism is fastest, per message size and way of waiting?\n"
                                   "(median of the repetitions; \u00d7 next: times faster than the runner-up)")


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
    markers = {"spin": "o", "spin_yield": "v", "adaptive": "D", "block": "s", "eventfd": "^", "sem": "P", "sqpoll": "X"}
    # Points labelled with their wait mode where a mechanism has more modes than block
    # and spin (the rings'): the legend alone would not tell six markers apart.
    waits = {}
    for *_, mech, wait in pts:
        waits.setdefault(mech, set()).add(wait)
    many = {m for m, seen in waits.items() if len(cv.facts.get(m, {}).get("waits") or seen) > 2}
    # In colour: the lowest latencies of each way of waiting, HIGHLIGHT in all; the rest grey.
    ranked = sorted(pts, key=lambda p: p[1])
    top = set()
    for way in results.WAITING:
        top |= {(m, w) for _, _, m, w in [p for p in ranked if results.waiting_of(p[3]) == way][:HIGHLIGHT // 2]}
    handles = {}
    for cpu, lat, mech, wait in pts:
        lit = (mech, wait) in top
        h = ax.scatter(cpu, lat, color=cv.colour.get(mech, "0.4") if lit else GREY, marker=markers.get(wait, "x"),
                       s=36 if lit else 18, zorder=3 if lit else 2)
        if lit:
            handles.setdefault(f"{mech}, {wait}", h)
        else:
            handles.setdefault(f"{len(pts) - len(top)} more (grey; in the table)", h)
        if mech in many and lit:
            ax.annotate(wait, (cpu, lat), textcoords="offset points", xytext=(4, 3), fontsize=7, color="0.3")
    ax.set_xscale("log")
    ax.set_yscale("log")
    cv.y_ticks(ax, fmt_ns)
    cv.y_ticks(ax, fmt_ns, axis="x")
    ax.set_xlabel("CPU per round trip, both sides (cpu_ns_per_msg_tx + _rx)")
    ax.set_ylabel("p50 one-way latency")
    ax.grid(True, which="major", alpha=0.3)
    cv.simple_legend(ax, (list(handles.values()), list(handles)), "mechanism, wait")
    cv.save(fig, "wait_cost", f"pingpong, {human_bytes(size)}: what does each way of waiting cost in CPU?")


# ------------------------------------------------------------------------------ groups

# What a group's count is, per pattern (harness/group.hpp): the x of the fan and
# pairs charts.
GROUP_COUNT = {"fanout": "consumers", "fanin": "producers", "compete": "consumers", "pingpong": "pairs",
               "stream": "pairs"}
# The fan chart's throughput axis, per pattern: what its msgs_per_s counts.
FAN_RATE = {"fanout": "msgs/s (every consumer's)", "fanin": "msgs/s (all producers together)",
            "compete": "msgs/s (all consumers together)"}
OVERSUBSCRIBED_NOTE = "grey: oversubscribed (more processes than CPUs, taking turns)"


def group_grid(cases, pattern):
    """The cases of one pattern that carry its group count, at the (size, capacity)
    most of them ran (a group sweep runs one): ([cases], size, capacity)."""
    mine = [c for c in cases.values() if c["pattern"] == pattern and c.get(GROUP_COUNT[pattern]) is not None]
    count = {}
    for c in mine:
        count[(c["size"], c["capacity"])] = count.get((c["size"], c["capacity"]), 0) + 1
    if not count:
        return [], None, None
    size, cap = max(count, key=lambda k: (count[k], -k[0], cap_order(k[1])))
    return [c for c in mine if (c["size"], c["capacity"]) == (size, cap)], size, cap


def group_series(grid, count, metric, variant=lambda c: ()):
    """({(mechanism, wait, *variant(c)): [(N, y, lo, hi, repetitions)]}, the N whose
    cases ran oversubscribed) of grid's cases against their count N. A series of one N
    (a polling wait, not runnable past the CPUs) shows no scaling and is left out."""
    out, over = {}, set()
    for c in grid:
        y = c["get"](metric)
        if y is None or not y > 0:
            continue
        out.setdefault((c["mechanism"], c["wait"]) + variant(c), []).append(point(c, c[count], metric))
        if c["get"]("oversubscribed"):
            over.add(c[count])
    return {k: sorted(v) for k, v in sorted(out.items()) if len(v) >= 2}, over


def count_axis(cv, ax, ns, over, label):
    """Log2 x axis of a group's count N, ticks at the measured N; the oversubscribed
    N (from the smallest on: more processes stay oversubscribed) shaded grey."""
    ns = sorted(ns)
    pad = 2 ** 0.25
    ax.set_xscale("log", base=2)
    ax.set_xlim(ns[0] / pad, ns[-1] * pad)
    ax.xaxis.set_major_locator(cv.ticker.FixedLocator(ns))
    ax.xaxis.set_major_formatter(cv.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(cv.ticker.NullLocator())
    if over:
        ax.axvspan(min(over) / pad ** 0.5, ns[-1] * pad, color="0.9", zorder=0)
    ax.set_xlabel(label)
    ax.grid(True, which="major", alpha=0.3)


def over_handle(handles, labels, over):
    """The legend's entry for the grey band, when a panel has one."""
    from matplotlib.patches import Patch
    if over:
        handles.append(Patch(color="0.9"))
        labels.append(OVERSUBSCRIBED_NOTE)


def fan_variant(c):
    """A fanout's way of fanning out (its broadcast counter); nothing for a fanin."""
    if c["pattern"] != "fanout":
        return ()
    return ("broadcast",) if c["get"]("broadcast") else ("copies",)


def slowest_dashes(cv, ax, grid, count, top, who):
    """The slowest consumer's (producer's) p99 as a dash at each point of the top
    series; returns its legend entry, or None when no case has one."""
    from matplotlib.lines import Line2D
    slow, _ = group_series(grid, count, "slowest_p99_ns", fan_variant)
    for key in top & set(slow):
        ax.plot([p[0] for p in slow[key]], [p[1] for p in slow[key]], linestyle="none", marker="_",
                markersize=11, markeredgewidth=1.6, color=cv.colour.get(key[0], "0.4"), zorder=4)
    if not slow:
        return None
    return Line2D([], [], color="0.3", marker="_", markersize=11, linestyle="none"), f"dash: the slowest {who}'s p99"


def fan_panels(cv, row, pattern, grid):
    """One row of the fan chart: msgs/s (left) and p99 (right) against N, broadcast
    a diamond and copies a dot; the slowest consumer's (producer's) p99 a dash."""
    count = GROUP_COUNT[pattern]
    rate = FAN_RATE[pattern]
    for ax, metric, fmt, ylabel, better in ((row[0], "msgs_per_s", fmt_rate, rate, "higher"),
                                            (row[1], "p99_ns", fmt_ns, "p99 one-way latency, all deliveries", "lower")):
        ax.set_title(f"{pattern}: {'throughput' if better == 'higher' else 'latency'} against N {count}", fontsize=10)
        data, over = group_series(grid, count, metric, fan_variant)
        if not data:
            ax.text(0.5, 0.5, "no series at two or more N", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        handles, labels, top = draw_series(cv, ax, data, better, lambda k: ", ".join(k),
                                           lambda k: "D" if k[2:] == ("broadcast",) else "o")
        dash = slowest_dashes(cv, ax, grid, count, top, count[:-1]) if metric == "p99_ns" else None
        if dash:
            handles.append(dash[0])
            labels.append(dash[1])
        count_axis(cv, ax, {p[0] for pts in data.values() for p in pts}, over, f"{count} (N)")
        ax.set_yscale("log")
        cv.y_ticks(ax, fmt)
        ax.set_ylabel(ylabel)
        over_handle(handles, labels, over)
        panel_legend(ax, handles, labels)


def fan(cv):
    """Fan-out, fan-in and compete against N (consumers, producers): a row per
    pattern, throughput and p99 latency side by side, a line per mechanism and wait mode."""
    rows = []
    for pattern in ("fanout", "fanin", "compete"):
        grid, size, cap = group_grid(cv.run_cases, pattern)
        if group_series(grid, GROUP_COUNT[pattern], "msgs_per_s")[0]:
            rows.append((pattern, grid, size, cap))
    if not rows:
        print("plot.py: note: no fanout, fanin or compete at two or more counts, skipping fan", file=sys.stderr)
        return
    fig, axes = cv.plt.subplots(len(rows), 2, figsize=(12, 5.6 * len(rows)), layout="constrained", squeeze=False)
    for row, (pattern, grid, *_) in zip(axes, rows):
        fan_panels(cv, row, pattern, grid)
    at = "; ".join(f"{p} {human_bytes(size)}, capacity {cap}" for p, _, size, cap in rows)
    names = {"fanout": "fan-out", "fanin": "fan-in", "compete": "compete"}
    drawn = [names[p] for p, *_ in rows]
    what = (", ".join(drawn[:-1]) + " and " if len(drawn) > 1 else "") + drawn[-1]
    cv.save(fig, "fan", f"{what[0].upper() + what[1:]}: how does each mechanism scale with N? ({at})\n" + SPREAD_NOTE)


def pairs_panel(cv, ax, pattern, grid):
    """Aggregate msgs/s against the number of pairs, a line per mechanism and wait
    mode, each highlighted one with its ideal: N x its 1-pair rate, thin and dotted."""
    from matplotlib.lines import Line2D
    data, over = group_series(grid, "pairs", "msgs_per_s")
    handles, labels, top = draw_series(cv, ax, data, "higher")
    ns = sorted({p[0] for pts in data.values() for p in pts})
    ideal = False
    for key in sorted(top):
        one = [p[1] for p in data[key] if p[0] == 1]
        if one:
            ideal = True
            ax.plot(ns, [n * one[0] for n in ns], color=cv.colour.get(key[0], "0.4"), linestyle=":",
                    linewidth=0.9, alpha=0.6, zorder=2)
    if ideal:
        handles.append(Line2D([], [], color="0.3", linestyle=":", linewidth=0.9))
        labels.append("thin dotted: N \u00d7 the 1-pair rate (ideal scaling)")
    count_axis(cv, ax, ns, over, "pairs at once (N)")
    ax.set_yscale("log")
    cv.y_ticks(ax, fmt_rate)
    ax.set_ylabel("round trips/s, sum over the pairs" if pattern == "pingpong" else "msgs/s, sum over the pairs")
    ax.set_title(pattern, fontsize=10)
    over_handle(handles, labels, over)
    panel_legend(ax, handles, labels)


def pairs(cv):
    """--pairs N: the aggregate message rate against N, pingpong and stream side by
    side, against ideal scaling."""
    panels = []
    for pattern in ("pingpong", "stream"):
        grid, size, cap = group_grid(cv.run_cases, pattern)
        if group_series(grid, "pairs", "msgs_per_s")[0]:
            panels.append((pattern, grid, size, cap))
    if not panels:
        print("plot.py: note: no pingpong or stream at two or more --pairs counts, skipping pairs", file=sys.stderr)
        return
    fig, axes = cv.plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 5.6), layout="constrained",
                                squeeze=False)
    for ax, (pattern, grid, *_) in zip(axes[0], panels):
        pairs_panel(cv, ax, pattern, grid)
    at = "; ".join(f"{p} {human_bytes(size)}, capacity {cap}" for p, _, size, cap in panels)
    cv.save(fig, "pairs", f"Aggregate throughput against the number of pairs: does it scale? ({at})\n"
            + SPREAD_NOTE)
