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
"$py" "$plot" "$root/tests/data/sample_results.json" --out "$out" >"$tmp/stdout" \
  || fail "plot.py exited $? on the sample results"
for chart in latency_vs_size throughput_vs_size stream_latency_vs_size throughput_vs_capacity load_latency latency_spectrum; do
  for ext in png svg; do
    [[ -s "$out/$chart.$ext" ]] || fail "$chart.$ext missing or empty"
    grep -qxF "$out/$chart.$ext" "$tmp/stdout" || fail "$chart.$ext not printed on stdout"
  done
done
[[ -f "$out/not_run.txt" ]] || fail "not_run.txt missing"
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

echo "plot_test: ok"
