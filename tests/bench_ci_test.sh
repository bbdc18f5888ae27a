#!/usr/bin/env bash
# The CI regression gate against a committed baseline (scripts/bench-ci.sh): bad
# input, the verdict on fixed results files (identical, one case twice as slow, a
# failed case, a baseline of another machine kind, no baseline of this kind), what it
# writes (summary, history per machine kind, report, trend), and one real short run
# through --refresh-baseline and the gate. No timing is asserted: the live gate runs
# with a threshold no noise reaches. The same-runner gate (--against) has its own
# test, bench_ci_against_test.sh. Usage: bench_ci_test.sh REPO_ROOT IPCBENCH_BINARY
set -uo pipefail
root=$(realpath "$1")
export IPCBENCH=$(realpath "$2")
py=/usr/bin/python3
gate="$root/scripts/bench-ci.sh"
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
  echo "bench_ci_test: $py cannot import matplotlib; skipping"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# --- fixed results files: 5 repetitions per case, 2 mechanisms x 2 sizes ----------
"$py" - "$tmp" <<'PY'
import json, sys
CASES = [f"pingpong/{m}/size:{s}/capacity:16/wait:{w}" for m, w in (("pipe", "block"), ("shm_ring", "spin"))
         for s in (64, 65536)]
NOT_RUNNABLE = "pingpong/posix_mq/size:65536/capacity:16/wait:block"
def run(slow=None, failed=None, commit="aaaa", cpu="Test CPU"):
    benches = []
    for name in CASES:
        base = 30000.0 if "pipe" in name else 200.0
        for i in range(5):
            if name == failed:
                benches.append({"name": name, "run_name": name, "run_type": "iteration", "repetition_index": i,
                                "error_occurred": True, "error_message": "side b died: killed by signal 9"})
                continue
            k = (2.0 if name == slow else 1.0) * (1 + 0.01 * i)
            benches.append({"name": name, "run_name": name, "run_type": "iteration", "repetition_index": i,
                            "real_time": base * 2 * k, "p50_ns": base * k, "p99_ns": base * 1.5 * k,
                            "msgs_per_s": 1e9 / (base * 2 * k), "bytes_per_s": 64e9 / (base * 2 * k),
                            "x_floor": base * 2 * k / (120 if "spin" in name else 60000)})
    for i in range(5):
        benches.append({"name": NOT_RUNNABLE, "run_name": NOT_RUNNABLE, "run_type": "iteration", "repetition_index": i,
                        "error_occurred": True, "error_message": "not runnable: mq_open refused mq_maxmsg 16"})
    ctx = {"date": "2026-11-23T10:00:00+00:00", "git_commit": commit, "cpu_model": cpu, "kernel": "Linux 6.1.0-test x86_64", "preset": "quick",
           "floor_cacheline_rtt_ns": 120.0, "floor_wake_rtt_ns": 60000.0, "floor_memcpy_bytes_per_s": {"64": 6e10},
           "grids": [{"name": "main", "repetitions": 5, "case_seconds": 0.1}], "repetition_order": "interleaved"}
    return {"context": ctx, "benchmarks": benches}
json.dump(run(), open(sys.argv[1] + "/base.json", "w"))
json.dump(run(commit="bbbb"), open(sys.argv[1] + "/same.json", "w"))
json.dump(run(slow="pingpong/shm_ring/size:64/capacity:16/wait:spin", commit="cccc"), open(sys.argv[1] + "/slow.json", "w"))
json.dump(run(failed="pingpong/pipe/size:64/capacity:16/wait:block", commit="dddd"), open(sys.argv[1] + "/failed.json", "w"))
json.dump(run(cpu="Other CPU 9000"), open(sys.argv[1] + "/other_kind.json", "w"))
PY

gate_fixed() {  # gate_fixed NAME RESULTS [options]: run the gate on a fixed file into $tmp/NAME
  local name=$1 results=$2; shift 2
  GITHUB_STEP_SUMMARY="$tmp/step_summary.md" "$gate" --no-build --results "$results" --baseline "$tmp/base.json" \
    --history "$tmp/history.jsonl" --out "$tmp/$name" "$@" >"$tmp/$name.out" 2>&1
}

# --- help and bad input: exit 2 and one line ---------------------------------------
"$gate" --help >"$tmp/help" 2>&1 && grep -q -- '--refresh-baseline' "$tmp/help" && grep -q -- '--threshold' "$tmp/help" \
  && ok || fail "--help: $(head -3 "$tmp/help")"
for bad in "--bogus" "--baseline $tmp/none.json --results $tmp/same.json" "--baseline $tmp/base.json --results $tmp/none.json" \
           "--baseline $tmp/base.json --repetitions 0" "--baseline $tmp/base.json --normalize nope" \
           "--refresh-baseline --results $tmp/same.json" "--baseline $tmp/base.json --baseline-runs 2" "--baseline $tmp/base.json --results $tmp/same.json -- --sizes 64" \
           "--baseline $tmp/base.json --results $tmp/same.json --normalize floor" "--against no-such-ref-xyz" \
           "--against HEAD --results $tmp/same.json" "--against HEAD --baseline $tmp/base.json" "--baseline $tmp/base.json -- --repetitions 3"; do
  # shellcheck disable=SC2086
  "$gate" --no-build $bad --history "$tmp/bad.jsonl" --out "$tmp/bad" >/dev/null 2>"$tmp/stderr"
  rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l <"$tmp/stderr")" -eq 1 ] && ok || fail "bench-ci $bad -> rc=$rc: $(cat "$tmp/stderr")"
done
[ -e "$tmp/bad.jsonl" ] && fail "bad input appended to the history" || ok

# --- identical results: exit 0, and everything written -----------------------------
gate_fixed same "$tmp/same.json"
rc=$?
[ $rc -eq 0 ] && ok || fail "identical results -> rc=$rc: $(tail -5 "$tmp/same.out")"
grep -q 'no regression' "$tmp/same/summary.md" && ok || fail "summary lacks the verdict: $(head -3 "$tmp/same/summary.md")"
grep -q 'not runnable on this machine' "$tmp/same/summary.md" && ok || fail "summary does not mention the not-runnable case"
cmp -s "$tmp/same/summary.md" "$tmp/step_summary.md" && ok || fail "\$GITHUB_STEP_SUMMARY did not get the summary"
for f in compare.json report.html trend.png trend.svg latency_vs_size.png; do
  [ -s "$tmp/same/$f" ] && ok || fail "gate did not write $f"
done

# --- one case twice as slow: exit 1, named; a failed case: exit 1, named -----------
gate_fixed slow "$tmp/slow.json"
rc=$?
[ $rc -eq 1 ] && grep -q 'shm_ring/size:64/.*REGRESSION' "$tmp/slow/summary.md" \
  && ! grep -q 'pipe/.*REGRESSION' "$tmp/slow/summary.md" && ok || fail "slowed case -> rc=$rc: $(cat "$tmp/slow/summary.md")"
gate_fixed failed "$tmp/failed.json"
rc=$?
[ $rc -eq 1 ] && grep -q 'FAILED `pingpong/pipe/size:64/capacity:16/wait:block`: side b died' "$tmp/failed/summary.md" \
  && ok || fail "failed case -> rc=$rc: $(cat "$tmp/failed/summary.md")"
# A threshold above the change: the slow run passes.
gate_fixed slow_ok "$tmp/slow.json" --threshold 150%
[ $? -eq 0 ] && ok || fail "--threshold 150% should pass a 2x change: $(tail -3 "$tmp/slow_ok.out")"

# --- a baseline of another machine kind gates nothing, and says so; nor does a kind
# without a baseline (the run is still recorded for its kind's trend) ---------------
gate_fixed other_kind "$tmp/slow.json" --baseline "$tmp/other_kind.json"
rc=$?
[ $rc -eq 0 ] && grep -q 'nothing gated' "$tmp/other_kind/summary.md" \
  && grep -q 'is of another machine kind (`other-cpu-9000-linux6`) than this run (`test-cpu-linux6`), so it is not used to gate' "$tmp/other_kind/summary.md" \
  && ! grep -q REGRESSION "$tmp/other_kind/summary.md" && ok || fail "another kind's baseline -> rc=$rc: $(cat "$tmp/other_kind/summary.md")"
GITHUB_STEP_SUMMARY= "$gate" --no-build --results "$tmp/slow.json" --history "$tmp/history.jsonl" --out "$tmp/no_kind" >"$tmp/no_kind.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q 'No baseline of this machine kind (`test-cpu-linux6`) at `.*results/baselines/test-cpu-linux6.json`: this run gates nothing' "$tmp/no_kind/summary.md" \
  && ok || fail "no baseline of this kind -> rc=$rc: $(cat "$tmp/no_kind/summary.md" "$tmp/no_kind.out")"

# --- the history: one line per gated run, with its verdict --------------------------
"$py" - "$tmp/history.jsonl" <<'PY' && ok || fail "history.jsonl: $(head -c 400 "$tmp/history.jsonl")"
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
assert [(r["git_commit"], r["verdict"]) for r in runs] == [
    ("bbbb", "pass"), ("cccc", "regression"), ("dddd", "failed"), ("cccc", "pass"), ("cccc", "ungated"),
    ("cccc", "ungated")], runs
assert {r["machine_kind"] for r in runs} == {"test-cpu-linux6"}, runs
slow = runs[1]
assert slow["regressions"] >= 1 and slow["cases"]["pingpong/shm_ring/size:64/capacity:16/wait:spin"]["p50_ns"] == 408.0, slow
assert "pingpong/posix_mq/size:65536/capacity:16/wait:block" not in slow["cases"], slow
PY

# --- the trend of one machine kind: a history holding two kinds draws one ------------
"$py" "$root/plots/trend.py" append "$tmp/other_kind.json" --history "$tmp/two_kinds.jsonl" >/dev/null \
  && "$py" "$root/plots/trend.py" append "$tmp/same.json" --history "$tmp/two_kinds.jsonl" >/dev/null \
  && "$py" "$root/plots/trend.py" draw --history "$tmp/two_kinds.jsonl" --out "$tmp/trend_kind" >/dev/null 2>&1 \
  && [ -s "$tmp/trend_kind/trend.svg" ] && grep -q 'test-cpu-linux6: 1 run' "$tmp/trend_kind/trend.svg" \
  && grep -q '1 other machine kind' "$tmp/trend_kind/trend.svg" && ok || fail "trend of the last run's kind"
"$py" "$root/plots/trend.py" draw --history "$tmp/two_kinds.jsonl" --kind other-cpu-9000-linux6 --out "$tmp/trend_other" \
  >/dev/null 2>&1 && grep -q 'other-cpu-9000-linux6: 1 run' "$tmp/trend_other/trend.svg" && ok || fail "trend --kind"
"$py" "$root/plots/trend.py" draw --history "$tmp/two_kinds.jsonl" --kind bogus --out "$tmp/trend_bogus" 2>"$tmp/stderr"
[ $? -eq 2 ] && grep -q "no run of 'bogus'.*other-cpu-9000-linux6, test-cpu-linux6" "$tmp/stderr" && ok \
  || fail "trend --kind bogus: $(cat "$tmp/stderr")"

# --- a real short run: --refresh-baseline, then the gate against it ------------------
run_args=(-- --mechanisms pipe,unix_stream --patterns pingpong --sizes 64 --wait block --case-time 0.01)
"$gate" --no-build --refresh-baseline --baseline-runs 2 --baseline "$tmp/live_base.json" --history "$tmp/live.jsonl" --out "$tmp/live1" \
  "${run_args[@]}" >"$tmp/live1.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "baseline written: $tmp/live_base.json (2 runs merged" "$tmp/live1.out" && ok || fail "--refresh-baseline -> rc=$rc: $(tail -5 "$tmp/live1.out")"
"$py" -c "
import json
d = json.load(open('$tmp/live_base.json'))
runs = [b for b in d['benchmarks'] if b['run_type'] == 'iteration']
assert sorted({b['name'] for b in runs}) == ['pingpong/pipe/size:64/capacity:16/wait:block',
                                             'pingpong/unix_stream/size:64/capacity:16/wait:block'], runs
# Two runs of 5 repetitions merged: 10 repetitions a case, numbered 0 to 9.
for name in {b['name'] for b in runs}:
    assert sorted(b['repetition_index'] for b in runs if b['name'] == name) == list(range(10)), runs
assert len(d['context']['merged_runs']) == 2 and d['context']['repetition_order'] == 'interleaved', d['context']
# The merged file's floors (what --normalize floor divides by) are its runs' medians.
import statistics
ctx = d['context']
for key in ('floor_cacheline_rtt_ns', 'floor_wake_rtt_ns'):
    assert ctx[key] == statistics.median(r[key] for r in ctx['merged_runs']), (key, ctx)
assert not [b for b in d['benchmarks'] if b['run_type'] != 'iteration']
" && ok || fail "the refreshed baseline's cases and repetitions"
# Each mechanism's facts, from the registry (every registered mechanism, not only the
# ones run), for the readers in plots/; and the registry's order in the history.
"$IPCBENCH" list >"$tmp/list.out" 2>&1
"$py" - "$tmp/live_base.json" "$tmp/list.out" "$tmp/live.jsonl" <<'PY' && ok || fail "context.mechanisms of a real run"
import json, sys
facts = json.load(open(sys.argv[1]))["context"]["mechanisms"]
listed = open(sys.argv[2]).read()
assert facts and all(name in listed for name in facts), sorted(facts)
assert facts["udp"]["may_lose"] is True and facts["unix_dgram"]["may_lose"] is False, (facts["udp"], facts["unix_dgram"])
assert facts["pipe"]["may_lose"] is False and facts["shm_ring_zc"]["zero_copy"] is True, facts
for name, f in facts.items():
    assert {"order", "family", "transport", "may_lose", "zero_copy", "uses_backing", "pingpong", "stream",
            "waits"} <= set(f), (name, f)
    assert "block" in f["waits"], (name, f)
order = json.loads(open(sys.argv[3]).readlines()[-1])["mechanism_order"]
assert sorted(order) == sorted(facts), order
PY
"$gate" --no-build --baseline "$tmp/live_base.json" --history "$tmp/live.jsonl" --out "$tmp/live2" --threshold 1000% \
  "${run_args[@]}" >"$tmp/live2.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q 'no regression' "$tmp/live2/summary.md" && [ -s "$tmp/live2/report.html" ] \
  && grep -q '10 (2 runs merged), interleaved' "$tmp/live2/summary.md" && [ "$(wc -l <"$tmp/live.jsonl")" -eq 3 ] && ok || fail "live gate -> rc=$rc: $(tail -5 "$tmp/live2.out")"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
