#!/usr/bin/env bash
# Smoke test for plots/plot.py. Usage: plot_test.sh REPO_ROOT
# Exit 0 on success, 77 (skip) when /usr/bin/python3 has no matplotlib, else failure.
set -euo pipefail

root=${1:?usage: plot_test.sh REPO_ROOT}
py=/usr/bin/python3
plot="$root/plots/plot.py"

if ! "$py" -c 'import matplotlib' 2>/dev/null; then
  echo "plot_test: $py cannot import matplotlib; skipping"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "plot_test: FAIL: $*" >&2; exit 1; }

# 1. The sample results produce every chart as PNG and SVG, plus not_run.txt.
out="$tmp/out"
"$py" "$plot" "$root/tests/data/sample_results.json" --out "$out" >"$tmp/stdout" 2>"$tmp/stderr1" \
  || fail "plot.py exited $? on the sample results"
for chart in best_mechanism latency_vs_size throughput_vs_size throughput_vs_capacity load_latency latency_spectrum; do
  for ext in png svg; do
    [[ -s "$out/$chart.$ext" ]] || fail "$chart.$ext missing or empty"
    grep -qxF "$out/$chart.$ext" "$tmp/stdout" || fail "$chart.$ext not printed on stdout"
  done
done
[[ ! -e "$out/stream_latency_vs_size.png" ]] || fail "stream_latency_vs_size is drawn (bimodal noise; dropped)"
# No group cases in the sample: no fan or pairs chart, and a note saying so.
for chart in fan pairs; do
  [[ ! -e "$out/$chart.png" ]] || fail "$chart.png drawn from results without group cases"
done
grep -q 'skipping fan$' "$tmp/stderr1" || fail "no note that fan is skipped"
[[ -f "$out/not_run.txt" ]] || fail "not_run.txt missing"
[[ -s "$out/report.html" ]] || fail "report.html missing or empty"
grep -qxF "$out/report.html" "$tmp/stdout" || fail "report.html not printed on stdout"

# check_report DIR RESULTS: report.html's references other than data: URIs name files
# in DIR, its one data: URI is the answer chart's PNG (best_mechanism, when drawn), every
# other chart written has its PNG shown by relative link, and its table has one row per
# case of RESULTS.
check_report() {
  "$py" - "$1" "$2" <<'PY'
import base64, json, sys
from html.parser import HTMLParser
from pathlib import Path

outdir, results = Path(sys.argv[1]), sys.argv[2]

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.rows, self.in_cases = [], [], False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("href", "src"):
            if a.get(key) is not None:
                self.refs.append((tag, a.get("alt", ""), a[key]))
        if tag == "table" and a.get("id") == "cases":
            self.in_cases = True
        if self.in_cases and tag == "tr" and "data-k" in a:
            self.rows.append(a["data-k"])
    def handle_endtag(self, tag):
        if tag == "table":
            self.in_cases = False

page = Page()
page.feed((outdir / "report.html").read_text(encoding="utf-8"))
inline, shown = set(), set()
for tag, alt, ref in page.refs:
    if ref.startswith("#"):
        continue
    if ref.startswith("data:"):
        head, _, data = ref.partition(",")
        assert head == "data:image/png;base64", f"unexpected data URI {head}"
        assert base64.b64decode(data, validate=True).startswith(b"\x89PNG\r\n\x1a\n"), f"{alt}: not a PNG"
        inline.add(alt.split()[0])
        continue
    assert "://" not in ref and not ref.startswith("/"), f"not a relative reference: {ref}"
    assert (outdir / ref).is_file(), f"report.html refers to {ref}, which is not in {outdir}"
    if tag == "img":
        shown.add(Path(ref).stem)
charts = {p.stem for p in outdir.glob("*.png")}
assert inline == charts & {"best_mechanism"}, f"charts inline {sorted(inline)}, want best_mechanism only"
assert shown == charts - inline, f"charts shown by link {sorted(shown)}, written {sorted(charts - inline)}"

runs = set()
for b in json.load(open(results))["benchmarks"]:
    run = b.get("run_name")
    if run is None:
        agg = b.get("aggregate_name")
        run = b["name"][: -len(agg) - 1] if agg and b["name"].endswith("_" + agg) else b["name"]
    runs.add(run)
assert len(page.rows) == len(set(page.rows)), "a case has two rows"
assert set(page.rows) == runs, f"table rows {len(page.rows)}, cases {len(runs)}: " \
    f"missing {sorted(runs - set(page.rows))[:3]}, extra {sorted(set(page.rows) - runs)[:3]}"
PY
}
check_report "$out" "$root/tests/data/sample_results.json" || fail "report.html of the sample results"
# Rates skipped past saturation are listed with their reason.
grep -q '^rate/.* beyond saturation: saturated at' "$out/not_run.txt" || fail "not_run.txt lacks the skipped rates"
# The size charts keep to the capacities run at every size: the capacity sweep's
# points have their own chart, not one line per capacity in the size charts.
"$py" - "$root/plots" "$root/tests/data/sample_results.json" <<'PY' || fail "the size charts would draw the capacity sweep"
import sys
sys.path.insert(0, sys.argv[1])
import plot
_, benchmarks = plot.load(sys.argv[2])
cases, _ = plot.collect(benchmarks)
assert any(c["capacity"] == "1024" for c in cases.values())
assert plot.size_capacities(cases, "stream") == {"16"}, plot.size_capacities(cases, "stream")
assert all(k[2] == "16" for k in plot.series(cases, "stream", "msgs_per_s"))
# The capacity chart's lines are the sweep's points (one repetition each); the main
# grid's case (two repetitions in the sample) is a mark apart, never a point of a line.
import charts
class Canvas:  # what capacity_points reads of a charts.Canvas
    pass
cv = Canvas()
cv.cases = cases
panels = charts.capacity_points(cv)
assert panels, "no capacity sweep found in the sample"
for (size, way), (lines, marks) in panels.items():
    assert all(p[4] == 1 for pts in lines.values() for p in pts), f"{size} {way}: a line joins main-grid points"
    assert marks and all(p[4] == 2 for p in marks.values()), f"{size} {way}: main-grid marks {marks}"
PY

# 2. A zero-copy sweep (capacity 4, sizes past the main grid's) gets its own chart and
# leaves the size charts to the main grid's capacity, instead of emptying them.
"$py" - "$root/tests/data/sample_results.json" "$tmp/zc.json" <<'PY'
import copy, json, re, sys
d = json.load(open(sys.argv[1]))
extra = []
for b in d["benchmarks"]:
    if re.match(r"(pingpong|stream)/shm_ring/size:(64|65536)/capacity:16/wait:spin", b["name"]):
        for mech in ("shm_ring", "shm_ring_zc"):
            for size in ("65536", "16777216"):
                e = copy.deepcopy(b)
                for key in ("name", "run_name"):
                    if key in e:
                        e[key] = re.sub(r"shm_ring/size:\d+/capacity:16", f"{mech}/size:{size}/capacity:4", e[key])
                extra.append(e)
d["benchmarks"] += extra
json.dump(d, open(sys.argv[2], "w"))
PY
"$py" "$plot" "$tmp/zc.json" --out "$tmp/outzc" >"$tmp/stdoutzc" 2>"$tmp/stderrzc" || fail "plot.py failed with a zero-copy sweep"
for chart in latency_vs_size throughput_vs_size zero_copy; do
  [[ -s "$tmp/outzc/$chart.png" ]] || fail "with a zero-copy sweep: $chart.png missing ($(cat "$tmp/stderrzc"))"
done

# 2b. With x_floor and CPU counters (newer results than the sample), the floor-multiple
# and wait-cost charts are drawn too.
"$py" - "$root/tests/data/sample_results.json" "$tmp/cpu.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for b in d["benchmarks"]:
    if b["name"].startswith("pingpong/") and "/size:64/" in b["name"] and isinstance(b.get("p50_ns"), (int, float)):
        b["x_floor"] = b["p50_ns"] / 60.0
        b["cpu_ns_per_msg_tx"] = b["cpu_ns_per_msg_rx"] = b["p50_ns"] * 1.5
json.dump(d, open(sys.argv[2], "w"))
PY
"$py" "$plot" "$tmp/cpu.json" --out "$tmp/outcpu" >/dev/null 2>"$tmp/stderrcpu" || fail "plot.py failed with CPU counters"
for chart in x_floor wait_cost latency_spectrum; do
  [[ -s "$tmp/outcpu/$chart.png" && -s "$tmp/outcpu/$chart.svg" ]] || fail "with CPU counters: $chart missing ($(cat "$tmp/stderrcpu"))"
done

# 2c. The distance chart: not drawn for one placement (the sample); drawn from a
# --placement sweep, each placement's cases at their own x, and the other charts keep
# to the placement on the run's own CPUs (no chart joins two placements' points).
[[ ! -e "$out/distance.png" ]] || fail "distance drawn for a run on one placement"
"$py" - "$root/tests/data/sample_results.json" "$tmp/placed.json" <<'PY'
import copy, json, sys
d = json.load(open(sys.argv[1]))
placed = []
for b in d["benchmarks"]:
    if not b["name"].startswith("pingpong/"):
        continue
    for i, p in enumerate(("same_cpu", "same_l3", "cross_numa")):
        e = copy.deepcopy(b)
        run = e.get("run_name", e["name"]) + f"/placement:{p}"
        e["run_name"] = run
        e["name"] = run + (f"_{e['aggregate_name']}" if e.get("run_type") == "aggregate" else "")
        for k in ("p50_ns",):
            if isinstance(e.get(k), (int, float)):
                e[k] *= 1 + i
        placed.append(e)
d["benchmarks"] = placed
d["context"]["cpu_pinning"] = [0, 1]
d["context"]["placements"] = {"same_cpu": {"cpus": [0, 0]}, "same_l3": {"cpus": [0, 1]},
                              "cross_numa": {"cpus": [0, 16]}}
json.dump(d, open(sys.argv[2], "w"))
PY
"$py" "$plot" "$tmp/placed.json" --out "$tmp/outplaced" >/dev/null 2>"$tmp/stderrplaced" \
  || fail "plot.py failed on a --placement sweep: $(cat "$tmp/stderrplaced")"
[[ -s "$tmp/outplaced/distance.png" && -s "$tmp/outplaced/distance.svg" ]] \
  || fail "distance missing for three placements ($(cat "$tmp/stderrplaced"))"
grep -q '<td>cross_numa</td><td>0,16</td>' "$tmp/outplaced/report.html" \
  || fail "report.html's floors do not list each placement's CPUs"
"$py" - "$root/plots" "$tmp/placed.json" <<'PY' || fail "the distance chart's points or the other charts' placement"
import sys
sys.path.insert(0, sys.argv[1])
import charts, results
ctx, benchmarks = results.load(sys.argv[2])
cases, _ = results.collect(benchmarks)
assert charts.run_placement(ctx, cases) == "same_l3", charts.run_placement(ctx, cases)
assert charts.run_placement(ctx, {k: c for k, c in cases.items() if c["placement"] == "same_cpu"}) == ""
PY

# 3. A file without sweeps still gives the size charts, and says it skipped the others.
"$py" - "$root/tests/data/sample_results.json" "$tmp/nosweep.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["benchmarks"] = [b for b in d["benchmarks"]
                   if not b["name"].startswith("rate/") and "/capacity:16/" in b["name"]]
json.dump(d, open(sys.argv[2], "w"))
PY
"$py" "$plot" "$tmp/nosweep.json" --out "$tmp/out2" >"$tmp/stdout2" 2>"$tmp/stderr2" || fail "plot.py failed without sweeps"
[[ -s "$tmp/out2/throughput_vs_size.png" && ! -e "$tmp/out2/load_latency.png" && ! -e "$tmp/out2/throughput_vs_capacity.png" ]] \
  || fail "without sweeps: wrong set of charts: $(ls "$tmp/out2")"
grep -q 'skipping load_latency' "$tmp/stderr2" || fail "without sweeps: no note about load_latency"
check_report "$tmp/out2" "$tmp/nosweep.json" || fail "report.html without sweeps"

# 3b. The report's warnings: context.warnings (escaped), placement drift, a failed case,
# a noisy one, verification errors and loss; and "none" for a clean run.
"$py" - "$root/tests/data/sample_results.json" "$tmp/warn.json" "$tmp/clean.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ctx = d["context"]
ctx["warnings"] = ["governor says <script>alert(1)</script> & more"]
ctx.update(placement_drift=True, floor_cacheline_rtt_ns=100.0, floor_cacheline_rtt_ns_after=150.0, floor_drift=0.5)
def entries(run):
    return [b for b in d["benchmarks"] if b.get("run_name") == run]
for b in entries("pingpong/pipe/size:1/capacity:16/wait:block"):
    b.update(error_occurred=True, error_message="peer died: <b>boom</b>")
# Two repetitions 100 and 150: spread |a-b|/(a+b) = 20%.
iters = [b for b in entries("pingpong/unix_stream/size:4096/capacity:16/wait:spin") if b.get("run_type") == "iteration"]
assert len(iters) == 2
iters[0]["real_time"], iters[1]["real_time"] = 100.0, 150.0
for b in entries("pingpong/unix_stream/size:64/capacity:16/wait:block"):
    b["errors"] = 3.0
for b in entries("stream/unix_stream/size:64/capacity:16/wait:block"):
    b["lost_msgs"] = 7.0
json.dump(d, open(sys.argv[2], "w"))
# Clean: one case whose repetitions agree, a quiet context.
run = "pingpong/shm_ring/size:64/capacity:16/wait:spin"
d = json.load(open(sys.argv[1]))
d["benchmarks"] = entries(run)
for b in d["benchmarks"]:
    b["real_time"] = 1000.0
json.dump(d, open(sys.argv[3], "w"))
PY
"$py" "$plot" "$tmp/warn.json" --out "$tmp/outw" >/dev/null 2>&1 || fail "plot.py failed on the warnings file"
check_report "$tmp/outw" "$tmp/warn.json" || fail "report.html of the warnings file"
"$py" - "$tmp/outw/report.html" <<'PY' || fail "report.html warnings"
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
assert "<script>alert(1)" not in page, "a context warning is not escaped"
assert "peer died: <b>" not in page, "an error message is not escaped"
m = re.search(r"<section id=warnings>(.*?)</section>", page, re.S)
assert m, "no warnings section"
w = m.group(1)
def need(text, what):
    assert text in w, f"warnings lack {what}: {text!r}"
need("governor says &lt;script&gt;alert(1)&lt;/script&gt; &amp; more", "the escaped context warning")
need("Placement drift", "placement drift")
need("100 ns</b> to <b>150 ns", "the cache-line round trip before and after")
need("Failed", "the failed case")
need("peer died: &lt;b&gt;boom&lt;/b&gt;", "the failure's reason")
need("pingpong/pipe/size:1/capacity:16/wait:block", "the failed case's name")
need("Noisy repetitions", "noisy repetitions")
assert re.search(r"pingpong/unix_stream/size:4096/capacity:16/wait:spin</code></td><td class=n>20\.0%", w), \
    "the noisy case and its spread"
need("Verification errors", "verification errors")
need("pingpong/unix_stream/size:64/capacity:16/wait:block", "the case with verification errors")
need("Lost messages</b> on a reliable mechanism", "loss on a reliable mechanism")
need("Not runnable", "the cases that are not runnable")
need("Saturated", "the saturated rate cases")
assert w.index("Placement drift") < w.index("Noisy repetitions"), "warnings out of order"
# The table shows the failed case with its reason, the noisy one marked.
assert re.search(r'<tr data-k="pingpong/pipe/size:1/capacity:16/wait:block" class="failed">.*?peer died', page), \
    "the failed case's row"
assert re.search(r'<tr data-k="pingpong/unix_stream/size:4096/capacity:16/wait:spin">.*?noisy</td>', page), \
    "the noisy case's row"
assert re.search(r'<tr data-k="pingpong/unix_stream/size:64/capacity:16/wait:block">.*?3 verification errors',
                 page), "the row of the case with verification errors"
PY
"$py" "$plot" "$tmp/clean.json" --out "$tmp/outc" >/dev/null 2>&1 || fail "plot.py failed on a clean file"
check_report "$tmp/outc" "$tmp/clean.json" || fail "report.html of a clean file"
grep -q "<h2>Warnings</h2><p class='w ok'>none</p>" "$tmp/outc/report.html" || fail "a clean run's warnings do not say none"

# 3d. Mechanism facts come from context.mechanisms (the registry's, as ipcbench run
# writes them), not from lists in plots/: loss on a mechanism that may lose is
# expected, loss on one that may not is an error, whatever the names; a zero-copy
# mechanism is drawn against its transport.
"$py" - "$root/tests/data/sample_results.json" "$tmp/facts.json" <<'PY'
import copy, json, re, sys
d = json.load(open(sys.argv[1]))
facts = lambda **kw: dict({"order": 0, "family": "kernel byte stream", "transport": "", "may_lose": False,
                           "zero_copy": False, "uses_backing": False, "pingpong": True, "stream": True,
                           "waits": ["block", "spin"]}, **kw)
d["context"]["mechanisms"] = {"shm_ring": facts(order=100, family="shared memory"),
                              "shm_ring_copy": facts(order=105, family="shared memory"),
                              "ring_inplace": facts(order=110, family="shared memory", zero_copy=True,
                                                    transport="shm_ring_copy"),
                              "pipe": facts(order=200, may_lose=True), "unix_stream": facts(order=220)}
for b in d["benchmarks"]:
    if b.get("run_name") == "stream/pipe/size:64/capacity:16/wait:block":
        b["lost_msgs"] = 5.0
    if b.get("run_name") == "stream/unix_stream/size:64/capacity:16/wait:block":
        b["lost_msgs"] = 7.0
# A zero-copy mechanism and its transport under names plots/ cannot know.
extra = []
for b in d["benchmarks"]:
    if re.match(r"(pingpong|stream)/shm_ring/size:(64|65536)/capacity:16/wait:spin", b["name"]):
        for mech in ("shm_ring_copy", "ring_inplace"):
            e = copy.deepcopy(b)
            for key in ("name", "run_name"):
                if key in e:
                    e[key] = e[key].replace("/shm_ring/", f"/{mech}/")
            extra.append(e)
d["benchmarks"] += extra
json.dump(d, open(sys.argv[2], "w"))
PY
"$py" "$plot" "$tmp/facts.json" --out "$tmp/outf" >/dev/null 2>"$tmp/stderrf" || fail "plot.py failed with context.mechanisms"
[[ -s "$tmp/outf/zero_copy.png" ]] || fail "context.mechanisms: no zero_copy chart ($(cat "$tmp/stderrf"))"
grep -q 'shm_ring_copy: copy vs zero-copy' "$tmp/outf/zero_copy.svg" || fail "zero_copy does not pair with the transport"
"$py" - "$tmp/outf/report.html" <<'PY' || fail "report.html with context.mechanisms"
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
w = re.search(r"<section id=warnings>(.*?)</section>", page, re.S).group(1)
assert "Lost messages</b> in 1 case(s) of pipe: expected" in w, "pipe may lose: its loss is not expected"
assert "Lost messages</b> on a reliable mechanism (unix_stream)" in w, "unix_stream's loss is not an error"
assert 'title="shared memory, rides on shm_ring_copy, zero-copy">ring_inplace<' in page, "no facts on hover"
PY

# 3e. The verdict: from context.verdicts when the file has them (ipcbench's own, here
# made up so that they differ from what the cases say), else computed from the main
# grid's cases: the best median of the repetitions per pattern x size x way of waiting.
"$py" - "$root/tests/data/sample_results.json" "$tmp/verdicts.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["context"]["verdicts"] = [
    {"pattern": "pingpong", "size": 64, "waiting": "polling", "metric": "p50_ns", "unit": "ns", "better": "lower",
     "best": "made_up_ring", "best_case": "pingpong/made_up_ring/size:64/capacity:16/wait:spin", "value": 123.0,
     "spread": 4.0, "runner_up": "pipe", "runner_up_value": 2460.0, "ratio": 20.0, "ratio_spread": 1.5,
     "repetitions": 5, "candidates": 2},
    {"pattern": "stream", "size": 65536, "waiting": "sleeping", "metric": "msgs_per_s", "unit": "msgs/s",
     "better": "higher", "best": "other_made_up", "best_case": "stream/other_made_up/size:65536/capacity:16/wait:block",
     "value": 4.5e6, "spread": None, "runner_up": None, "runner_up_value": None, "ratio": None,
     "ratio_spread": None, "repetitions": 1, "candidates": 1}]
json.dump(d, open(sys.argv[2], "w"))
PY
"$py" "$plot" "$tmp/verdicts.json" --out "$tmp/outv" >/dev/null 2>"$tmp/stderrv" || fail "plot.py failed with context.verdicts"
[[ -s "$tmp/outv/best_mechanism.png" ]] || fail "context.verdicts: no best_mechanism chart ($(cat "$tmp/stderrv"))"
grep -q 'made_up_ring' "$tmp/outv/best_mechanism.svg" || fail "best_mechanism does not draw context.verdicts"
"$py" - "$tmp/outv/report.html" <<'PY' || fail "report.html's verdict from context.verdicts"
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
v = re.search(r"<section id=verdict>(.*?)</section>", page, re.S)
assert v, "no verdict section"
v = v.group(1)
assert "<b>made_up_ring</b>" in v and "<b>other_made_up</b>" in v, "the verdict is not context.verdicts'"
assert "123 ns \u00b1 4 ns" in v, "the best's value and spread"
assert "20.00 \u00b1 1.50\u00d7" in v, "how many times faster"
assert "(1 rep)" in v, "a verdict of one repetition is not marked"
assert page.index("<section id=verdict>") < page.index("<section id=environment>"), "the verdict is not first"
PY
"$py" - "$root/plots" "$root/tests/data/sample_results.json" <<'PY' || fail "the verdicts computed from the cases"
import statistics, sys
sys.path.insert(0, sys.argv[1])
import results
ctx, benchmarks = results.load(sys.argv[2])
assert "verdicts" not in ctx
cases, _ = results.collect(benchmarks)
verdicts = results.verdicts(ctx, cases)
assert {(v["pattern"], v["waiting"]) for v in verdicts} == {(p, w) for p in ("pingpong", "stream")
                                                           for w in ("polling", "sleeping")}, verdicts
for v in verdicts:
    metric, lower = ("p50_ns", True) if v["pattern"] == "pingpong" else ("msgs_per_s", False)
    modes = results.WAITING[v["waiting"]]
    best = {}
    for c in cases.values():  # the main grid: capacity 16, every mechanism in block and spin
        if (c["pattern"], c["size"], c["capacity"]) == (v["pattern"], v["size"], "16") and c["wait"] in modes:
            m = statistics.median(c["values"](metric))
            old = best.get(c["mechanism"])
            best[c["mechanism"]] = m if old is None else min(old, m) if lower else max(old, m)
    ranked = sorted(best, key=lambda k: (best[k] if lower else -best[k], k))  # a tie: by name
    assert v["best"] == ranked[0] and v["value"] == best[ranked[0]], (v, ranked[:2])
    assert v["runner_up"] == ranked[1] and v["candidates"] == len(ranked), (v, ranked[:2])
    assert v["ratio"] >= 1, v
PY
"$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); d["context"]["verdicts"] = [{"pattern": "pingpong", "size": "64"}]
json.dump(d, open(sys.argv[2], "w"))' "$root/tests/data/sample_results.json" "$tmp/badverdicts.json"

# 3g. Groups: tests/data/group_results.json is a real run (pipe, shm_ring, posix_mq at
# 64 B; fanout to 1-3 consumers, fanin from 1-3 producers (pipe, built with
# many_writers), pingpong and stream with --pairs 1,2; block and spin, 2 repetitions),
# merged here with the sample's plain cases, and shm_ring's fan-out marked as a
# broadcast. The fan and pairs charts are drawn; the other charts draw the plain cases
# exactly as without the groups; the verdict keeps each shape apart, as ipcbench's.
"$py" - "$root/tests/data/sample_results.json" "$root/tests/data/group_results.json" "$tmp/groups.json" <<'PY'
import json, sys
plain, groups = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for b in groups["benchmarks"]:
    if b.get("run_name", "").startswith("fanout/shm_ring/") and "broadcast" in b:
        b["broadcast"] = 1.0
plain["benchmarks"] += groups["benchmarks"]
json.dump(plain, open(sys.argv[3], "w"))
PY
"$py" "$plot" "$tmp/groups.json" --out "$tmp/outg" >/dev/null 2>"$tmp/stderrg" || fail "plot.py failed on group cases"
for chart in fan pairs best_mechanism latency_vs_size throughput_vs_size; do
  [[ -s "$tmp/outg/$chart.png" && -s "$tmp/outg/$chart.svg" ]] || fail "with groups: $chart missing ($(cat "$tmp/stderrg"))"
done
check_report "$tmp/outg" "$tmp/groups.json" || fail "report.html with group cases"
for text in "fanout: throughput against N consumers" "fanin: throughput against N producers" \
  "shm_ring, block, broadcast" "pipe, block, copies" "oversubscribed" "the slowest consumer's p99"; do
  grep -qF -- "$text" "$tmp/outg/fan.svg" || fail "fan.svg lacks \"$text\""
done
for text in "N × the 1-pair rate" "sum over the pairs" "oversubscribed"; do
  grep -qF -- "$text" "$tmp/outg/pairs.svg" || fail "pairs.svg lacks \"$text\""
done
"$py" - "$root/plots" "$root/tests/data/sample_results.json" "$root/tests/data/group_results.json" "$tmp/groups.json" \
  "$tmp/outg/report.html" <<'PY' || fail "group cases in the size charts or the verdict"
import re, sys
sys.path.insert(0, sys.argv[1])
import charts, results
load = lambda path: results.collect(results.load(path)[1])[0]
plain, merged = load(sys.argv[2]), load(sys.argv[4])
# The size charts: the same series with and without the groups (a fanout, 2 pairs and a
# pairs:1 twin of a plain case are not points of theirs).
for pattern, metric in (("pingpong", "p50_ns"), ("stream", "bytes_per_s"), ("stream", "msgs_per_s")):
    assert charts.series(merged, pattern, metric) == charts.series(plain, pattern, metric), (pattern, metric)
assert not any(results.is_group(c) for c in results.plain_cases(merged).values())
# Names: the group counts parsed, any other field passed through, a bad count refused.
c = results.parse_name("fanout/pipe/size:64/capacity:16/wait:block/consumers:3/placement:same_l3")
assert (c["consumers"], c["producers"], c["pairs"], c["placement"]) == (3, None, None, "same_l3"), c
assert results.shape_of(c) == "3 consumers, same_l3", results.shape_of(c)
assert results.shape_of(results.parse_name("stream/pipe/size:64/capacity:16/wait:block/pairs:1")) == "1 pair"
# A verdict of a placement alone is one pair's (its table comes first); a group's is not.
assert results.is_group_shape("3 consumers, same_l3") and results.is_group_shape("2 pairs")
assert not results.is_group_shape("same_l3") and not results.is_group_shape("")
for bad in ("consumers:0", "pairs:x", "producers:-1"):
    try:
        results.parse_name(f"fanin/pipe/size:64/capacity:16/wait:block/{bad}")
        raise AssertionError(f"{bad} accepted")
    except results.InputError:
        pass
# The verdict computed here is ipcbench's (context.verdicts of the same run).
ctx, benchmarks = results.load(sys.argv[3])
mine = results.compute_verdicts(results.collect(benchmarks)[0])
fields = ("pattern", "size", "shape", "waiting", "best", "runner_up", "candidates")
assert [tuple(v[k] for k in fields) for v in mine] == \
    [tuple(v[k] for k in fields) for v in results.sort_verdicts(ctx["verdicts"])], mine
assert all(abs(a["value"] - b["value"]) <= 1e-9 * b["value"] for a, b in zip(mine, results.sort_verdicts(ctx["verdicts"])))
shapes = {(v["pattern"], v["shape"]) for v in mine}
assert {("fanout", "3 consumers"), ("fanin", "2 producers"), ("stream", "2 pairs"), ("stream", "1 pair")} <= shapes, shapes
# Shapes apart: a 1-consumer fan-out made the fastest by far still wins only its own shape.
cases = results.collect(benchmarks)[0]
fast = cases["fanout/posix_mq/size:64/capacity:16/wait:block/consumers:1"]
fast["values"] = lambda key, v=fast["values"]: [x * 1000 for x in v(key)]
for v in results.compute_verdicts(cases):
    assert results.shape_of(cases[v["best_case"]]) == v["shape"], v
    assert (v["best"] == "posix_mq") >= (v["pattern"] == "fanout" and v["shape"] == "1 consumer" and
                                         v["waiting"] == "sleeping"), v
# The report's verdict: one pair's tables and the answer chart first, without a shape
# column; then the groups' tables, each row naming its shape.
page = open(sys.argv[5], encoding="utf-8").read()
verdict = re.search(r"<section id=verdict>(.*?)</section>", page, re.S).group(1)
first, _, groups = verdict.partition("<h3 id=verdict-groups>")
assert groups and "<figure id='chart-best_mechanism'>" in first and ">shape</th>" not in first, first[:400]
assert "<caption><b>fanout</b>" not in first and "<td>2 pairs</td>" not in first
fanout = re.search(r"<caption><b>fanout</b>.*?</table>", groups, re.S).group(0)
assert ">shape</th>" in fanout and "<td>3 consumers</td><td>sleeping</td>" in fanout, fanout[:400]
assert "<td>2 pairs</td><td>sleeping</td>" in groups
# The table's pattern cell: the group's count, its shape on hover.
assert '<tr data-k="fanin/pipe/size:64/capacity:16/wait:block/producers:2"><td title="2 producers">fanin \u00d72</td>' \
    in page
PY

# 3f. A real run's page (a committed baseline) stays small: the answer chart inline,
# the other charts linked, not inlined.
baseline=$(ls "$root"/results/baselines/*.json | head -1)
if [[ -s "$baseline" ]]; then
  "$py" "$plot" "$baseline" --out "$tmp/outb" >/dev/null 2>&1 || fail "plot.py failed on the baseline"
  check_report "$tmp/outb" "$baseline" || fail "report.html of the baseline"
  bytes=$(stat -c %s "$tmp/outb/report.html")
  ((bytes <= 1536 * 1024)) || fail "the baseline's report.html is $bytes bytes, more than 1.5 MiB"
else
  fail "no committed baseline in $root/results/baselines"
fi

# 3c. With a headless Chromium at hand: the page's script sorts and filters as the URL
# asks (report.html#sort=-p50&filter=...), the filter matches whole words, and at
# 1280x800 the first screen holds the verdict and the answer chart, and the table fits.
if command -v chromium >/dev/null 2>&1; then
  chrome() {  # chrome URL FLAGS...: headless, quiet, no network, a throwaway profile
    local url=$1
    shift
    timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync \
      --user-data-dir="$tmp/chromium" --window-size=1280,800 "$@" "$url" 2>/dev/null
  }
  chrome "file://$out/report.html#sort=-p50&filter=pingpong+size:64" --virtual-time-budget=5000 --dump-dom \
    >"$tmp/dom.html" || fail "chromium could not load report.html"
  "$py" - "$tmp/dom.html" "$root/tests/data/sample_results.json" <<'PY' || fail "report.html's sort and filter"
import json, re, statistics, sys
dom = open(sys.argv[1], encoding="utf-8").read()
rows = re.findall(r'<tr data-k="([^"]+)"([^>]*)>(.*?)</tr>', dom, re.S)
shown = [(k, body) for k, attrs, body in rows if "hidden" not in attrs]
want = {b["run_name"] for b in json.load(open(sys.argv[2]))["benchmarks"]
        if b["run_name"].startswith("pingpong/") and "/size:64/" in b["run_name"]}
assert {k for k, _ in shown} == want, f"filter kept {len(shown)} rows, want {len(want)}"
keys = re.findall(r'<th data-key="([^"]+)"', dom)
cells = [re.findall(r"<td([^>]*)>", body) for _, body in shown]
p50 = [float(re.search(r'data-v="([^"]*)"', c[keys.index("p50")]).group(1)) for c in cells]
assert p50 == sorted(p50, reverse=True), f"not sorted by p50 descending: {p50}"
assert re.search(r'id="shown">%d of \d+ cases<' % len(want), dom), "the row count is not shown"
PY
  # Whole words: "spin" keeps wait spin and not spin_yield; "spin_yield" keeps it alone.
  "$py" - "$root/tests/data/sample_results.json" "$tmp/yield.json" <<'PY'
import copy, json, sys
d = json.load(open(sys.argv[1]))
d["benchmarks"] += [dict(copy.deepcopy(b), name=b["name"].replace("wait:spin", "wait:spin_yield"),
                         run_name=b["run_name"].replace("wait:spin", "wait:spin_yield"))
                    for b in d["benchmarks"] if b.get("run_name") == "pingpong/shm_ring/size:64/capacity:16/wait:spin"]
json.dump(d, open(sys.argv[2], "w"))
PY
  "$py" "$plot" "$tmp/yield.json" --out "$tmp/outy" >/dev/null 2>&1 || fail "plot.py failed with spin_yield"
  for term in spin spin_yield shm_ring/size:64; do
    chrome "file://$tmp/outy/report.html#filter=$term" --virtual-time-budget=5000 --dump-dom >"$tmp/dom-${term//\//_}.html" \
      || fail "chromium could not load report.html#filter=$term"
  done
  "$py" - "$tmp" <<'PY' || fail "the table filter does not match whole words"
import re, sys
def shown(term):
    dom = open(f"{sys.argv[1]}/dom-{term.replace('/', '_')}.html", encoding="utf-8").read()
    return {k for k, attrs in re.findall(r'<tr data-k="([^"]+)"([^>]*)>', dom) if "hidden" not in attrs}
spin = shown("spin")
assert spin and all(k.endswith("/wait:spin") for k in spin), sorted(k for k in spin if not k.endswith("/wait:spin"))
assert shown("spin_yield") == {"pingpong/shm_ring/size:64/capacity:16/wait:spin_yield"}, shown("spin_yield")
ring64 = shown("shm_ring/size:64")
assert ring64 and all("/shm_ring/size:64/" in k for k in ring64), sorted(ring64)
PY
  # The first screen at 1280x800: the page's probe writes where the verdict and the
  # answer chart start, and how far the table overflows its box, on body. The groups'
  # verdicts come after the answer chart, and their table fits too.
  for dir in "$out" ${bytes:+"$tmp/outb"} "$tmp/outg"; do
    chrome "file://$dir/report.html" --virtual-time-budget=5000 --dump-dom >"$tmp/dom-layout.html" \
      || fail "chromium could not load $dir/report.html"
    chrome "file://$dir/report.html" --hide-scrollbars --screenshot="$dir/first_screen.png" >/dev/null \
      || fail "chromium could not take a screenshot of $dir/report.html"
    [[ -s "$dir/first_screen.png" ]] || fail "no screenshot of $dir/report.html"
    "$py" - "$tmp/dom-layout.html" <<'PY' || fail "report.html's first screen ($dir)"
import re, sys
body = re.search(r"<body([^>]*)>", open(sys.argv[1], encoding="utf-8").read()).group(1)
attr = dict(re.findall(r'data-([\w-]+)="([^"]*)"', body))
assert 0 <= int(attr["verdict-top"]) < 800, f"the verdict starts at {attr['verdict-top']} px"
assert 0 < int(attr["answer-top"]) < 800 - 150, f"the answer chart starts at {attr['answer-top']} px"
assert int(attr["table-overflow"]) <= 0, f"the table is {attr['table-overflow']} px too wide"
PY
  done
fi

# 4. Bad input: exit status 2 and exactly one stderr line starting "plot.py:".
expect_bad_input() {  # $1 = description, $2 = results path
  local rc=0
  "$py" "$plot" "$2" --out "$tmp/bad" >/dev/null 2>"$tmp/stderr" || rc=$?
  [[ $rc -eq 2 ]] || fail "$1: exit status $rc, expected 2"
  [[ $(wc -l <"$tmp/stderr") -eq 1 ]] || fail "$1: stderr is not one line: $(cat "$tmp/stderr")"
  grep -q '^plot\.py: ' "$tmp/stderr" || fail "$1: stderr does not start with 'plot.py: '"
}
printf '{"benchmarks": [' >"$tmp/malformed.json"
expect_bad_input "malformed JSON" "$tmp/malformed.json"
expect_bad_input "missing file" "$tmp/does_not_exist.json"
"$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); d["context"]["mechanisms"] = {"pipe": {"may_lose": "yes"}}
json.dump(d, open(sys.argv[2], "w"))' "$root/tests/data/sample_results.json" "$tmp/badfacts.json"
expect_bad_input "context.mechanisms of the wrong type" "$tmp/badfacts.json"
grep -q "context.mechanisms\['pipe'\].may_lose is not a boolean" "$tmp/stderr" || fail "bad facts: $(cat "$tmp/stderr")"
expect_bad_input "context.verdicts of the wrong type" "$tmp/badverdicts.json"
grep -q "context.verdicts is not a list of verdicts" "$tmp/stderr" || fail "bad verdicts: $(cat "$tmp/stderr")"

echo "plot_test: ok"
