"""Reading ipcbench results files: the one place that loads, validates and parses them.

plot.py, report.py, trend.py and scripts/bench_ci.py all read results through this
module, so they accept and refuse the same files with the same one-line messages:
- load(): strict JSON (no NaN or Infinity, no number past a double), at most MAX_BYTES,
  the context's and each benchmark's fields of the types the readers use;
- parse_name() / split_name(): 'pattern/mechanism/size:N/capacity:N/wait:W
  [/placement:P][/rate:N]' and a group's '/consumers:N', '/producers:N' or '/pairs:N'
  (any other key:value field passes through as text);
- collect(): the entries grouped by case, with medians over repetitions;
- shape_of() / is_group() / plain_cases(): what a case adds to its grid point (N
  consumers, N pairs, ...), and the cases of one plain pair that the size charts draw;
- verdicts(): the best mechanism per pattern x size x shape x way of waiting, from
  context.verdicts (ipcbench writes it) or, for a file without it, computed here the
  same way from the main grid's cases;
- machine_kind(): the kind of machine a run was measured on (CPU model and kernel
  major, as a slug); raw figures compare only within one kind;
- mechanism_facts(): each mechanism's facts (may lose messages, zero-copy, family,
  order, transport) from context.mechanisms, which ipcbench writes from its registry;
  for older files without it, what the file itself shows.
Every problem with the input is an InputError, reported by the caller as one line
with exit status 2.
"""
import json
import math
import os
import re
import stat
import statistics

# The largest results file any reader accepts (as harness/compare.hpp's
# kMaxResultsBytes): refused in a moment rather than parsed into gigabytes.
MAX_BYTES = 64 << 20

# Counters the readers use as numbers: each must be a number (or null) when present.
COUNTERS = ("p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns", "max_ns", "msgs_per_s",
            "bytes_per_s", "capacity_effective", "verified", "errors",
            "latency_samples", "measured_msgs", "real_time", "offered_msgs_per_s", "saturated",
            "x_floor", "x_transport", "cpu_ns_per_msg_tx", "cpu_ns_per_msg_rx")


class InputError(Exception):
    """Problem with the user's input: reported as one line, exit status 2."""


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ------------------------------------------------------------------------ strict JSON

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


# ------------------------------------------------------------------------------ files

def check_path(path, what="results file"):
    """A regular file or a pipe: a directory reads as an error whose message says
    little, and a device (/dev/zero) never ends. Returns its stat."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}")
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path} is a directory, not a {what}")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise InputError(f"{path} is not a regular file")
    return st


def _too_large(path):
    return InputError(f"{path} is larger than {MAX_BYTES >> 20} MiB, more than any results file "
                      "(refused rather than parsed)")


def check_file(path):
    """check_path, and no larger than MAX_BYTES."""
    if check_path(path).st_size > MAX_BYTES:
        raise _too_large(path)


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
        raise _too_large(path)
    if not data:
        raise InputError(f"{path} is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path} is not UTF-8 text (a binary file?): {e.reason} at byte {e.start}")


# ------------------------------------------------------------------------- validation

def _list_of(kind):
    return lambda v: isinstance(v, list) and all(kind(x) for x in v)


def _is_bool(v):
    return isinstance(v, bool)


def _is_str(v):
    return isinstance(v, str)


# A context.verdicts entry: the fields the readers use, each of its type (null allowed
# where ipcbench writes null: no runner-up, no spread).
_VERDICT_TYPES = {"pattern": _is_str, "waiting": _is_str, "best": _is_str, "size": is_num, "value": is_num}
_VERDICT_OPTIONAL = {"shape": _is_str, "metric": _is_str, "unit": _is_str, "better": _is_str, "best_case": _is_str,
                     "runner_up": _is_str, "spread": is_num, "runner_up_value": is_num, "ratio": is_num,
                     "ratio_spread": is_num, "repetitions": is_num, "candidates": is_num}


def _is_verdict(v):
    return (isinstance(v, dict) and all(ok(v.get(k)) for k, ok in _VERDICT_TYPES.items())
            and all(v.get(k) is None or ok(v[k]) for k, ok in _VERDICT_OPTIONAL.items()))


# Context keys the readers use as more than text, with the type each must have when
# present; null is always allowed.
_CONTEXT_TYPES = {
    "floor_cacheline_rtt_ns": (is_num, "a number"),
    "floor_cacheline_rtt_ns_after": (is_num, "a number"),
    "floor_cacheline_pair_rtt_ns": (is_num, "a number"),
    "floor_wake_rtt_ns": (is_num, "a number"),
    "floor_wake_rtt_ns_after": (is_num, "a number"),
    "floor_syscall_ns": (is_num, "a number"),
    "floor_clock_ns": (is_num, "a number"),
    "floor_drift": (is_num, "a number"),
    "floor_memcpy_bytes_per_s": (lambda v: isinstance(v, dict) and all(is_num(x) or x is None for x in v.values()),
                                 "an object of numbers"),
    "placement_drift": (_is_bool, "a boolean"),
    "incomplete": (_is_bool, "a boolean"),
    "warnings": (_list_of(_is_str), "a list of strings"),
    "cpu_pinning": (_list_of(is_num), "a list of numbers"),
    "grids": (_list_of(lambda g: isinstance(g, dict) and all(is_num(g.get(k)) or g.get(k) is None
                                                             for k in ("repetitions", "case_seconds"))),
              "a list of objects with numeric repetitions and case_seconds"),
    "merged_runs": (_list_of(lambda r: isinstance(r, dict)), "a list of objects"),
    "mechanisms": (lambda v: isinstance(v, dict) and all(isinstance(m, dict) for m in v.values()),
                   "an object of objects (one per mechanism)"),
    "verdicts": (lambda v: isinstance(v, list) and all(_is_verdict(x) for x in v),
                 "a list of verdicts (pattern, size, waiting, best, value, ...)"),
}
for _key in ("date", "git_commit", "cpu_model", "kernel", "preset", "host_name", "repetition_order",
             "build_type", "cpu_governor"):
    _CONTEXT_TYPES[_key] = (_is_str, "a string")

# Each context.mechanisms entry's fields (harness/mechanism_facts.cpp); null allowed.
_FACT_TYPES = {
    "order": (is_num, "a number"),
    "family": (_is_str, "a string"),
    "transport": (_is_str, "a string"),
    "waits": (_list_of(_is_str), "a list of strings"),
}
for _key in ("may_lose", "zero_copy", "uses_backing", "pingpong", "stream", "broadcast",
             "many_writers"):
    _FACT_TYPES[_key] = (_is_bool, "a boolean")


def _check_context(ctx, path):
    if not isinstance(ctx, dict):
        raise InputError(f"{path}: 'context' is not an object")
    for key, (ok, what) in _CONTEXT_TYPES.items():
        if ctx.get(key) is not None and not ok(ctx[key]):
            raise InputError(f"{path}: context.{key} is not {what}")
    for name, facts in (ctx.get("mechanisms") or {}).items():
        for key, (ok, what) in _FACT_TYPES.items():
            if facts.get(key) is not None and not ok(facts[key]):
                raise InputError(f"{path}: context.mechanisms[{name!r}].{key} is not {what}")


def _check_benchmark(b, where):
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


def load(path):
    """(context, benchmarks) of a results file, every field the readers use checked."""
    doc = parse_json(read_text(path), path)
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise InputError(f"{path} has no 'benchmarks' list")
    ctx = doc.get("context", {})
    _check_context(ctx, path)
    for i, b in enumerate(doc["benchmarks"]):
        _check_benchmark(b, f"{path}: benchmarks[{i}]")
    return ctx, doc["benchmarks"]


# ----------------------------------------------------------------------- machine kind

def machine_kind(ctx):
    """The kind of machine a run comes from, as a slug of its CPU model and kernel major
    ('intel-xeon-processor-linux6'). Raw figures from two kinds do not compare: the same
    mechanism's ratio to its floor differs between microarchitectures, and a kernel
    major changes the paths a message takes. Hosted runners of one label land on
    several kinds, so baselines and histories are kept per kind."""
    model = re.sub(r"\((r|tm)\)", " ", str(ctx.get("cpu_model") or "unknown cpu").lower())
    slug = re.sub(r"[^a-z0-9]+", "-", model).strip("-") or "unknown-cpu"
    kernel = re.match(r"\s*([A-Za-z]+) (\d+)\.", str(ctx.get("kernel") or ""))
    return f"{slug}-{kernel[1].lower()}{kernel[2]}" if kernel else f"{slug}-unknown-kernel"


def local_context():
    """This machine's cpu_model and kernel, read as ipcbench reads them
    (harness/environment.cpp), so that machine_kind() of it names the kind a run here
    records before any run."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    u = os.uname()
    return {"cpu_model": model, "kernel": f"{u.sysname} {u.release} {u.machine}"}


# ------------------------------------------------------------------------- case names

def run_name(b):
    """The case an entry belongs to: its run_name, or its name without an aggregate's
    "_median"-style suffix."""
    run = b.get("run_name")
    if run is None:
        agg = b.get("aggregate_name")
        run = b["name"][: -len(agg) - 1] if agg and b["name"].endswith("_" + agg) else b["name"]
    return run


def split_name(run):
    """Lenient split of 'pattern/mechanism/key:value/...': (pattern, mechanism,
    {key: value}). For names that must not stop a reader (a failed case's)."""
    parts = run.split("/")
    params = dict(p.split(":", 1) for p in parts[2:] if ":" in p)
    return parts[0], parts[1] if len(parts) > 1 else "", params


# A group's counts in a case name (harness/group.hpp): consumers of a fanout,
# producers of a fanin, pairs at once (--pairs); None when the name has none.
GROUP_FIELDS = ("consumers", "producers", "pairs")
FAN_PATTERNS = ("fanout", "fanin", "compete")


def _count(params, key, low, high=1 << 62):
    """params[key] as an int in [low, high], None when absent; ValueError otherwise.
    Bounded so that every chart can take it as a double on a log axis."""
    if key not in params:
        return None
    v = int(params[key])
    if not low <= v <= high:
        raise ValueError
    return v


def parse_name(name):
    """'pattern/mechanism/size:N/capacity:N/wait:W[/placement:P][/rate:N][/consumers:N|
    producers:N|pairs:N][/KEY:VALUE...]' -> dict of its parts: the known ones parsed
    ("placement" is "" for a run without --placement), any other field as its text."""
    pattern, mechanism, params = split_name(name)
    try:
        if name.count("/") < 2:
            raise ValueError
        size, rate = _count(params, "size", 0), _count(params, "rate", 0)
        if size is None:
            raise KeyError("size")
        counts = {key: _count(params, key, 1, 1 << 20) for key in GROUP_FIELDS}
    except (KeyError, ValueError):
        raise InputError(f"benchmark name {name!r} is not pattern/mechanism/size:N/...")
    return dict(params, pattern=pattern, mechanism=mechanism, size=size, capacity=params.get("capacity", ""),
                wait=params.get("wait", ""), rate=rate, placement=params.get("placement", ""), **counts)


def shape_of(c):
    """What a case adds to its grid point beyond size, capacity and waiting, as
    harness/verdict.cpp's shape_of() says it: "3 consumers", "2 pairs", "1 pair" (a
    --pairs sweep's, kept apart from the plain twin), a placement; "" for a plain pair.
    Cases of different shapes do not compete."""
    parts = [f"{c[key]} {key[:-1] if c[key] == 1 else key}" for key in ("consumers", "producers")
             if c.get(key) is not None]
    if c.get("pairs") is not None:
        parts.append(f"{c['pairs']} pair" if c["pairs"] == 1 else f"{c['pairs']} pairs")
    if c.get("placement"):
        parts.append(c["placement"])
    return ", ".join(parts)


def is_group_shape(shape):
    """True for a verdict's shape that names a group ("3 consumers", "2 pairs, same_l3"),
    false for none or a placement alone."""
    return any(re.fullmatch(r"\d+ (consumers?|producers?|pairs?)", part) for part in (shape or "").split(", "))


def is_group(c):
    """True for a case of more than one producer and one consumer: a fanout, a fanin
    or several pairs at once."""
    return c["pattern"] in FAN_PATTERNS or (c.get("pairs") or 1) > 1


def plain_cases(cases):
    """The cases of one pair, for the charts that draw mechanisms against size,
    capacity or rate: no group, and no pairs sweep's 'pairs:1' twin of a case that also
    ran without --pairs (the main grid's, with more repetitions)."""
    plain = {run: c for run, c in cases.items() if not is_group(c)}
    def point(c):
        return c["pattern"], c["mechanism"], c["size"], c["capacity"], c["wait"], c["rate"], c.get("placement")

    bare = {point(c) for c in plain.values() if c.get("pairs") is None}
    return {run: c for run, c in plain.items() if c.get("pairs") is None or point(c) not in bare}


def collect(benchmarks):
    """Group entries by case (run_name). Returns (cases, failed): cases maps
    run_name -> {parsed name..., "get": metric -> value or None, "entries": the
    case's JSON entries}; failed lists "run_name \u2014 reason" per case that has no data."""
    groups = {}
    for b in benchmarks:
        groups.setdefault(run_name(b), []).append(b)
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

        def values(key, iters=iters):  # one value per repetition, for the spread
            return [float(b[key]) for b in iters if is_num(b.get(key)) and math.isfinite(b[key])]

        cases[run] = dict(parse_name(run), get=get, values=values, repetitions=len(iters), entries=entries)
    return cases, failed


# ---------------------------------------------------------------------- mechanism facts

_NO_FACTS = {"order": 0, "family": "", "transport": "", "may_lose": False, "zero_copy": False}


def mechanism_facts(ctx, benchmarks=()):
    """{mechanism: {"order", "family", "transport", "may_lose", "zero_copy", ...}} for
    every mechanism in context.mechanisms (every registered one) and every one named in
    benchmarks. A file without context.mechanisms (an older ipcbench) gets what the file
    shows: may_lose where a case's label says "loss allowed", zero_copy with its
    transport where a mechanism is another one's name with "_zc" appended, order 0
    (so by name), no family."""
    known = ctx.get("mechanisms") or {}
    facts = {name: dict(_NO_FACTS, **{k: v for k, v in f.items() if v is not None})
             for name, f in known.items()}
    seen = {}
    for b in benchmarks:
        _, mech, _ = split_name(run_name(b))
        seen.setdefault(mech, []).append(str(b.get("label", "")))
    for mech, labels in seen.items():
        if mech in facts:
            continue
        f = dict(_NO_FACTS, may_lose=any("loss allowed" in label for label in labels))
        if not known and mech.endswith("_zc") and mech[:-3] in seen:
            f.update(zero_copy=True, transport=mech[:-3])
        facts[mech] = f
    return facts


def mechanism_order(facts):
    """Mechanism names in the registry's order: by (order, name)."""
    return sorted(facts, key=lambda m: (facts[m]["order"], m))


# ------------------------------------------------------------------------------ verdicts

# The two ways of waiting a verdict tells apart, and the wait modes of each.
WAITING = {"polling": ("spin", "spin_yield", "adaptive", "sqpoll"), "sleeping": ("block", "eventfd", "sem")}
# What a verdict ranks by, per pattern: (metric, unit, better).
VERDICT_METRIC = {"pingpong": ("p50_ns", "ns", "lower"), "stream": ("msgs_per_s", "msgs/s", "higher"),
                  "fanout": ("msgs_per_s", "msgs/s", "higher"), "fanin": ("msgs_per_s", "msgs/s", "higher"),
                  "compete": ("msgs_per_s", "msgs/s", "higher")}
# The verdict's order of patterns (harness/verdict.cpp's pattern_rank).
PATTERN_ORDER = ("pingpong", "stream", "fanout", "fanin", "compete")


def waiting_of(wait):
    """'polling' or 'sleeping' for a wait mode; None for a mode that is neither."""
    return next((way for way, modes in WAITING.items() if wait in modes), None)


def main_grid(cases):
    """The run names of the main grid's cases: per pattern, the capacity and the wait
    modes with the most cases (every mechanism runs them); a sweep's extra capacities
    and wait modes, run for a few mechanisms, are not in it."""
    out = set()
    for pattern in {c["pattern"] for c in cases.values()}:
        mine = {run: c for run, c in cases.items() if c["pattern"] == pattern}
        caps, waits = {}, {}
        for c in mine.values():
            caps[c["capacity"]] = caps.get(c["capacity"], 0) + 1
        top_cap = max(caps.values())
        for c in mine.values():
            if caps[c["capacity"]] == top_cap:
                waits[c["wait"]] = waits.get(c["wait"], 0) + 1
        top_wait = max(waits.values())
        out |= {run for run, c in mine.items()
                if caps[c["capacity"]] == top_cap and 2 * waits.get(c["wait"], 0) >= top_wait}
    return out


def verdict_capacities(cases):
    """{pattern: the capacity the verdict ranks at}: the one most of the pattern's cases
    ran, a tie to the smaller (max being the largest), but not to 0 (a rendezvous)
    (harness/verdict.cpp's main_capacities). Unlike
    main_grid, every wait mode at it competes: a mechanism's best one is its figure."""
    count = {}
    for c in cases.values():
        per = count.setdefault(c["pattern"], {})
        per[c["capacity"]] = per.get(c["capacity"], 0) + 1
    return {p: min(per, key=lambda cap: (-per[cap], cap == "0", int(cap) if cap.isdigit() else float("inf"), cap))
            for p, per in count.items()}


def _spread(vals):
    """Median absolute deviation of the repetitions (0 for one)."""
    if len(vals) < 2:
        return 0.0
    mid = statistics.median(vals)
    return statistics.median(abs(v - mid) for v in vals)


def _verdict(pattern, size, shape, waiting, ranked, better):
    """One verdict entry from [(value, spread, case)] sorted best first."""
    (value, spread, best), runner = ranked[0], ranked[1] if len(ranked) > 1 else None
    ratio = ratio_spread = None
    if runner is not None and value > 0 and runner[0] > 0:
        ratio = runner[0] / value if better == "lower" else value / runner[0]
        # As harness/verdict.cpp: independent relative spreads add in quadrature, and
        # one repetition on either side has no spread to add.
        if best["repetitions"] >= 2 and runner[2]["repetitions"] >= 2:
            ratio_spread = ratio * math.hypot(spread / value, runner[1] / runner[0])
    metric, unit, _ = VERDICT_METRIC[pattern]
    return {"pattern": pattern, "size": size, "shape": shape, "waiting": waiting, "metric": metric, "unit": unit,
            "better": better, "best": best["mechanism"], "best_case": best["run"], "value": value,
            "spread": spread, "runner_up": runner[2]["mechanism"] if runner else None,
            "runner_up_value": runner[0] if runner else None, "ratio": ratio, "ratio_spread": ratio_spread,
            "repetitions": best["repetitions"], "candidates": len(ranked)}


def compute_verdicts(cases):
    """The verdicts of a file without context.verdicts, as ipcbench computes them
    (harness/verdict.cpp): per pattern x size x shape x way of waiting, over the cases
    at the pattern's most run capacity (verdict_capacities), each mechanism's best
    wait mode by the median over repetitions (p50 for pingpong, lower is better;
    msgs/s for stream, fanout, fanin and compete, higher is better); the best mechanism and the
    runner-up. Only cases of one shape (shape_of: 3 consumers, 2 pairs) compete."""
    groups = {}
    capacity = verdict_capacities(cases)
    for run, c in cases.items():
        waiting = waiting_of(c["wait"])
        if c["pattern"] not in VERDICT_METRIC or waiting is None or c["capacity"] != capacity[c["pattern"]]:
            continue
        metric, _, better = VERDICT_METRIC[c["pattern"]]
        vals = c["values"](metric)
        value = statistics.median(vals) if vals else c["get"](metric)
        if value is None or not value > 0:
            continue
        per_mech = groups.setdefault((c["pattern"], c["size"], shape_of(c), waiting), {})
        sign = 1 if better == "lower" else -1
        old = per_mech.get(c["mechanism"])
        if old is None or sign * value < sign * old[0]:
            per_mech[c["mechanism"]] = (value, _spread(vals), dict(c, run=run))
    out = []
    for (pattern, size, shape, waiting), per_mech in groups.items():
        better = VERDICT_METRIC[pattern][2]
        ranked = sorted(per_mech.values(), key=lambda r: (r[0] if better == "lower" else -r[0], r[2]["mechanism"]))
        out.append(_verdict(pattern, size, shape, waiting, ranked, better))
    return sort_verdicts(out)


def _natural(text):
    """A key that orders "2 consumers" before "10 consumers"."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text or "")]


def sort_verdicts(verdicts):
    """Patterns in the verdict's order, then shape (none first, then by count), way of
    waiting (polling first) and size."""
    order = {p: i for i, p in enumerate(PATTERN_ORDER)}
    return sorted(verdicts, key=lambda v: (order.get(v["pattern"], len(order)), v["pattern"],
                                           _natural(v.get("shape")), 0 if v["waiting"] == "polling" else 1,
                                           v["size"]))


def verdicts(ctx, cases):
    """context.verdicts when the file has them (ipcbench's own), else computed from the
    cases (compute_verdicts)."""
    if ctx.get("verdicts"):
        return sort_verdicts(ctx["verdicts"])
    return compute_verdicts(cases)
