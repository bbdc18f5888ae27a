"""The markdown summary of a gate (scripts/bench_ci.py): what a reviewer reads first.

In order: the verdict; what was compared with what, and how; the two sides' machines
and floors (so a reader sees when the machine moved); for --against, each flagged case
with both its measurements; warnings; then compare's table of changes.
"""
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plots"))
import report  # noqa: E402  (number formats, as the report shows them)
import results  # noqa: E402


@dataclasses.dataclass
class Gate:
    args: object  # bench_ci's parsed options
    verdict: str  # pass, regression, failed, ungated
    base_ctx: dict  # None: no baseline
    new_ctx: dict
    table_md: str  # compare's markdown table ("" when nothing was compared)
    failed: dict  # {case: message}: cases that failed in the head (and not in the base)
    not_runnable: dict
    failed_in_base: set  # cases that failed on both sides: not this change's doing


def fmt_ns(v):
    return report.fmt_ns(v) or "?"


def fmt_value(metric, v):
    return (report.fmt_si(v, "B/s") or "?") if metric == "throughput" else fmt_ns(v)


def headline(gate, confirmed=0, flagged=0):
    if gate.verdict == "regression":
        extra = ", confirmed by a rerun" if flagged else ""
        return f"## :x: ipcbench: {confirmed} regression(s){extra}"
    if gate.verdict == "failed":
        return f"## :x: ipcbench: {len(gate.failed)} case(s) failed to run"
    if gate.verdict == "ungated":
        return "## :grey_question: ipcbench: nothing gated (no baseline of this machine kind)"
    if flagged:
        return f"## :white_check_mark: ipcbench: no regression ({flagged} flagged, none confirmed by its rerun)"
    return "## :white_check_mark: ipcbench: no regression"


def sides_table(columns, rows_of):
    """A small table: one column per (title, context), one row per (label, fn(ctx))."""
    lines = ["| | " + " | ".join(title for title, _ in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for label, fn in rows_of:
        lines.append(f"| {label} | " + " | ".join(fn(ctx) for _, ctx in columns) + " |")
    return lines + [""]


def machine_rows():
    return [("commit", lambda c: f"`{c.get('git_commit', '?')}`"),
            ("machine kind", lambda c: f"`{results.machine_kind(c)}`"),
            ("CPU", lambda c: str(c.get("cpu_model", "?"))),
            ("cache-line round trip", lambda c: floor_text(c, "floor_cacheline_rtt_ns")),
            ("wake-up round trip", lambda c: floor_text(c, "floor_wake_rtt_ns")),
            ("repetitions", order)]


def floor_text(ctx, key):
    """A floor, or its range over a merged file's runs."""
    values = [r.get(key) for r in ctx.get("merged_runs") or [] if results.is_num(r.get(key))]
    if len(values) > 1:
        return f"{fmt_ns(min(values))} to {fmt_ns(max(values))} over {len(values)} runs"
    return fmt_ns(ctx.get(key))


def order(ctx):
    runs = len(ctx.get("merged_runs") or []) or 1
    reps = {g.get("repetitions") for g in ctx.get("grids") or [] if isinstance(g, dict)}
    reps = "/".join(str(r * runs) for r in sorted(r for r in reps if r is not None)) or "?"
    merged = f" ({runs} runs merged)" if runs > 1 and reps != str(runs) else ""
    return f"{reps}{merged}, {ctx.get('repetition_order', 'consecutive')}"


def warnings(gate, sides, notes=()):
    """Notes on the machine and the cases: placement drift, floors that moved between
    the sides (given two), the runs' own warnings, failed and not-runnable cases."""
    notes = list(notes)
    for which, ctx in sides:
        if ctx.get("placement_drift") or any(r.get("placement_drift") for r in ctx.get("merged_runs") or []):
            notes.append(f"{which}: the CPUs moved between near and far cores mid-run: spinning cases are suspect")
        for w in ctx.get("warnings") or []:
            notes.append(f"{which}: {w}")
    (_, b), (_, n) = sides[0], sides[-1]
    for key, what in (("floor_cacheline_rtt_ns", "cache-line"), ("floor_wake_rtt_ns", "wake-up")):
        if len(sides) == 2 and results.is_num(b.get(key)) and results.is_num(n.get(key)) and b[key] > 0 and abs(n[key] / b[key] - 1) > 0.15:
            notes.append(f"the {what} floor moved {100 * (n[key] / b[key] - 1):+.0f}% between the sides: the machine "
                         "changed, not only the code; read the changes against it")
    for name, message in sorted(gate.failed.items())[:10]:
        notes.append(f"FAILED `{name}`: {message}")
    if len(gate.failed) > 10:
        notes.append(f"... and {len(gate.failed) - 10} more failed case(s); see report.html")
    for name in sorted(gate.failed_in_base):
        notes.append(f"`{name}` failed in the base too: not this change's doing, not gated")
    if gate.not_runnable:
        notes.append(f"{len(gate.not_runnable)} case(s) not runnable on this machine (kernel limits; the reasons are "
                     "in report.html), e.g. " + next(iter(sorted(gate.not_runnable.values()))))
    return (["**Warnings**", ""] + [f"- {n}" for n in notes] + [""]) if notes else []


def method(args):
    return (f"Mann-Whitney U per case and metric ({args.metric}), threshold {args.threshold}, "
            f"alpha {args.alpha}")


def against(gate, sha, first, rerun, flagged, confirmed, hook, seconds):
    """The summary of a same-runner A/B gate."""
    args = gate.args
    lines = [headline(gate, len(confirmed), len(flagged)), ""]
    lines.append(f"The head (this checkout, `{gate.new_ctx.get('git_commit', '?')}`) against the base "
                 f"`{sha[:12]}` (`{args.against}`), both built and measured on this runner in one job: "
                 f"{args.repetitions} repetitions of the quick suite per side, run A B B A A B ..., each repetition a "
                 f"fresh pair per case; raw figures, {method(args)}. A flagged case is measured again, "
                 f"{args.repetitions} fresh pairs per side interleaved, and fails the gate only if the rerun "
                 f"confirms it. The gate took {seconds / 60:.1f} min.")
    lines.append("")
    lines += sides_table([("base", gate.base_ctx), ("head", gate.new_ctx)], machine_rows())
    if flagged:
        lines += rerun_table(first, rerun, flagged, confirmed)
    hook_note = [f"TEST HOOK: the head's first measurement of the cases matching `{hook[0].pattern}` was made "
                 f"{hook[1]:g}x slower after it was measured (BENCH_CI_TEST_SLOW_FIRST)"] if hook else []
    lines += warnings(gate, [("base", gate.base_ctx), ("head", gate.new_ctx)], hook_note)
    lines += ["### First measurement", "", gate.table_md.rstrip()]
    return "\n".join(lines) + "\n"


def rerun_table(first, rerun, flagged, confirmed):
    """Each flagged case and metric, with both its measurements."""
    def row(report_, name, metric):
        return next((r for r in (report_ or {}).get("rows", []) if r["name"] == name and r["metric"] == metric), None)

    def cells(r, metric):
        if r is None:
            return ["not measured", ""]
        return [f"{fmt_value(metric, r.get('base'))} → {fmt_value(metric, r.get('new'))}",
                f"{r.get('change_text', '?')} (p {r.get('p', float('nan')):.3g}, {r.get('n_base')}/{r.get('n_new')})"]

    lines = ["### Flagged, then measured again", "",
             "| case | metric | first: base → head | change (p, n) | rerun: base → head | change (p, n) | verdict |",
             "|---|---|---|---|---|---|---|"]
    for name, metric in flagged:
        verdict = "**REGRESSION, confirmed**" if (name, metric) in confirmed else "not confirmed"
        lines.append(f"| `{name}` | {metric} | " + " | ".join(cells(row(first, name, metric), metric) +
                                                            cells(row(rerun, name, metric), metric)) + f" | {verdict} |")
    return lines + [""]


def baseline(gate, regressed, results_json):
    """The summary of a gate against a committed baseline (or of why nothing was gated)."""
    args = gate.args
    lines = [headline(gate, regressed), ""]
    kind = results.machine_kind(gate.new_ctx)
    if gate.base_ctx is None:
        lines.append(f"No baseline of this machine kind (`{kind}`) at `{args.baseline}`: this run gates nothing. "
                     f"It is recorded in the history of its kind for the trend. On a dedicated runner, make one "
                     f"with `scripts/bench-ci.sh --refresh-baseline` and commit it; on hosted runners, gate pull "
                     f"requests with `scripts/bench-ci.sh --against REF`.")
        return "\n".join(lines + [""] + warnings(gate, [("this run", gate.new_ctx)])) + "\n"
    columns = [("baseline", gate.base_ctx), ("this run", gate.new_ctx)]
    if results.machine_kind(gate.base_ctx) != kind:
        lines.append(f"The baseline `{args.baseline}` is of another machine kind "
                     f"(`{results.machine_kind(gate.base_ctx)}`) than this run (`{kind}`), so it is not used to "
                     f"gate: raw figures of two CPU models do not compare, and over their floors they differ by "
                     f"microarchitecture too. This run is recorded for the trend of its own kind. Gate pull "
                     f"requests with `--against REF`; look across machines with `ipcbench compare "
                     f"--normalize floor` or its fleet view.")
        return "\n".join(lines + [""] + sides_table(columns, machine_rows()) +
                         warnings(gate, [("this run", gate.new_ctx)])) + "\n"
    lines.append(f"Compared `{results_json}` against the baseline of this machine kind `{args.baseline}`: "
                 f"{method(args)}.")
    lines.append("")
    lines += sides_table(columns, machine_rows())
    lines += warnings(gate, columns)
    lines.append(gate.table_md.rstrip())
    return "\n".join(lines) + "\n"
