"""The HTML report of an ipcbench results file (report.html), opening on the answer.

plot.py calls write() after drawing its charts. CSS, JS and the answer chart's PNG are
inline, so the first screen (the verdict) works even when report.html is copied alone;
the other charts are relative links to the PNGs written next to it (inlined, they made
a default run's page megabytes), only to files that exist.

Sections: header (run, preset, commit, host; a red banner if the run is incomplete),
warnings collapsed to one line (noise, floor drift, noisy repetitions, cases that did
not run or failed, verification errors and loss, saturated rates), the verdict (a table
per pattern of the best mechanism per size and way of waiting, and the best_mechanism
chart), environment, floors, charts, and a table of every case (sortable, filterable
by whole words; report.html#sort=p50&filter=shm_ring opens it sorted and filtered).
Every string from the JSON is HTML-escaped.
"""
import base64
import html
import json
import math
import re
import statistics
from pathlib import Path

import results  # plots/results.py: case names and mechanism facts

# The terminal's "noisy" mark (harness/report.cpp): a case's spread over repetitions
# above this share is flagged.
NOISY = 0.05
# Floor drift worth a warning: the harness flags placement drift only past 25%
# (kDriftLimit), but spinning results already move visibly at 10%.
DRIFT_WARN = 0.10

# The chart that answers the question the tool exists for; shown in the verdict.
ANSWER = "best_mechanism"
# What each chart answers and how to read it, in plot.py's drawing order.
CHARTS = {
    "best_mechanism": "The fastest mechanism per message size (columns) and pattern x way of waiting (rows), "
                      "in its colour, with its median and how many times faster it is than the runner-up.",
    "latency_vs_size": "Which mechanism answers fastest at each size: pingpong p50 one-way latency (round trip "
                       "/ 2), polling and sleeping apart; the 8 best series in colour with the repetitions' "
                       "min-to-max as bars (hollow: one repetition), the rest grey. Lower is better.",
    "throughput_vs_size": "Which mechanism moves the most bytes at each size: stream payload bytes/s, polling "
                          "and sleeping apart, drawn as latency_vs_size. Higher is better.",
    "throughput_vs_capacity": "From which capacity a bigger buffer stops helping: stream msgs/s against the "
                              "capacity the kernel granted, a panel per size and way of waiting; the line is "
                              "the capacity sweep, the diamond the main grid's case (more repetitions).",
    "load_latency": "Up to which offered load latency stays flat: the open-loop rate pattern's p50 (left) and "
                    "p99 (right), from each message's intended send time; x marks the first saturated rate.",
    "zero_copy": "From which size skipping the copies pays: a zero-copy mechanism against the copying one it "
                 "rides on, stream bytes/s (left) and pingpong p50 (right) across sizes.",
    "x_transport": "What a library, an RPC layer or zero-copy costs over the mechanism it rides on: pingpong "
                   "p50 at 64 B and stream bytes/s at 64 KiB, each beside its transport's in the same run, "
                   "with the repetitions' min-to-max; the label is x_transport (lower is better, 1x costs nothing).",
    "latency_spectrum": "How long each mechanism's tail is: pingpong at 64 B from p50 to max, polling and "
                        "sleeping apart; a steep rise to the right is a tail (wake-ups, preemption).",
    "x_floor": "How far each mechanism is from the hardware: pingpong at 64 B, p50 round trip over the run's "
               "own floor, polling against the cache-line round trip and sleeping against the wake-up one, "
               "each ranked on its own; 1x is the hardware.",
    "distance": "The cost of distance: pingpong at 64 B, p50 one-way latency with the two sides on one CPU, "
                "SMT siblings, one L3, two L3s and two NUMA nodes (those the run measured, from "
                "--placement), polling and sleeping apart. Lower is better.",
    "wait_cost": "What each way of waiting costs: pingpong at 64 B, p50 latency against the CPU both sides "
                 "burn per round trip; bottom left is best.",
    "fan": "How fan-out and fan-in scale with N: msgs/s (left) and p99 latency (right) against N consumers "
           "(fanout) or producers (fanin), a line per mechanism and wait mode; a diamond fans out by broadcast, "
           "a dot by a copy per consumer; a dash is the slowest consumer's p99; grey: oversubscribed.",
    "pairs": "Whether N pairs at once get N times the rate: the sum of the pairs' msgs/s against N, pingpong "
             "and stream, each line with its ideal (N x its 1-pair rate, thin dotted); grey: oversubscribed.",
}

# Context keys the environment table shows, in order, with a label; only those present.
ENV_KEYS = [
    ("cpu_model", "CPU model"), ("num_cpus", "CPUs"), ("cpus_online", "CPUs online"),
    ("cpu_pinning", "CPU pinning"), ("cpu_a_thread_siblings", "side a's SMT siblings"),
    ("mhz_per_cpu", "clock"), ("cpu_governor", "CPU governor"), ("cpu_scaling_enabled", "frequency scaling"),
    ("kernel", "kernel"), ("clocksource", "clocksource"), ("timer", "timer"), ("timer_ns", "timer cost"),
    ("compiler", "compiler"), ("cxx_flags", "C++ flags"), ("build_type", "build type"),
    ("sanitizers", "sanitizers"), ("shm_backing_detail", "shared memory"), ("verification", "verification"),
    ("checksum_ns_per_kib", "checksum cost"), ("load_avg", "load average"),
    ("cpu_busy_before_run", "CPU busy before the run"), ("grids", "grids"), ("executable", "executable"),
]

# The all-cases table: key (for #sort=KEY), header, numeric?, header tooltip.
COLUMNS = [
    ("pattern", "pattern", False, "pingpong: request/echo, one message in flight; stream: as fast as the "
                                  "channel accepts; rate: open loop at a fixed offered rate; fanout: one "
                                  "producer, N consumers; fanin: N producers, one consumer; \u00d7N: N "
                                  "consumers, producers or pairs at once (hover the cell)"),
    ("mechanism", "mechanism", False, ""),
    ("size", "size", True, "payload bytes per message"),
    ("capacity", "capacity", True, "messages in flight requested (hover: what the kernel granted)"),
    ("wait", "wait", False, "how a side waits for data: spin polls, block sleeps in the kernel"),
    ("rate", "rate", True, "offered rate of a rate case (msgs/s)"),
    ("p50", "p50", True, "median one-way latency (pingpong: round trip / 2)"),
    ("p99", "p99", True, "99th percentile one-way latency"),
    ("p999", "p99.9", True, "99.9th percentile one-way latency"),
    ("max", "max", True, "largest one-way latency seen"),
    ("msgs", "msgs/s", True, "messages per second (pingpong: round trips per second)"),
    ("bytes", "bytes/s", True, "payload bytes per second"),
    ("xfloor", "x floor", True, "pingpong: p50 round trip / the run's latency floor (cache line for "
                                "polling waits, wake-up for sleeping ones); stream (bw): memcpy bandwidth at "
                                "this size / achieved bandwidth. 1x is the hardware"),
    ("xtransport", "x transport", True, "a mechanism that rides on another (a library on its socket, RPC on its "
                                        "stream, zero-copy on the copying ring): pingpong p50, or the stream's "
                                        "bandwidth inverted, over its transport's in the same run. Lower is better; "
                                        "1x costs nothing"),
    ("cpu_a", "cpu/msg a", True, "CPU time side a (sender) spent per message, user + system"),
    ("cpu_b", "cpu/msg b", True, "CPU time side b (receiver) spent per message, user + system"),
    ("reps", "reps", True, "repetitions measured"),
    ("spread", "spread", True, "median absolute deviation of the repetitions' real time over their median "
                               "(as the terminal's); above 5% the case is marked noisy"),
    ("status", "status", False, "ok, noisy, saturated, loss, verification errors, or why the case did not run"),
]


def esc(value):
    return html.escape(str(value), quote=True)


def num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def fmt_ns(ns):
    ns = num(ns)
    if ns is None:
        return ""
    ns = float(f"{ns:.3g}")  # round first, so 999.7 ns shows as 1 \u00b5s, not 1e+03 ns
    for unit, scale in (("ns", 1), ("\u00b5s", 1e3), ("ms", 1e6)):
        if abs(ns) < 1000 * scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns / 1e9:.3g} s"


def fmt_si(v, unit=""):
    v = num(v)
    if v is None:
        return ""
    v = float(f"{v:.3g}")
    for prefix in ("", "k", "M", "G", "T"):
        if abs(v) < 1000 or prefix == "T":
            return f"{v:.3g} {prefix}{unit}".rstrip()
        v /= 1000


def fmt_bytes(n):
    n = num(n)
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}"
        n /= 1024


def fmt_pct(x, sign=False):
    return "" if num(x) is None else (f"{x * 100:+.1f}%" if sign else f"{x * 100:.1f}%")


def spread(values):
    """harness/report.cpp's spread(): median absolute deviation from the median, over
    the median (nanobench's err%); None under two values."""
    if len(values) < 2:
        return None
    m = statistics.median(values)
    return statistics.median(abs(x - m) for x in values) / m if m > 0 else None


def as_int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def drift(before, after):
    before, after = num(before), num(after)
    return (after - before) / before if before and after is not None else None


class Case:
    """One row of the table: a case that ran (medians over repetitions) or one that
    did not (its reason)."""

    def __init__(self, run, facts, case=None, reason=None):
        self.run, self.reason = run, reason
        # Lenient: a failed case's name was never parsed by plot.py, and must not stop
        # the report.
        self.pattern, self.mechanism, params = results.split_name(run)
        self.facts = facts.get(self.mechanism, {})
        self.size = as_int(params.get("size"))
        self.capacity, self.wait = params.get("capacity", ""), params.get("wait", "")
        self.rate = as_int(params.get("rate"))
        # A group's shape ("3 consumers", "2 pairs"), read as leniently as the rest.
        counts = {k: as_int(params.get(k)) for k in results.GROUP_FIELDS}
        self.shape = results.shape_of(dict(params, **counts))
        # The table's pattern cell: "fanout \u00d73" for 3 consumers, "stream \u00d72" for 2 pairs.
        self.count = next((n for k, n in counts.items() if n is not None and (k != "pairs" or n > 1)), None)
        self.get = case["get"] if case else (lambda key: None)
        entries = case.get("entries", []) if case else []
        iters = [b for b in entries if b.get("run_type", "iteration") == "iteration"]
        self.spread = spread([b["real_time"] for b in iters if num(b.get("real_time")) is not None])
        reps = len(iters) or next((b.get("repetitions") for b in entries if num(b.get("repetitions"))), None)
        self.reps = reps if case else None
        # Counters that flag a case when any repetition has them (a median would hide
        # one bad repetition); the median entry stands in when there are no iterations.
        src = iters or [b for b in entries if b.get("aggregate_name") == "median"]
        vals = lambda key: [v for v in (num(b.get(key)) for b in src) if v is not None]
        self.errors = max(vals("errors"), default=0)
        self.lost = sum(vals("lost_msgs"))
        self.loss_ratio = max(vals("loss_ratio"), default=None)
        self.saturated = any(v == 1 for v in vals("saturated"))
        labels = " ".join(str(b.get("label", "")) for b in src)
        # May lose by design (context.mechanisms; the case label says so too): loss
        # is counted, not an error.
        self.lossy = bool(self.facts.get("may_lose")) or "loss allowed" in labels

    @property
    def kind(self):  # ok | notrun | skipped | interrupted | failed
        if self.reason is None:
            return "ok"
        if self.reason.startswith("not runnable"):
            return "notrun"
        if self.reason.startswith("beyond saturation"):
            return "skipped"
        return "interrupted" if self.reason == "interrupted" else "failed"

    @property
    def noisy(self):
        return self.spread is not None and self.spread > NOISY

    def status(self):
        """(text, css class) of the status cell."""
        if self.reason is not None:
            return self.reason, {"notrun": "st-notrun", "skipped": "st-skip"}.get(self.kind, "st-err")
        notes, cls = [], "st-ok"
        if self.errors > 0:
            notes.append(f"{self.errors:g} verification errors")
            cls = "st-err"
        if self.lost > 0:
            notes.append(f"lost {self.lost:g}" + (" (expected: datagram)" if self.lossy else ""))
            cls = "st-err" if not self.lossy else "st-info" if cls == "st-ok" else cls
        if self.noisy:
            notes.append("noisy")
            cls = "st-warn" if cls == "st-ok" else cls
        if self.saturated:
            notes.append("saturated")
            cls = "st-info" if cls == "st-ok" else cls
        return ", ".join(notes) or "ok", cls


def build_cases(cases, failed, facts):
    rows = [Case(run, facts, case=c) for run, c in cases.items()]
    for line in failed:
        run, _, reason = line.partition(" \u2014 ")
        rows.append(Case(run, facts, reason=reason or "error"))
    return rows


# ---------------------------------------------------------------------------- warnings

def context_warnings(ctx):
    """context.warnings, or for files that predate it, the harness's noise checks
    (environment.cpp noise_warnings) redone from the context: (list, derived?)."""
    w = ctx.get("warnings")
    if isinstance(w, list):
        return [str(x) for x in w], False
    if isinstance(w, str):
        return [w], False
    out = []
    build = ctx.get("build_type")
    if build is not None and build != "Release":
        out.append(f"build type is {build}: timings include unoptimised code")
    if ctx.get("sanitizers"):
        out.append("sanitizers are on: timings are not representative")
    gov = ctx.get("cpu_governor")
    if isinstance(gov, str) and gov not in ("performance", "unavailable"):
        out.append(f"CPU governor is '{gov}': frequency scaling adds noise")
    pin = ctx.get("cpu_pinning")
    if isinstance(pin, list) and len(pin) == 2 and pin[0] == pin[1]:
        out.append(f"both sides pinned to CPU {pin[0]}: they share one core and spinning cases will crawl")
    busy = ctx.get("cpu_busy_before_run")
    if isinstance(busy, list):
        for i, share in enumerate(busy[:2]):
            if num(share) is not None and share > 0.1:
                cpu = pin[i] if isinstance(pin, list) and len(pin) > i else i
                out.append(f"CPU {cpu} was {share * 100:.0f}% busy with other processes just before the run")
    return out, True


def reason_template(reason):
    """A reason with its numbers taken out, to group reasons that differ only in a size
    or a capacity: (template key, the numbers)."""
    reason = reason.replace("\0", "")  # the placeholder below
    nums = re.findall(r"\d[\d,.]*\d|\d", reason)
    return re.sub(r"\d[\d,.]*\d|\d", "\0", reason), nums


def group_reasons(rows, prefix=""):
    """Rows that did not run, grouped by reason text with numbers that vary across the
    group shown as 'n' (and the category's prefix, which the heading says, left out):
    [(shown reason html, [(row, varying numbers)])], biggest first."""
    groups = {}
    for r in rows:
        reason = r.reason[len(prefix):] if prefix and r.reason.startswith(prefix) else r.reason
        key, nums = reason_template(reason)
        groups.setdefault(key, []).append((r, nums))
    out = []
    for key, members in groups.items():
        columns = list(zip(*(nums for _, nums in members)))
        varies = [len(set(col)) > 1 for col in columns]
        pieces = key.split("\0")
        first = members[0][1]
        shown = esc(pieces[0])
        for i, piece in enumerate(pieces[1:]):
            shown += ('<var>n</var>' if varies[i] else esc(first[i])) + esc(piece)
        out.append((shown, [(r, [n for n, v in zip(nums, varies) if v]) for r, nums in members]))
    return sorted(out, key=lambda g: -len(g[1]))


def filter_link(text, label=None, hide_notrun=False):
    """A link that filters the table (the page's script honours #filter=...)."""
    href = f"#filter={text.replace(' ', '+')}" + ("&hide=notrun" if hide_notrun else "")
    return f'<a href="{esc(href)}" class="flt">{esc(label or text)}</a>'


def case_list(items, limit=None):
    """<ul> of case names, each with an optional note."""
    lis = [f"<li><code>{esc(r.run)}</code>{' <span class=dim>' + note + '</span>' if note else ''}</li>"
           for r, note in items[:limit]]
    return f"<ul class=cases>{''.join(lis)}</ul>"


def run_warnings(ctx, add):
    """The run's own warnings and floor drift, each as add(severity, html)."""
    ctx_w, derived = context_warnings(ctx)
    cl_before, cl_after = num(ctx.get("floor_cacheline_rtt_ns")), num(ctx.get("floor_cacheline_rtt_ns_after"))
    cl_drift = num(ctx.get("floor_drift"))
    if cl_drift is None:
        d = drift(cl_before, cl_after)
        cl_drift = abs(d) if d is not None else None
    placement = ctx.get("placement_drift") is True or (cl_drift is not None and cl_drift > DRIFT_WARN)
    if placement:
        # The harness words the same fact as a context warning past its own limit: one
        # item is enough.
        ctx_w = [w for w in ctx_w if not w.startswith("the cache-line round trip moved")]
    for w in ctx_w:
        add("warn", esc(w) + (' <span class=dim>(from the context: this file predates '
                              'context.warnings)</span>' if derived else ""))
    if placement:
        signed = drift(cl_before, cl_after)
        moved = (f"from <b>{fmt_ns(cl_before)}</b> to <b>{fmt_ns(cl_after)}</b> "
                 f"({fmt_pct(signed, sign=True)})" if signed is not None else
                 f"by {fmt_pct(cl_drift)}" if cl_drift is not None else "")
        add("warn", f"<b>Placement drift</b>: the cache-line round trip moved {moved} during the run; the two "
                    "CPUs likely moved between near and far cores. Compare spinning results only within one run.")
    wake_before, wake_after = ctx.get("floor_wake_rtt_ns"), ctx.get("floor_wake_rtt_ns_after")
    wd = drift(wake_before, wake_after)
    if wd is not None and abs(wd) > DRIFT_WARN:
        add("warn", f"<b>Wake-up floor drift</b>: the wake-up round trip moved from <b>{fmt_ns(wake_before)}</b> "
                    f"to <b>{fmt_ns(wake_after)}</b> ({fmt_pct(wd, sign=True)}) during the run; blocking cases "
                    "sit near 1x this floor, so read their x floor with that margin.")


def case_warnings(rows, add):
    """Noisy cases, verification errors and lost messages, each as add(severity, html)."""
    ran = [r for r in rows if r.reason is None]
    with_reps = [r for r in ran if r.spread is not None]
    noisy = sorted((r for r in ran if r.noisy), key=lambda r: -r.spread)
    if noisy:
        worst = "".join(f"<tr><td><code>{esc(r.run)}</code></td><td class=n>{fmt_pct(r.spread)}</td></tr>"
                        for r in noisy[:10])
        more = f" (the worst {min(10, len(noisy))} below)" if len(noisy) > 1 else ""
        add("warn", f"<b>Noisy repetitions</b>: {len(noisy)} of {len(with_reps)} cases with two or more "
                    f"repetitions have a spread above {NOISY:.0%} (median absolute deviation of the repetitions' "
                    f"real time over their median, as the terminal's noisy mark){more}; repeat them with more "
                    f"--repetitions. {filter_link('noisy', 'show them in the table')}"
                    f"<table class='mini'>{worst}</table>")

    bad = [r for r in ran if r.errors > 0]
    if bad:
        add("err", f"<b>Verification errors</b> in {len(bad)} case(s): messages arrived corrupted, reordered "
                   "or (on a reliable mechanism) lost; their numbers are not trustworthy."
                   + case_list([(r, f"{r.errors:g} errors") for r in bad]))
    lost = [r for r in ran if r.lost > 0]
    for lossy in (False, True):
        group = [r for r in lost if r.lossy == lossy]
        if not group:
            continue
        mechs = ", ".join(sorted({r.mechanism for r in group}))
        notes = [(r, f"lost {r.lost:g}" + (f" ({fmt_pct(r.loss_ratio)})" if r.loss_ratio is not None else ""))
                 for r in group]
        if lossy:
            add("info", f"<b>Lost messages</b> in {len(group)} case(s) of {esc(mechs)}: expected, datagram "
                        "semantics may drop messages under load; loss is counted (lost_msgs, loss_ratio), not "
                        f"an error.<details><summary>cases</summary>{case_list(notes)}</details>")
        else:
            add("err", f"<b>Lost messages</b> on a reliable mechanism ({esc(mechs)}) in {len(group)} case(s)."
                       + case_list(notes))


def not_run_warnings(rows, add):
    """Cases that did not run, grouped by category and reason, and saturated rates, each
    as add(severity, html)."""
    categories = (
        ("failed", "err", "Failed", "set-up or measurement broke; these cases have no numbers"),
        ("interrupted", "warn", "Interrupted", "the run was stopped before these cases"),
        ("notrun", "warn", "Not runnable on this machine", "a kernel limit or a mechanism's rule, named in "
                                                           "the reason with the fix"),
        ("skipped", "info", "Skipped beyond saturation", "rate cases above the rate at which their series "
                                                        "saturated"),
    )
    for kind, sev, title, what in categories:
        group = [r for r in rows if r.kind == kind]
        if not group:
            continue
        reasons = group_reasons(group, {"notrun": "not runnable: ", "skipped": "beyond saturation: "}.get(kind, ""))
        parts = []
        for shown, members in reasons:
            listed = case_list([(r, esc(", ".join(nums))) for r, nums in members])
            parts.append(f"<li><span class=count>{len(members)}</span> {shown}"
                         f"<details><summary>the cases</summary>{listed}</details></li>")
        flt = {"notrun": "not runnable", "skipped": "beyond saturation"}.get(kind)
        link = " " + filter_link(flt, "show them in the table") if flt else ""
        add(sev, f"<b>{title}</b>: {len(group)} case(s), {len(reasons)} reason(s) ({what}).{link}"
                 f"<ul class=reasons>{''.join(parts)}</ul>")

    sat = [r for r in rows if r.reason is None and r.saturated]
    if sat:
        add("info", f"<b>Saturated</b>: {len(sat)} rate case(s) could not keep up with their offered rate; their "
                    "latency is that of a growing backlog (marked x in load_latency). "
                    f"{filter_link('saturated', 'show them in the table', hide_notrun=True)}")


def warning_items(ctx, rows):
    """[(severity: err|warn|info, html)], the most severe first."""
    items = []

    def add(sev, body):
        items.append((sev, body))

    run_warnings(ctx, add)
    case_warnings(rows, add)
    not_run_warnings(rows, add)
    order = {"err": 0, "warn": 1, "info": 2}
    items.sort(key=lambda it: order[it[0]])  # stable: same severity keeps its order
    return items


def warnings_html(items, note):
    """The warnings in a collapsed details element whose summary is one line (how many
    of each severity, the first one's title), so they stay in view but leave the first
    screen to the verdict."""
    if not items:
        return "<h2>Warnings</h2><p class='w ok'>none</p>"
    words = (("err", "error"), ("warn", "warning"), ("info", "note"))
    counts = ", ".join(f"{n} {w}{'s' if n > 1 else ''}" for sev, w in words
                       for n in [sum(1 for s, _ in items if s == sev)] if n)
    first = html.unescape(re.sub(r"<[^>]+>", "", items[0][1])).split(":")[0].split(".")[0][:80]
    body = "".join(f"<div class='w {sev}'>{b}</div>" for sev, b in items)
    return (f"<details><summary class='wsum {items[0][0]}'>Warnings: {esc(counts)} \u2014 {esc(first)}"
            f" (open for details)</summary><h2>Warnings</h2>{body}<p class=dim>{note}</p></details>")


# ------------------------------------------------------------------------ environment

def env_value(key, v):
    if key == "cpu_pinning" and isinstance(v, list) and len(v) == 2:
        return f"side a on CPU {v[0]}, side b on CPU {v[1]}"
    if key == "mhz_per_cpu" and num(v) is not None:
        return f"{v:g} MHz"
    if key in ("timer_ns",) and num(v) is not None:
        return f"{v:.3g} ns per read"
    if key == "checksum_ns_per_kib" and num(v) is not None:
        return f"{v:.3g} ns per KiB"
    if key == "cpu_scaling_enabled" and isinstance(v, bool):
        return "enabled" if v else "disabled"
    if key == "sanitizers" and v == "":
        return "none"
    if key == "load_avg" and isinstance(v, list) and all(num(x) is not None for x in v):
        return ", ".join(f"{x:.2f}" for x in v) + (" (1, 5, 15 min)" if len(v) == 3 else "")
    if key == "cpu_busy_before_run" and isinstance(v, list) and all(num(x) is not None for x in v):
        return ", ".join(f"{x * 100:.0f}%" for x in v) + " (side a, side b)"
    if key == "grids" and isinstance(v, list) and all(isinstance(g, dict) for g in v):
        return "; ".join(f"{g.get('name', '?')}: {g.get('repetitions', '?')} repetition(s) \u00d7 "
                         f"{g.get('case_seconds', '?')} s" for g in v)
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def environment_html(ctx):
    rows = "".join(f"<tr><th>{esc(label)} <code class=key>{esc(key)}</code></th><td>{esc(env_value(key, ctx[key]))}</td></tr>"
                   for key, label in ENV_KEYS if key in ctx)
    raw = esc(json.dumps(ctx, indent=1, sort_keys=True, default=str))
    table = f"<table class=kv>{rows}</table>" if rows else "<p>none recorded</p>"
    return f"{table}<details><summary>raw context JSON</summary><pre>{raw}</pre></details>"


def floors_html(ctx):
    rows = []

    def row(name, key, value, what):
        rows.append(f"<tr><th>{esc(name)} <code class=key>{esc(key)}</code></th><td class=n>{value}</td>"
                    f"<td>{esc(what)}</td></tr>")

    def rtt(before_key, after_key):
        before, after = num(ctx.get(before_key)), num(ctx.get(after_key))
        text = f"{fmt_ns(before)} <span class=dim>({fmt_ns(before / 2)} one way)</span>"
        d = drift(before, after)
        if d is not None:
            cls = " class=bad" if abs(d) > DRIFT_WARN else ""
            text += f"<br>after the run {fmt_ns(after)} <span{cls}>({fmt_pct(d, sign=True)})</span>"
        return text

    if "floor_cacheline_rtt_ns" in ctx:
        value = (rtt("floor_cacheline_rtt_ns", "floor_cacheline_rtt_ns_after")
                 if num(ctx["floor_cacheline_rtt_ns"]) else "not measured (both sides on one CPU)")
        row("cache-line round trip", "floor_cacheline_rtt_ns", value,
            "round trip of one cache line between the two pinned CPUs: the least any polling shared-memory "
            "exchange can cost; the floor of x floor for spinning waits")
    if "floor_cacheline_pair_rtt_ns" in ctx:
        v = num(ctx["floor_cacheline_pair_rtt_ns"])
        row("cache-line pair round trip", "floor_cacheline_pair_rtt_ns",
            f"{fmt_ns(v)} <span class=dim>({fmt_ns(v / 2)} one way)</span>" if v else "not measured",
            "the same with one cache line per direction: the least a design with a one-way channel each way "
            "(a ring per direction) can reach")
    if num(ctx.get("floor_wake_rtt_ns")) is not None:
        row("wake-up round trip", "floor_wake_rtt_ns", rtt("floor_wake_rtt_ns", "floor_wake_rtt_ns_after"),
            "a futex wait/wake hand-over each way between the two CPUs (median of single trips): the least any "
            "exchange that sleeps in the kernel can cost; the floor of x floor for sleeping waits")
    if num(ctx.get("floor_syscall_ns")) is not None:
        row("system call", "floor_syscall_ns", fmt_ns(ctx["floor_syscall_ns"]),
            "a trivial system call (getppid): the toll every kernel mechanism pays per call")
    if num(ctx.get("floor_clock_ns")) is not None:
        row("clock read", "floor_clock_ns", fmt_ns(ctx["floor_clock_ns"]),
            "one clock_gettime(CLOCK_MONOTONIC): what each timestamp the harness takes costs")
    bw = ctx.get("floor_memcpy_bytes_per_s")
    if isinstance(bw, dict) and bw:
        pts = sorted((as_int(k), v) for k, v in bw.items() if as_int(k) is not None and num(v) is not None)
        inner = "".join(f"<tr><td class=n>{esc(fmt_bytes(size))}</td><td class=n>{v / 1e9:.3g} GB/s</td></tr>"
                        for size, v in pts)
        row("memcpy bandwidth", "floor_memcpy_bytes_per_s",
            f"<table class=mini><tr><th>copy size</th><th>bandwidth</th></tr>{inner}</table>",
            "one core copying warm buffers of each message size: the bandwidth floor for anything that copies; "
            "a stream's x floor (bw) is this over its achieved bytes/s")
    placements = ctx.get("placements")
    if isinstance(placements, dict) and len(placements) > 1:
        inner = ""
        for name, p in placements.items():
            if not isinstance(p, dict):
                continue
            cpus = p.get("cpus")
            where = ",".join(str(c) for c in cpus) if isinstance(cpus, list) else "not offered"
            cl, wake = num(p.get("floor_cacheline_rtt_ns")), num(p.get("floor_wake_rtt_ns"))
            inner += (f"<tr><td>{esc(name)}</td><td>{esc(where)}</td><td class=n>{fmt_ns(cl) if cl else '-'}</td>"
                      f"<td class=n>{fmt_ns(wake) if wake else '-'}</td></tr>")
        row("per placement", "placements",
            "<table class=mini><tr><th>placement</th><th>CPUs</th><th>cache line</th><th>wake-up</th></tr>"
            f"{inner}</table>",
            "a --placement run: each placement's CPU pair and round-trip floors, which its cases are read against "
            "(the rows above are those of the run's own CPUs)")
    if not rows:
        return "<p>no floors recorded (results from an older ipcbench)</p>"
    return f"<table class='kv floors'>{''.join(rows)}</table>"


# ----------------------------------------------------------------------------- charts

def chart_files(outdir, written):
    """{chart name: {"png": path, "svg": path}} of the files written next to report.html."""
    by_name = {}
    for p in written:
        p = Path(p)
        if p.exists() and p.resolve().parent == Path(outdir).resolve():
            by_name.setdefault(p.stem, {})[p.suffix.lstrip(".")] = p
    return by_name


def figure_html(name, files, inline=False):
    """A chart's figure: the answer chart's PNG inline (the first screen shows it even
    when report.html travels alone), the others by relative link to the PNG next to
    report.html, loaded when scrolled to: inlined they made the page megabytes."""
    links = " ".join(f'<a href="{esc(f.name)}">{ext.upper()}</a>' for ext, f in sorted(files.items())
                     if ext in ("png", "svg"))
    src = ("data:image/png;base64," + base64.b64encode(files["png"].read_bytes()).decode("ascii") if inline
           else esc(files["png"].name))
    lazy = "" if inline else " loading=lazy"
    return (f"<figure id='chart-{esc(name)}'><figcaption><h3>{esc(name)}</h3><span class=links>{links}"
            f"</span></figcaption><div class=imgbox><img alt='{esc(name)} chart' title='click: full size'{lazy} "
            f"src='{src}'></div><p class=what>{esc(CHARTS.get(name, 'chart written by plot.py'))}</p></figure>")


def charts_html(by_name):
    """A figure per chart that has a PNG, but the answer chart (in the verdict)."""
    order = [n for n in list(CHARTS) + sorted(n for n in by_name if n not in CHARTS)
             if n != ANSWER and "png" in by_name.get(n, {})]
    if not order:
        return "<p>no other charts: the results have no data plot.py could draw</p>"
    toc = " \u00b7 ".join(f"<a href='#chart-{esc(n)}'>{esc(n)}</a>" for n in order)
    return f"<p class=toc>{toc}</p>" + "".join(figure_html(n, by_name[n]) for n in order)


def verdict_value(v, key):
    """A verdict's figure in its unit: '180 ns', '3.1 M msgs/s'."""
    x = num(v.get(key))
    if x is None:
        return ""
    return fmt_ns(x) if v.get("unit") == "ns" else fmt_si(x)  # the other units are in the caption


DASH = "\u2013"


def verdict_row(v, shaped=False):
    spread_ = num(v.get("spread"))
    value = verdict_value(v, "value") + (f" \u00b1 {verdict_value(v, 'spread')}" if spread_ else "")
    reps = v.get("repetitions")
    one = " <span class=dim title='one repetition: no spread'>(1 rep)</span>" if reps == 1 else ""
    ratio, rs = num(v.get("ratio")), num(v.get("ratio_spread"))
    times = ""
    if ratio is not None:
        times = f"{ratio:.2f}" + (f" \u00b1 {rs:.2f}" if rs else "") + "\u00d7"
        if rs and ratio - rs <= 1:
            times = f"<span class=dim title='within the spread: a tie'>{times}</span>"
    runner = esc(v.get("runner_up") or "\u2013")
    if v.get("runner_up_value") is not None:
        runner += f" <span class=dim>{esc(verdict_value(v, 'runner_up_value'))}</span>"
    shape = f"<td>{esc(v.get('shape') or DASH)}</td>" if shaped else ""
    return (f"<tr><td class=n>{esc(fmt_bytes(v['size']))}</td>{shape}<td>{esc(v['waiting'])}</td>"
            f"<td title='{esc(v.get('best_case') or '')}'><b>{esc(v['best'])}</b></td>"
            f"<td class=n>{esc(value)}{one}</td><td>{runner}</td><td class=n>{times}</td></tr>")


VERDICT_WHAT = {"pingpong": "p50 one-way latency, lower is better", "stream": "messages/s, higher is better",
                "fanout": "messages/s every consumer received, higher is better",
                "fanin": "messages/s from all producers together, higher is better",
                "compete": "messages/s taken by all consumers together, higher is better", "rate": "higher is better"}


def verdict_tables(verdicts, shaped):
    """A table per pattern of verdicts (size, the shape when shaped, way of waiting,
    best mechanism with its median and spread, runner-up, how many times faster)."""
    tables = []
    for pattern in dict.fromkeys(v["pattern"] for v in verdicts):
        mine = [v for v in verdicts if v["pattern"] == pattern]
        rows = "".join(verdict_row(v, shaped) for v in mine)
        about = VERDICT_WHAT.get(pattern) or f"{mine[0].get('unit') or ''}, {mine[0].get('better') or '?'} is better"
        shape = ("<th title='what the case adds: consumers, producers, pairs at once, a placement; "
                 "only cases of one shape are compared'>shape</th>" if shaped else "")
        tables.append(f"<table class=verdict><caption><b>{esc(pattern)}</b>: {esc(about)}"
                      f"</caption><thead><tr><th>size</th>{shape}<th>waiting</th><th>best</th>"
                      "<th title='median over the repetitions \u00b1 their spread'>value \u00b1 spread</th>"
                      "<th>runner-up</th><th title='runner-up / best (lower is better) or best / runner-up'>"
                      f"times faster</th></tr></thead><tbody>{rows}</tbody></table>")
    return f"<div class=vtables>{''.join(tables)}</div>" if tables else ""


def verdict_html(verdicts, by_name):
    """The answer: one pair's verdict tables and the answer chart first; then the
    verdicts of a shape (3 consumers, 2 pairs), each shape ranked on its own."""
    plain = [v for v in verdicts if not results.is_group_shape(v.get("shape"))]
    shaped = [v for v in verdicts if results.is_group_shape(v.get("shape"))]
    tables = verdict_tables(plain, any(v.get("shape") for v in plain))  # a placement's
    if not verdicts:
        tables = "<p>No verdict: the run has no pingpong, stream, fanout or fanin case of the main grid.</p>"
    chart = figure_html(ANSWER, by_name[ANSWER], inline=True) if "png" in by_name.get(ANSWER, {}) else ""
    groups = ""
    if shaped:
        groups = ("<h3 id=verdict-groups>Groups: fan-out, fan-in, pairs at once</h3><p class=dim>Each shape is "
                  "ranked on its own (the fan and pairs charts show them against N).</p>"
                  + verdict_tables(shaped, True))
    return (f"<h2>Verdict: the fastest mechanism per message size and way of waiting</h2>{tables}{chart}{groups}"
            "<p class=dim>polling: spin, spin_yield, adaptive, sqpoll; sleeping: block, eventfd, sem. Main grid's cases "
            "only; every case is in the table below.</p>")


# ------------------------------------------------------------------------------ table

def xt_text(x):
    return "" if x is None else f"{x:.2f}x"


def cell(text, v=None, cls=None, title=None):
    attrs = ""
    if v is not None or cls == "n":
        attrs += f' data-v="{"" if v is None else repr(float(v))}"'
    if cls:
        attrs += f' class="{cls}"'
    if title:
        attrs += f' title="{esc(title)}"'
    return f"<td{attrs}>{esc(text)}</td>"


def mechanism_title(facts):
    """The mechanism cell's tooltip: its facts from context.mechanisms, if any."""
    parts = [facts.get("family") or "",
             f"rides on {facts['transport']}" if facts.get("transport") else "",
             "zero-copy" if facts.get("zero_copy") else "",
             "may lose messages" if facts.get("may_lose") else ""]
    return ", ".join(p for p in parts if p) or None


def table_html(rows):
    show_rate = any(r.rate is not None for r in rows)
    cols = [c for c in COLUMNS if show_rate or c[0] != "rate"]
    head = "".join(f'<th data-key="{k}" data-type="{"num" if isnum else "text"}"'
                   f'{" title=" + chr(34) + esc(tip) + chr(34) if tip else ""}>{esc(label)}</th>'
                   for k, label, isnum, tip in cols)
    body = []
    for r in rows:
        g = r.get
        cap = as_int(r.capacity)
        granted, cap_bytes = g("capacity_effective"), g("capacity_bytes")
        cap_title = (f"granted {granted:g} messages" + (f", {fmt_bytes(cap_bytes)}" if num(cap_bytes) else "")
                     if num(granted) is not None else None)
        x, x_bw = num(g("x_floor")), num(g("x_floor_bw"))
        xv = x if x is not None else x_bw
        xtext = "" if xv is None else (f"{xv:.1f}x" if xv < 10 else f"{xv:.0f}x") + (" bw" if x is None else "")
        status, scls = r.status()
        values = {
            "pattern": cell(f"{r.pattern} \u00d7{r.count}" if r.count else r.pattern, title=r.shape or None),
            "mechanism": cell(r.mechanism, cls="mech", title=mechanism_title(r.facts)),
            "size": cell(fmt_bytes(r.size), r.size, "n"),
            "capacity": cell(r.capacity, cap, "n", cap_title),
            "wait": cell(r.wait),
            "rate": cell(fmt_si(r.rate), r.rate, "n"),
            "p50": cell(fmt_ns(g("p50_ns")), num(g("p50_ns")), "n"),
            "p99": cell(fmt_ns(g("p99_ns")), num(g("p99_ns")), "n"),
            "p999": cell(fmt_ns(g("p999_ns")), num(g("p999_ns")), "n"),
            "max": cell(fmt_ns(g("max_ns")), num(g("max_ns")), "n"),
            "msgs": cell(fmt_si(g("msgs_per_s")), num(g("msgs_per_s")), "n"),
            "bytes": cell(fmt_si(g("bytes_per_s"), "B/s"), num(g("bytes_per_s")), "n"),
            "xfloor": cell(xtext, xv, "n"),
            "xtransport": cell(xt_text(num(g("x_transport"))), num(g("x_transport")), "n"),
            "cpu_a": cell(fmt_ns(g("cpu_ns_per_msg_tx")), num(g("cpu_ns_per_msg_tx")), "n"),
            "cpu_b": cell(fmt_ns(g("cpu_ns_per_msg_rx")), num(g("cpu_ns_per_msg_rx")), "n"),
            "reps": cell("" if r.reps is None else f"{r.reps:g}", r.reps, "n"),
            "spread": cell(fmt_pct(r.spread), r.spread, "n" + (" hot" if r.noisy else "")),
            "status": cell(status, cls=f"status {scls}", title=status if r.reason else None),
        }
        kind = "" if r.kind == "ok" else f' class="{r.kind}"'
        body.append(f'<tr data-k="{esc(r.run)}"{kind}>' + "".join(values[c[0]] for c in cols) + "</tr>")
    return (f"<table id=cases><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>",
            len(rows))


# ------------------------------------------------------------------------------- page

CSS = """
:root{--fg:#1d2330;--dim:#667085;--line:#e3e6ec;--bg:#fff;--panel:#f7f8fa;--accent:#2456c7;
--err:#b42318;--err-bg:#fef3f2;--warn:#a15c07;--warn-bg:#fffaeb;--info:#175cd3;--info-bg:#eff8ff;--ok:#067647}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1480px;margin:0 auto;padding:10px 20px 64px}
h1{font-size:20px;margin:0 0 2px}
h2{font-size:19px;margin:36px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:0}
code,pre,.n,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
a{color:var(--accent)}
.meta{color:var(--dim);margin:0}
.meta b{color:var(--fg);font-weight:600}
.summary{margin:8px 0 0}
nav{position:sticky;top:0;z-index:3;background:rgba(255,255,255,.95);border-bottom:1px solid var(--line);
padding:4px 0;font-size:13px}
nav .in{max-width:1480px;margin:0 auto;padding:0 20px}
nav a{margin-right:16px;text-decoration:none}
.banner{background:var(--err);color:#fff;padding:10px 14px;border-radius:6px;margin:12px 0;font-weight:600}
.w{border-left:4px solid;border-radius:4px;padding:8px 12px;margin:8px 0}
.w.err{border-color:var(--err);background:var(--err-bg)}
.w.warn{border-color:var(--warn);background:var(--warn-bg)}
.w.info{border-color:var(--info);background:var(--info-bg)}
.w.ok{border-color:var(--ok);background:#ecfdf3}
.w b:first-child{font-weight:600}
.w ul{margin:6px 0 0;padding-left:20px}
.w ul.reasons>li{margin:4px 0}
.count{display:inline-block;min-width:2.2em;text-align:center;background:rgba(0,0,0,.07);border-radius:9px;
padding:0 6px;margin-right:4px;font-size:12px;font-variant-numeric:tabular-nums}
ul.cases{columns:2 36em;font-size:12.5px;padding-left:18px}
ul.cases li{break-inside:avoid}
var{font-style:italic;color:var(--dim);font-family:inherit;background:rgba(0,0,0,.06);border-radius:3px;padding:0 3px}
details{margin:4px 0}
summary{cursor:pointer;color:var(--accent);font-size:13px}
.dim{color:var(--dim)}
.bad{color:var(--err);font-weight:600}
table{border-collapse:collapse}
table.kv th{text-align:left;font-weight:500;padding:4px 16px 4px 0;vertical-align:top;white-space:nowrap}
table.kv td{padding:4px 12px 4px 0;vertical-align:top}
table.kv tr+tr>*{border-top:1px solid var(--line)}
table.floors td.n{white-space:nowrap;text-align:right;padding-right:24px}
code.key{color:var(--dim);font-size:11.5px;margin-left:4px}
table.mini{margin:6px 0 2px;font-size:12.5px}
table.mini td,table.mini th{padding:1px 14px 1px 0;border:0;text-align:left;font-weight:500}
table.mini td.n{text-align:right}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;max-height:420px}
figure{margin:0 0 28px;padding:14px 16px;border:1px solid var(--line);border-radius:8px}
.imgbox{overflow:auto}
figure img.zoom{max-width:none;cursor:zoom-out}
figure img{cursor:zoom-in}
figcaption{display:flex;align-items:baseline;gap:14px;margin-bottom:8px}
figcaption .links a{margin-right:8px;font-size:13px}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
p.what{margin:10px 0 0;color:#3b4252;max-width:110ch}
.toc a{margin-right:2px}
.controls{display:flex;gap:16px;align-items:center;flex-wrap:wrap;margin:0 0 8px}
.controls input[type=search]{width:28em;padding:6px 10px;border:1px solid #c8cdd6;border-radius:6px;font:inherit}
.controls .dim{font-size:13px}
.tablebox{max-height:80vh;overflow:auto;border:1px solid var(--line);border-radius:6px}
#cases{width:100%;font-size:12px}
#cases th{position:sticky;top:0;z-index:1;background:#eef1f5;text-align:left;font-weight:600;padding:6px 8px;
white-space:nowrap;cursor:pointer;user-select:none;border-bottom:1px solid #d5dae2;padding:5px 4px}
#cases th[data-type=num]{text-align:right}
#cases th:hover{background:#e2e7ee}
#cases th.asc::after{content:" \\25B2";font-size:9px}
#cases th.desc::after{content:" \\25BC";font-size:9px}
#cases td{padding:2px 4px;white-space:nowrap;border-bottom:1px solid #f0f1f4}
#cases td.n{font-size:11.5px}
#cases td.n{text-align:right;font-variant-numeric:tabular-nums}
#cases tbody tr:nth-child(even){background:#fafbfc}
#cases tbody tr:hover{background:#eef4ff}
#cases tr.notrun td,#cases tr.skipped td{color:#98a2b3}
#cases td.mech{font-weight:500}
/* status takes the width left over and cuts long reasons (full text on hover and under Warnings) */
#cases td.status{max-width:0;width:100%;overflow:hidden;text-overflow:ellipsis}
#cases th[data-key=status]{min-width:6em}
#cases td.mech{max-width:9em;overflow:hidden;text-overflow:ellipsis}
#cases td.hot{color:var(--warn);font-weight:600}
.st-ok{color:var(--ok)}
#cases .st-warn{color:var(--warn)}
#cases .st-info{color:var(--info)}
#cases .st-err{color:var(--err);font-weight:500}
#cases .st-notrun,#cases .st-skip{color:#98a2b3}
footer{margin-top:40px;color:var(--dim);font-size:12px}
#warnings h2{margin-top:10px}
#warnings>h2{margin:8px 0 4px;font-size:15px;border:0}
#warnings>.w.ok{display:inline-block;margin:0 0 0 8px;padding:0 10px}
summary.wsum{display:block;border-left:4px solid;border-radius:4px;padding:3px 10px;margin:6px 0 0;color:var(--fg)}
summary.wsum.err{border-color:var(--err);background:var(--err-bg)}
summary.wsum.warn{border-color:var(--warn);background:var(--warn-bg)}
summary.wsum.info{border-color:var(--info);background:var(--info-bg)}
#verdict h2{margin:10px 0 6px;font-size:17px}
.vtables{display:flex;gap:14px;flex-wrap:wrap;align-items:flex-start}
table.verdict{font-size:12px;border:1px solid var(--line)}
table.verdict caption{text-align:left;padding:0 0 3px;font-size:13px}
table.verdict th{background:#eef1f5;font-weight:600;text-align:left;padding:2px 6px}
table.verdict td{padding:1px 6px;border-top:1px solid #f0f1f4;white-space:nowrap}
table.verdict td.n{text-align:right;font-variant-numeric:tabular-nums}
#verdict figure{margin:8px 0 4px;padding:6px 10px}
#verdict figure img{max-height:340px;width:auto}
#verdict figcaption{margin:0;float:right}
#verdict figcaption h3{display:none}
#verdict p.what{display:none}
"""

JS = r"""
(function () {
  var table = document.getElementById('cases');
  if (!table) return;
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  // The filter matches whole words: a row's words are its name's parts (split at /) and its
  // cells' words, so "spin" finds wait spin and not spin_yield, "size:64" not size:640.
  function words(text) {
    return text.toLowerCase().split(/[\s\/,;()]+/).map(function (w) {
      return w.replace(/^[.,:;]+|[.,:;]+$/g, '');
    }).filter(Boolean);
  }
  var names = rows.map(function (r) { return '/' + r.getAttribute('data-k').toLowerCase() + '/'; });
  var texts = rows.map(function (r) {
    var set = Object.create(null);
    words(r.getAttribute('data-k') + ' ' + Array.prototype.map.call(r.cells, function (c) {
      return c.textContent;
    }).join(' ')).forEach(function (w) { set[w] = true; });
    return set;
  });
  function has(k, term) {  // a term with a / is a run of whole name parts
    return term.indexOf('/') >= 0 ? names[k].indexOf('/' + term.replace(/^\/+|\/+$/g, '') + '/') >= 0
                                  : texts[k][term] === true;
  }
  var ths = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var col = {};
  ths.forEach(function (th, i) { col[th.getAttribute('data-key')] = i; });
  var box = document.getElementById('filter'), hide = document.getElementById('hide-notrun');
  var shown = document.getElementById('shown');
  var state = {sort: null, desc: false};

  function key(r, i, num) {
    var c = r.cells[i];
    if (num) { var v = c.getAttribute('data-v'); return v === null || v === '' ? null : parseFloat(v); }
    var t = c.textContent.trim().toLowerCase();
    return t === '' ? null : t;
  }
  function sortBy(name, desc) {
    var i = col[name];
    if (i === undefined) return false;
    var num = ths[i].getAttribute('data-type') === 'num';
    var keyed = rows.map(function (r, n) { return [key(r, i, num), n, r]; });
    keyed.sort(function (a, b) {
      if (a[0] === null || b[0] === null) {  // empty cells last, either direction
        return a[0] === b[0] ? a[1] - b[1] : (a[0] === null ? 1 : -1);
      }
      var c = num ? a[0] - b[0] : (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
      return (desc ? -c : c) || a[1] - b[1];
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k[2]); });
    tbody.appendChild(frag);
    ths.forEach(function (th) { th.classList.remove('asc', 'desc'); th.removeAttribute('aria-sort'); });
    ths[i].classList.add(desc ? 'desc' : 'asc');
    ths[i].setAttribute('aria-sort', desc ? 'descending' : 'ascending');
    state.sort = name; state.desc = desc;
    return true;
  }
  function filter() {
    var terms = box.value.toLowerCase().split(/\s+/).map(function (t) {
      return t.indexOf('/') >= 0 ? t : t.replace(/^[.,:;]+|[.,:;]+$/g, '');
    }).filter(Boolean);
    var n = 0;
    rows.forEach(function (r, k) {
      var ok = terms.every(function (t) { return has(k, t); }) &&
               !(hide.checked && (r.className === 'notrun' || r.className === 'skipped'));
      r.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = n === rows.length ? rows.length + ' cases' : n + ' of ' + rows.length + ' cases';
  }
  function saveHash() {
    var p = [];
    if (state.sort) p.push('sort=' + (state.desc ? '-' : '') + encodeURIComponent(state.sort));
    if (box.value.trim()) p.push('filter=' + encodeURIComponent(box.value.trim()).replace(/%20/g, '+'));
    if (hide.checked) p.push('hide=notrun');
    history.replaceState(null, '', p.length ? '#' + p.join('&') : location.pathname + location.search);
  }
  // #sort=p50 (or sort=-p50 / &desc=1 for descending), #filter=shm_ring+size:64, #hide=notrun
  function fromHash() {
    var h = location.hash.replace(/^#/, '');
    if (!/(^|&)(sort|filter|hide|desc)=/.test(h)) return;
    var p = {};
    h.split('&').forEach(function (kv) {
      var at = kv.indexOf('=');
      if (at > 0) p[kv.slice(0, at)] = decodeURIComponent(kv.slice(at + 1).replace(/\+/g, ' '));
    });
    box.value = p.filter || '';
    hide.checked = p.hide === 'notrun';
    if (p.sort) {
      var desc = p.sort.charAt(0) === '-' || p.desc === '1';
      sortBy(p.sort.replace(/^-/, ''), desc);
    }
    filter();
    if (p.filter !== undefined || p.sort) document.getElementById('all-cases').scrollIntoView();
  }
  ths.forEach(function (th) {
    th.addEventListener('click', function () {
      var name = th.getAttribute('data-key');
      sortBy(name, state.sort === name ? !state.desc : false);
      saveHash();
    });
  });
  var timer = null;
  box.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { filter(); saveHash(); }, 80);
  });
  hide.addEventListener('change', function () { filter(); saveHash(); });
  window.addEventListener('hashchange', fromHash);
  // Filter links apply even when the address already holds their hash.
  Array.prototype.forEach.call(document.querySelectorAll('a.flt'), function (a) {
    a.addEventListener('click', function (e) {
      e.preventDefault();
      history.replaceState(null, '', a.getAttribute('href'));
      fromHash();
    });
  });
  // A chart at full size (scrolling sideways) and back: wide charts shrink to the page.
  Array.prototype.forEach.call(document.querySelectorAll('figure img'), function (img) {
    img.addEventListener('click', function () { img.classList.toggle('zoom'); });
  });
  filter();
  fromHash();
})();
"""


# Layout facts for the headless-browser test, on body's data attributes (read back from
# --dump-dom): where the verdict starts, and how far the table overflows its box.
PROBE = r"""
(function () {
  var b = document.body, v = document.getElementById('verdict'), box = document.querySelector('.tablebox');
  if (v) b.setAttribute('data-verdict-top', Math.round(v.getBoundingClientRect().top + window.scrollY));
  var img = v && v.querySelector('img');
  function chart() {
    if (img) b.setAttribute('data-answer-top', Math.round(img.getBoundingClientRect().top + window.scrollY));
  }
  chart();
  if (img) img.addEventListener('load', chart);
  if (box) b.setAttribute('data-table-overflow', box.scrollWidth - box.clientWidth);
  b.setAttribute('data-viewport', window.innerWidth + 'x' + window.innerHeight);
})();
"""


def header_html(ctx, rows, source):
    def item(label, key):
        v = ctx.get(key)
        return f"{esc(label)} <b>{esc(v)}</b>" if v not in (None, "") else ""

    meta = " \u00b7 ".join(x for x in (item("run", "date"), item("preset", "preset"), item("commit", "git_commit"),
                                       item("ipcbench", "ipcbench_version"), item("host", "host_name")) if x)
    kinds = {}
    for r in rows:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    words = {"ok": "ran", "notrun": "not runnable", "skipped": "skipped beyond saturation",
             "interrupted": "interrupted", "failed": "failed"}
    summary = f"{len(rows)} cases: " + ", ".join(f"{kinds[k]} {w}" for k, w in words.items() if kinds.get(k))
    cpu = " \u00b7 ".join(esc(ctx[k]) for k in ("cpu_model", "kernel") if isinstance(ctx.get(k), str))
    src = f" \u00b7 results <code>{esc(Path(source).name)}</code>" if source else ""
    banner = ("<div class=banner>Incomplete run: it was interrupted, and the cases after the interruption are "
              "missing.</div>" if ctx.get("incomplete") else "")
    return (f"<header><h1>ipcbench report</h1><p class=meta>{meta}</p>"
            f"<p class=meta>{cpu}{src} \u00b7 {esc(summary)}</p>{banner}</header>")


def write(outdir, ctx, benchmarks, cases, failed, written, source=None):
    """Writes outdir/report.html and returns its path. cases and failed are plot.py
    collect()'s (each case with its "entries"), written the chart files plot.py wrote."""
    outdir = Path(outdir)
    rows = build_cases(cases, failed, results.mechanism_facts(ctx, benchmarks))
    table, n = table_html(rows)
    by_name = chart_files(outdir, written)
    not_run = outdir / "not_run.txt"
    not_run_link = (" The full list is in <a href='not_run.txt'>not_run.txt</a>."
                    if failed and not_run.exists() else "")
    title = "ipcbench report" + (f" \u2014 {ctx['date']}" if isinstance(ctx.get("date"), str) else "")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{CSS}</style></head>
<body>
<nav><div class=in><a href="#verdict">Verdict</a><a href="#warnings">Warnings</a><a href="#environment">Environment</a><a href="#floors">Floors</a><a href="#charts">Charts</a><a href="#all-cases">All cases</a></div></nav>
<main>
{header_html(ctx, rows, source)}
<section id=warnings>{warnings_html(warning_items(ctx, rows), not_run_link)}</section>
<section id=verdict>{verdict_html(results.verdicts(ctx, cases), by_name)}</section>
<section id=environment><h2>Environment</h2>{environment_html(ctx)}</section>
<section id=floors><h2>Floors</h2><p class=dim>What the hardware allows on the run's two CPUs, measured in the same
run; the table's x floor is each case against these.</p>{floors_html(ctx)}</section>
<section id=charts><h2>Charts</h2>{charts_html(by_name)}</section>
<section id=all-cases><h2>All cases</h2>
<p class=dim>Medians over repetitions; latencies are one way (pingpong: round trip / 2). Click a header to sort,
again to reverse; hover a header for what it means. The filter keeps rows holding every word typed as a whole word
(<code>spin</code> is not <code>spin_yield</code>; e.g. <code>pingpong size:64 spin</code>);
links such as <code>report.html#sort=p50&amp;filter=shm_ring</code> open the table sorted and filtered.</p>
<div class=controls><input type=search id=filter placeholder="filter, e.g. shm_ring spin size:64" aria-label="filter cases">
<label><input type=checkbox id=hide-notrun> hide cases that did not run</label><span class=dim id=shown>{n} cases</span></div>
<div class=tablebox>{table}</div></section>
<footer>Written by plots/plot.py from {esc(Path(source).name) if source else "ipcbench results"}: {len(benchmarks)} JSON entries.</footer>
</main>
<script>{JS}</script>
<script>{PROBE}</script>
</body></html>
"""
    path = outdir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
