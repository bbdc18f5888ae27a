#!/usr/bin/env bash
# End-to-end checks of the ipcbench command: bad input, help, list, a real run's
# JSON, the default output path, Ctrl-C and a killed orchestrator. Correctness
# only: no timing is asserted. Usage: cli_test.sh IPCBENCH_BINARY
set -uo pipefail
bin=$(realpath "$1")
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

shm_entries() { ls /dev/shm 2>/dev/null | grep '^ipcbench-' | sort; }
shm_before=$(shm_entries)

# --- bad input: exit 2, exactly one line on stderr, nothing written -------------
expect_usage_error() {
  local out="$tmp/bad.json"
  rm -f "$out"
  "$bin" "$@" --out "$out" >"$tmp/stdout" 2>"$tmp/stderr"
  local rc=$? lines
  lines=$(wc -l <"$tmp/stderr")
  if [ $rc -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -q '^ipcbench: ' "$tmp/stderr"; then
    fail "ipcbench $* -> rc=$rc, $lines stderr lines: $(head -c 300 "$tmp/stderr")"
  elif ls "$tmp"/bad.json* >/dev/null 2>&1; then
    fail "ipcbench $* left a file behind: $(ls "$tmp")"
  else
    ok
  fi
}
expect_usage_error run --mechanisms nope
expect_usage_error run --mechanisms pipe,pipe
expect_usage_error run --mechanisms ''
expect_usage_error run --sizes 0
expect_usage_error run --sizes 1,,2
expect_usage_error run --sizes -5
expect_usage_error run --sizes 4X
expect_usage_error run --sizes 99999999999999999999999
expect_usage_error run --sizes 2G
expect_usage_error run --sizes 64,64
expect_usage_error run --capacities -1
expect_usage_error run --capacities maxx
expect_usage_error run --capacities 2M
expect_usage_error run --preset nope
expect_usage_error run --patterns foo
expect_usage_error run --wait sometimes
expect_usage_error run --wait spin,spin
expect_usage_error run --wait Spin_Yield
expect_usage_error run --backing tmpfs
expect_usage_error run --backing posix_shm,memfd
expect_usage_error run --dir /nonexistent-ipcbench-dir
expect_usage_error run --dir /dev/null
expect_usage_error run --cpus 0
expect_usage_error run --cpus 0,99999
expect_usage_error run --cpus a,b
expect_usage_error run --cpus 0,1,0
expect_usage_error run --cpus ,1
expect_usage_error run --repetitions 0
expect_usage_error run --repetitions 1.5
expect_usage_error run --case-time -1
expect_usage_error run --case-time abc
expect_usage_error run --case-time nan
expect_usage_error run --timeout 0
expect_usage_error run --messages 0
expect_usage_error run --no-verify=1
expect_usage_error run --bogus
expect_usage_error run positional
expect_usage_error run --benchmark_out=x.json
expect_usage_error run --benchmark_no_such_flag=1
expect_usage_error frobnicate
expect_usage_error list --bogus
expect_usage_error run --sizes
expect_usage_error run --rates 0
expect_usage_error run --rates 1x
expect_usage_error run --rates 1.5k
expect_usage_error run --rates 200M
expect_usage_error run --rates 1k,1000
expect_usage_error run --rates 1k,1k
expect_usage_error run --rates ''
expect_usage_error run --sweeps nope
expect_usage_error run --sweeps capacity,capacity
expect_usage_error run --sweeps ''
expect_usage_error run --patterns rate,bogus
# Unwritable --out: exit 2 before any case runs, nothing created.
"$bin" run --sizes 64 --out /nonexistent/dir/x.json >/dev/null 2>"$tmp/stderr"
[ $? -eq 2 ] && [ "$(wc -l <"$tmp/stderr")" -eq 1 ] && ok || fail "unwritable --out: $(cat "$tmp/stderr")"
"$bin" >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "no command should exit 2"

# --- help on every command says what each option does ------------------------
"$bin" --help >"$tmp/help.txt" && grep -q 'run ' "$tmp/help.txt" && ok || fail "top-level --help"
# The help is longer than a pipe write: read it from a file, or grep -q exiting early
# would break the pipe under pipefail.
"$bin" run --help >"$tmp/run-help.txt"
for opt in --preset --sweeps --rates --mechanisms --patterns --sizes --capacities --wait --backing --dir --cpus --repetitions \
           --case-time --messages --timeout --no-verify --interleave --out --benchmark_; do
  grep -q -- "$opt" "$tmp/run-help.txt" && ok || fail "run --help does not mention $opt"
done
"$bin" help run >"$tmp/help-run.txt" && cmp -s "$tmp/help-run.txt" "$tmp/run-help.txt" && ok || fail "help run"
for mode in spin spin_yield adaptive block eventfd sem; do
  grep -qw -- "$mode" "$tmp/help-run.txt" && ok || fail "run --help does not list wait mode $mode"
done
"$bin" list --help >"$tmp/list-help.txt" && grep -q -- --json "$tmp/list-help.txt" && ok || fail "list --help"

# --- list --json --------------------------------------------------------------
"$bin" list --json >"$tmp/list.json" && $py - "$tmp/list.json" <<'PY' && ok || fail "list --json"
import json, sys
items = json.load(open(sys.argv[1]))
assert isinstance(items, list) and items
for m in items:
    assert {"name", "patterns", "wait_modes", "capacity_knob"} <= m.keys(), m
    assert set(m["patterns"]) <= {"pingpong", "stream", "rate", "fanout", "fanin", "compete"} and m["patterns"]
    assert ("rate" in m["patterns"]) == ("stream" in m["patterns"]), m
    # every one-way channel fans out (broadcast or copies); fan-in needs many writers
    assert ("fanout" in m["patterns"]) == ("stream" in m["patterns"]), m
    assert ("fanin" in m["patterns"]) == (m["many_writers"] and "stream" in m["patterns"]), m
    assert ("compete" in m["patterns"]) == (m["many_readers"] and "stream" in m["patterns"]), m
    assert set(m["wait_modes"]) <= {"block", "spin", "spin_yield", "adaptive", "eventfd", "sem", "sqpoll"}, m
    assert "block" in m["wait_modes"], m
names = {m["name"] for m in items}
assert {"pipe", "unix_stream", "shm_ring"} <= names, names
modes = {m["name"]: m["wait_modes"] for m in items}
assert modes["shm_ring"] == ["block", "spin", "spin_yield", "adaptive", "eventfd", "sem"], modes
assert modes["pipe"] == ["block", "spin"] and modes["rpc_tcp"] == ["block"], modes
# Each transport is a listed mechanism; the primitives ride on nothing.
for m in items:
    assert m["transport"] in names | {""} and m["transport"] != m["name"], m
transports = {m["name"]: m["transport"] for m in items}
assert transports["rpc_unix"] == "unix_stream" and transports["pipe"] == "", transports
PY
"$bin" list >"$tmp/list.txt" && grep -q "^shm_ring " "$tmp/list.txt" && ok || fail "list"

# --- a real run: the JSON schema and names -------------------------------------
"$bin" run --sweeps none --mechanisms pipe,unix_stream,shm_ring --sizes 1,64,4K --capacities 2 \
  --messages 200 --repetitions 2 --out "$tmp/run.json" >"$tmp/run.out" 2>"$tmp/run.err"
rc=$?
[ $rc -eq 0 ] && ok || fail "short run exited $rc: $(tail -3 "$tmp/run.err")"
grep -q "results: $tmp/run.json" "$tmp/run.out" && ok || fail "run did not name its results file"
ls "$tmp" | grep -q '\.tmp' && fail "temporary files left: $(ls "$tmp")" || ok
$py - "$tmp/run.json" <<'PY' && ok || fail "results JSON schema"
import json, re, sys
d = json.load(open(sys.argv[1]))
ctx = d["context"]
for key in ["cpu_model", "cpus_online", "kernel", "clocksource", "cpu_pinning", "compiler",
            "cxx_flags", "build_type", "git_commit", "ipcbench_version", "timer_ns",
            "verification", "checksum_ns_per_kib", "incomplete", "num_cpus", "date",
            "floor_cacheline_rtt_ns", "floor_wake_rtt_ns", "floor_syscall_ns", "floor_clock_ns",
            "floor_memcpy_bytes_per_s", "floor_cacheline_rtt_ns_after", "floor_drift", "placement_drift",
            "floor_wake_rtt_ns_after"]:
    assert key in ctx, key
assert ctx["incomplete"] is False and ctx["timer_ns"] > 0
assert set(ctx["floor_memcpy_bytes_per_s"]) == {"1", "64", "4096"}, ctx["floor_memcpy_bytes_per_s"]
runs = [b for b in d["benchmarks"] if b["run_type"] == "iteration"]
# 3 mechanisms x 2 patterns x 2 waits x 3 sizes, 2 repetitions each
assert len(runs) == 3 * 2 * 2 * 3 * 2, len(runs)
name_re = re.compile(r"^(pingpong|stream)/[a-z_]+/size:\d+/capacity:\d+/wait:(block|spin|spin_yield|adaptive|eventfd|sem|sqpoll)$")
for b in runs:
    assert name_re.match(b["name"]), b["name"]
    assert b["time_unit"] == "ns" and not b.get("error_occurred"), b
    assert b["errors"] == 0 and b["verified"] >= 200, b
    assert b["capacity_effective"] >= 2, b
    if b["name"].startswith("pingpong"):
        assert b["x_floor"] > 0, b
    else:
        assert b["x_floor_bw"] > 0, b
    assert b["msgs_per_s"] > 0 and b["bytes_per_s"] > 0 and b["real_time"] > 0
    # CPU per message of each side: total and its system part, finite, total > 0.
    for side in ("tx", "rx"):
        total, sys_part = b["cpu_ns_per_msg_" + side], b["cpu_sys_ns_per_msg_" + side]
        assert 0 < total < 1e12 and 0 <= sys_part <= total, (b["name"], side, total, sys_part)
    size = int(b["name"].split("size:")[1].split("/")[0])
    if b["name"].startswith("pingpong") or size >= 8:
        for k in ["p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns", "max_ns"]:
            assert b[k] > 0, (b["name"], k)
        assert b["p50_ns"] <= b["p90_ns"] <= b["p99_ns"] <= b["p999_ns"] <= b["p9999_ns"] <= b["max_ns"], b
    else:
        assert "p50_ns" not in b and "timestamp" in b.get("label", ""), b
aggs = {b["aggregate_name"] for b in d["benchmarks"] if b["run_type"] == "aggregate"}
assert {"mean", "median", "stddev"} <= aggs, aggs
PY
# --backing: recorded in the context and in each shm_ring case's label.
"$bin" run --sweeps none --mechanisms shm_ring,pipe --patterns stream --wait spin --sizes 64 --capacities 2 --messages 200 \
  --repetitions 1 --backing sysv_shm --out "$tmp/sysv.json" >/dev/null 2>&1
[ $? -eq 0 ] && ok || fail "--backing sysv_shm run failed"
$py -c "
import json
d=json.load(open('$tmp/sysv.json'))
assert d['context']['shm_backing'] == 'sysv_shm' and d['context']['shm_backing_detail'], d['context']
runs=[b for b in d['benchmarks'] if b['run_type']=='iteration']
assert [b.get('label') for b in runs if '/shm_ring/' in b['name']] == ['backing: sysv_shm'], runs
assert all('backing' not in b.get('label', '') for b in runs if '/pipe/' in b['name']), runs
assert json.load(open('$tmp/run.json'))['context']['shm_backing'] == 'posix_shm'
" && ok || fail "--backing not recorded in the context and labels"
# --dir: the file mechanism's file lives there (its filesystem in the label), and
# nothing is left in it after the run.
mkdir "$tmp/fdir"
"$bin" run --sweeps none --mechanisms file --patterns stream --wait block --sizes 64 --capacities 2 --messages 200 \
  --repetitions 1 --dir "$tmp/fdir" --out "$tmp/fdir.json" >/dev/null 2>&1
[ $? -eq 0 ] && ok || fail "--dir run failed"
$py -c "
import json
runs=[b for b in json.load(open('$tmp/fdir.json'))['benchmarks'] if b['run_type']=='iteration']
assert runs and all('file on ' in b.get('label', '') and '($tmp/fdir)' in b['label'] for b in runs), runs
" && ok || fail "--dir not recorded in the file cases' labels"
[ -z "$(ls -A "$tmp/fdir")" ] && ok || fail "--dir: the file mechanism left $(ls -A "$tmp/fdir")"
# --interleave: every repetition of every case still present, recorded as interleaved
# (the order itself is GB's shuffle; not asserted).
"$bin" run --sweeps none --mechanisms pipe,unix_stream --patterns pingpong --wait block --sizes 64 --capacities 2 \
  --messages 100 --repetitions 3 --interleave --out "$tmp/il.json" >/dev/null 2>&1
[ $? -eq 0 ] && ok || fail "--interleave run failed"
$py -c "
import json
d=json.load(open('$tmp/il.json'))
assert d['context']['repetition_order'] == 'interleaved', d['context']
assert json.load(open('$tmp/run.json'))['context']['repetition_order'] == 'consecutive'
runs=[b for b in d['benchmarks'] if b['run_type']=='iteration']
assert sorted((b['name'], b['repetition_index']) for b in runs) == sorted(
    ('pingpong/%s/size:64/capacity:2/wait:block' % m, i) for m in ('pipe','unix_stream') for i in range(3)), runs
assert all(b['errors'] == 0 and not b.get('error_occurred') for b in runs), runs
" && ok || fail "--interleave: repetitions or context"
# --wait with the ring's own modes: a case for each mode a mechanism has, none for the
# others (pipe has only block and spin), and summary --all shows CPU per message.
"$bin" run --sweeps none --mechanisms shm_ring,pipe --patterns pingpong,stream --sizes 64 --capacities 2 --messages 200 \
  --repetitions 1 --wait spin,spin_yield,adaptive,block,eventfd,sem --out "$tmp/waits.json" >"$tmp/waits.out" 2>&1
[ $? -eq 0 ] && ok || fail "--wait with every mode failed: $(tail -3 "$tmp/waits.out")"
"$bin" summary "$tmp/waits.json" --all >"$tmp/summary-all.txt" && grep -q "cpu/msg a" "$tmp/summary-all.txt" && ok ||
  fail "summary --all has no cpu/msg column"
$py -c "
import json
runs=[b for b in json.load(open('$tmp/waits.json'))['benchmarks'] if b['run_type']=='iteration']
names={b['name'] for b in runs}
modes=['spin','spin_yield','adaptive','block','eventfd','sem']
want={'%s/shm_ring/size:64/capacity:2/wait:%s' % (p, w) for p in ('pingpong','stream') for w in modes}
want|={'%s/pipe/size:64/capacity:2/wait:%s' % (p, w) for p in ('pingpong','stream') for w in ('block','spin')}
assert names == want, sorted(names ^ want)
for b in runs:
    assert not b.get('error_occurred') and b['errors'] == 0, b
    assert b['cpu_ns_per_msg_tx'] > 0 and b['cpu_ns_per_msg_rx'] > 0, b
" && ok || fail "--wait every mode: cases or counters"
# A case that cannot run is reported with its reason, and the run still succeeds.
"$bin" run --sweeps none --mechanisms shm_ring --patterns stream --wait spin --sizes 1M --capacities 1024 \
  --out "$tmp/nr.json" >/dev/null 2>&1
[ $? -eq 0 ] && ok || fail "a not-runnable case must not fail the run"
$py -c "
import json,sys
b=json.load(open('$tmp/nr.json'))['benchmarks'][0]
assert b['error_occurred'] and b['error_message'].startswith('not runnable: ') and 'MiB' in b['error_message'], b
" && ok || fail "not-runnable case JSON"

# compete: one case per --consumers count, named /consumers:N, every message once, the
# shares counted; a pipe with messages over PIPE_BUF is not runnable, with the reason;
# a mechanism without many readers is offered no compete case.
"$bin" run --sweeps none --mechanisms pipe,shm_mpmc --patterns compete --consumers 2 --wait block \
  --sizes 64,8K --case-time 0.02 --out "$tmp/compete.json" >/dev/null 2>&1
[ $? -eq 0 ] && ok || fail "run --patterns compete"
$py -c "
import json
runs={b['name']: b for b in json.load(open('$tmp/compete.json'))['benchmarks']}
ok=runs['compete/pipe/size:64/capacity:16/wait:block/consumers:2']
assert not ok.get('error_occurred') and ok['errors'] == 0 and ok['consumers'] == 2, ok
assert 0 <= ok['share_min'] <= 0.5 <= ok['share_max'] <= 1, ok
assert not runs['compete/shm_mpmc/size:64/capacity:16/wait:block/consumers:2'].get('error_occurred')
big=runs['compete/pipe/size:8192/capacity:16/wait:block/consumers:2']
assert big['error_occurred'] and big['error_message'].startswith('not runnable: ') and 'PIPE_BUF' in big['error_message'], big
" && ok || fail "compete cases JSON"
"$bin" run --sweeps none --mechanisms tcp --patterns compete --sizes 64 --out "$tmp/nc.json" >"$tmp/nc.out" 2>&1
[ $? -eq 2 ] && grep -q "no chosen mechanism supports" "$tmp/nc.out" && ok \
  || fail "compete on tcp: $(head -c 200 "$tmp/nc.out")"
# Capacity 0 (a rendezvous) and max run from the command line and say so in the label;
# a mechanism that may lose messages is not runnable at 0, with the reason.
"$bin" run --sweeps none --mechanisms pipe,udp --patterns stream --wait block --sizes 64 --capacities 0,max \
  --messages 200 --out "$tmp/cap.json" >/dev/null 2>&1
[ $? -eq 0 ] && ok || fail "--capacities 0,max must run"
$py -c "
import json
bs={b['name']:b for b in json.load(open('$tmp/cap.json'))['benchmarks']}
r=bs['stream/pipe/size:64/capacity:0/wait:block']
assert not r.get('error_occurred') and r['capacity_effective']==0 and 'rendezvous' in r['label'], r
m=bs['stream/pipe/size:64/capacity:max/wait:block']
assert not m.get('error_occurred') and m['capacity_effective']>=1 and 'bounded by' in m['label'], m
u=bs['stream/udp/size:64/capacity:0/wait:block']
assert u['error_occurred'] and 'may lose messages' in u['error_message'], u
" && ok || fail "--capacities 0,max: JSON"

# --benchmark_list_tests lists the cases and writes no results file.
"$bin" run --sweeps none --mechanisms pipe --sizes 64 --benchmark_list_tests=true --out "$tmp/listed.json" >"$tmp/lt.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^pingpong/pipe/size:64/' "$tmp/lt.out" && [ ! -e "$tmp/listed.json" ] && ok \
  || fail "--benchmark_list_tests: rc=$rc, $(head -c 200 "$tmp/lt.out")"

# Presets of several grids: the default preset's sweeps, --sweeps, --mechanisms
# filtering every grid, one name per case.
list_cases() { "$bin" run "$@" --benchmark_list_tests=true --out "$tmp/listed.json" 2>/dev/null | grep -v '^$'; }
list_cases >"$tmp/default.list"
$py - "$tmp/default.list" <<'PY' && ok || fail "default preset's case list"
import re, sys
names = [re.sub(r"/iterations:1/.*$", "", l.strip()) for l in open(sys.argv[1])]
assert len(names) == len(set(names)), "a case is listed twice"
caps = {n for n in names if n.startswith("stream/pipe/size:64/")}
assert {f"stream/pipe/size:64/capacity:{c}/wait:block" for c in [0, 1, 16, 64, 256, 1024]} <= caps, caps
rates = [n for n in names if n.startswith("rate/pipe/size:64/capacity:16/wait:block/rate:")]
assert [int(n.rsplit(":", 1)[1]) for n in rates] == [1000, 3000, 10000, 30000, 100000, 300000, 1000000, 3000000, 10000000], rates
assert not any(n.startswith("stream/shm_locked/") and "capacity:16/" not in n for n in names)  # not in the capacity sweep
PY
# (Each list goes to a file first: grep -q closing a pipe early would fail the run
# writing into it, under pipefail.)
has_case() {  # $1 = ERE; the remaining arguments: options of the listing
  local re=$1
  shift
  list_cases "$@" >"$tmp/l.list"
  grep -qE "$re" "$tmp/l.list"
}
has_case '^rate/|capacity:(0|1|2|4|1024)/' --sweeps none && fail "--sweeps none still lists sweep cases" || ok
has_case 'capacity:1024/' --sweeps rate && fail "--sweeps rate lists capacity-sweep cases" || ok
has_case '^rate/' --sweeps rate && ok || fail "--sweeps rate lists no rate case"
has_case '^rate/' --preset quick && fail "quick has no sweeps by default" || ok
has_case '^rate/tcp/' --preset quick --sweeps rate && ok || fail "quick --sweeps rate: the default preset's rate sweep"
has_case '/(shm_ring|unix_stream|tcp)/' --mechanisms pipe && fail "--mechanisms pipe lists other mechanisms" || ok
has_case '^rate/pipe/' --mechanisms pipe && has_case '^stream/pipe/size:64/capacity:1024/' --mechanisms pipe && ok \
  || fail "--mechanisms pipe dropped the sweeps' pipe cases"
has_case 'capacity:1024' --mechanisms shm_locked --sweeps capacity && fail "shm_locked is not in the capacity sweep" || ok
list_cases --sweeps none --patterns rate --rates 5k,2k --mechanisms pipe --sizes 64 --wait block --capacities 4 >"$tmp/l.list"
[ "$(sed 's|/iterations:1/.*||' "$tmp/l.list" | tr '\n' ' ')" = \
  "rate/pipe/size:64/capacity:4/wait:block/rate:2000 rate/pipe/size:64/capacity:4/wait:block/rate:5000 " ] \
  && ok || fail "--patterns rate --rates: $(cat "$tmp/l.list")"

# A real rate run: the counters, and rates past saturation skipped with the reason
# (exit status 0). 10M messages/s of 64 KiB over a pipe cannot be kept up with.
"$bin" run --mechanisms pipe --patterns rate --sweeps none --sizes 64K --wait block --capacities 4 \
  --rates 2k,50M,100M --case-time 0.05 --out "$tmp/rate.json" >"$tmp/rate.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok || fail "rate run exited $rc: $(tail -3 "$tmp/rate.out")"
$py - "$tmp/rate.json" <<'PY' && ok || fail "rate run JSON"
import json, sys
runs = {b["name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"] if b["run_type"] == "iteration"}
base = "rate/pipe/size:65536/capacity:4/wait:block/rate:"
low, mid, high = runs[base + "2000"], runs[base + "50000000"], runs[base + "100000000"]
assert not low.get("error_occurred"), low
for k in ["offered_msgs_per_s", "msgs_per_s", "late_send_ratio", "max_send_lag_ns", "mean_send_lag_ns",
          "saturated", "p50_ns", "p99_ns", "capacity_effective", "verified", "errors", "stamp_stride"]:
    assert k in low, k
assert low["offered_msgs_per_s"] == 2000 and low["errors"] == 0 and 0 <= low["late_send_ratio"] <= 1
ctx = json.load(open(sys.argv[1]))["context"]
assert ctx["preset"] == "default" and [g["name"] for g in ctx["grids"]] == ["main"], ctx.get("grids")
assert mid["saturated"] == 1 and "saturated: achieved" in mid["label"], mid
assert high["error_occurred"] and high["error_message"].startswith("beyond saturation: saturated at 50M msgs/s offered"), high
PY
grep -q 'beyond saturation' "$tmp/rate.out" && ok || fail "the terminal does not say why a rate was skipped"

# Both sides on one CPU is allowed, with a warning.
"$bin" run --sweeps none --mechanisms pipe --patterns pingpong --sizes 64 --wait block --messages 100 --cpus 0,0 \
  --out "$tmp/samecpu.json" >/dev/null 2>"$tmp/samecpu.err"
[ $? -eq 0 ] && grep -q "both sides pinned to CPU 0" "$tmp/samecpu.err" && ok || fail "--cpus 0,0: $(tail -2 "$tmp/samecpu.err")"

# --placement: every case once per placement on its pair, with /placement:P, the
# placement and CPUs in each row and each placement's floors in the context; a
# placement this machine lacks is a not-runnable case that says why, not bad input.
expect_usage_error run --placement nowhere
expect_usage_error run --placement same_cpu --cpus 0,1
"$bin" run --sweeps none --mechanisms pipe --patterns pingpong --sizes 64 --wait block --messages 100 \
  --repetitions 1 --placement same_cpu,cross_numa --out "$tmp/placed.json" >/dev/null 2>"$tmp/placed.err"
rc=$?
if [ $rc -ne 0 ]; then
  fail "--placement same_cpu,cross_numa -> rc=$rc: $(tail -2 "$tmp/placed.err")"
elif $py - "$tmp/placed.json" "$(nproc)" <<'PY'; then ok; else fail "--placement results"; fi
import json, sys
d = json.load(open(sys.argv[1]))
rows = {b["name"]: b for b in d["benchmarks"]}
same = rows["pingpong/pipe/size:64/capacity:16/wait:block/placement:same_cpu"]
assert same["placement"] == "same_cpu" and same["cpus"][0] == same["cpus"][1], same
assert not same.get("error_occurred") and same["x_floor"] > 0, same
far = rows["pingpong/pipe/size:64/capacity:16/wait:block/placement:cross_numa"]
p = d["context"]["placements"]
assert p["same_cpu"]["cpus"] == same["cpus"] and p["same_cpu"]["floor_wake_rtt_ns"] > 0, p
if far.get("error_occurred"):  # a machine with one NUMA node and one package
    assert far["error_message"].startswith("not runnable: placement cross_numa: "), far
    assert far["cpus"] is None and p["cross_numa"]["cpus"] is None and p["cross_numa"]["not_offered"], p
else:
    assert far["cpus"][0] != far["cpus"][1] and p["cross_numa"]["floor_wake_rtt_ns"] > 0, p
PY

# --- compare: exit 0 for the same run, 1 naming a slowed case, 2 for bad input ---
# Synthetic files with 5 repetitions per case (3 against 3 can never reach p < 0.05).
$py - "$tmp" <<'PY'
import json, sys
def run(scale):
    benches = []
    for name in ("pingpong/pipe/size:64/capacity:16/wait:block", "pingpong/shm_ring/size:64/capacity:16/wait:spin"):
        for i in range(5):
            k = scale if "shm_ring" in name else 1.0
            benches.append({"name": name, "run_name": name, "run_type": "iteration", "repetition_index": i,
                            "p50_ns": 200.0 * (1 + 0.01 * i) * k, "p99_ns": 300.0 * (1 + 0.01 * i) * k,
                            "bytes_per_s": 1e8 * (1 + 0.01 * i) / k})
    return {"context": {"floor_cacheline_rtt_ns": 120.0, "floor_wake_rtt_ns": 60000.0,
                        "floor_memcpy_bytes_per_s": {"64": 6e10}}, "benchmarks": benches}
json.dump(run(1.0), open(sys.argv[1] + "/cmp_base.json", "w"))
json.dump(run(2.0), open(sys.argv[1] + "/cmp_slow.json", "w"))
json.dump({"benchmarks": [{"name": "stream/tcp/size:1/capacity:1/wait:spin", "run_type": "iteration", "p50_ns": 1.0}]},
          open(sys.argv[1] + "/cmp_other.json", "w"))
PY
"$bin" compare "$tmp/cmp_base.json" "$tmp/cmp_base.json" >"$tmp/cmp.out" 2>&1
[ $? -eq 0 ] && grep -q ' 0 regressions' "$tmp/cmp.out" && ok || fail "compare identical: $(tail -2 "$tmp/cmp.out")"
"$bin" compare "$tmp/cmp_base.json" "$tmp/cmp_slow.json" >"$tmp/cmp.out" 2>&1
[ $? -eq 1 ] && grep -q 'shm_ring.*REGRESSION' "$tmp/cmp.out" && ! grep -q 'pipe.*REGRESSION' "$tmp/cmp.out" \
  && ok || fail "compare slowed: $(cat "$tmp/cmp.out")"
"$bin" compare "$tmp/cmp_base.json" "$tmp/cmp_slow.json" --normalize floor --format json >"$tmp/cmp.json" 2>&1
[ $? -eq 1 ] && $py -c "
import json; d = json.load(open('$tmp/cmp.json'))
assert d['regressions'] == 3 and {r['verdict'] for r in d['rows'] if 'shm_ring' in r['name']} == {'REGRESSION'}, d
assert abs([r for r in d['rows'] if r['metric'] == 'p50' and 'shm_ring' in r['name']][0]['base'] - 200 * 1.02 / 120) < 1e-9
" && ok || fail "compare --normalize floor --format json: $(head -c 300 "$tmp/cmp.json")"
"$bin" compare "$tmp/cmp_base.json" "$tmp/cmp_slow.json" --format markdown --threshold 150% >"$tmp/cmp.md" 2>&1
[ $? -eq 0 ] && grep -q '^| case | metric |' "$tmp/cmp.md" && ok || fail "compare markdown within threshold: $(cat "$tmp/cmp.md")"
printf '{"benchmarks": [' >"$tmp/cmp_trunc.json"
for bad in "$tmp/cmp_base.json $tmp/missing.json" "$tmp/cmp_base.json $tmp/cmp_trunc.json" \
           "$tmp/cmp_base.json $tmp/cmp_other.json" "$tmp/cmp_base.json" \
           "$tmp/cmp_base.json $tmp/cmp_base.json --threshold x" "$tmp/cmp_base.json $tmp/cmp_base.json --metric p42" \
           "$tmp/cmp_base.json $tmp/cmp_base.json --normalize nope" "$tmp/cmp_other.json $tmp/cmp_other.json --normalize floor" \
           "$tmp/cmp_base.json $tmp/cmp_base.json --metric primary,p50"; do
  # shellcheck disable=SC2086
  "$bin" compare $bad >/dev/null 2>"$tmp/stderr"
  rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l <"$tmp/stderr")" -eq 1 ] && ok || fail "compare $bad -> rc=$rc: $(cat "$tmp/stderr")"
done
# Runs from different machines: the warnings come first (table) or in "warnings" (JSON).
# One repetition each: a change past the threshold is shown unconfirmed, with the
# command that confirms it, and is no regression.
$py - "$tmp" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/cmp_base.json"))
d["context"].update({"cpu_model": "Intel(R) Xeon(R) Processor", "kernel": "Linux 6.1.0 x86_64", "host_name": "xeon"})
json.dump(d, open(sys.argv[1] + "/cmp_xeon.json", "w"))
e = json.load(open(sys.argv[1] + "/cmp_slow.json"))
e["context"].update({"cpu_model": "AMD EPYC 7B13", "kernel": "Linux 6.1.0 x86_64", "host_name": "epyc",
                     "floor_cacheline_rtt_ns": 410.0})
e["benchmarks"] = [b for b in e["benchmarks"] if b["repetition_index"] == 0]
for b in e["benchmarks"]:
    if "shm_ring" in b["name"]:
        b["p50_ns"] = 204.0 * 3.1  # 3.1x the base's median
json.dump(e, open(sys.argv[1] + "/cmp_epyc1.json", "w"))
f = json.load(open(sys.argv[1] + "/cmp_base.json"))
f["context"].update({"cpu_model": "Neoverse-N1", "host_name": "arm", "floor_wake_rtt_ns": 30000.0})
json.dump(f, open(sys.argv[1] + "/cmp_arm.json", "w"))
PY
"$bin" compare "$tmp/cmp_xeon.json" "$tmp/cmp_epyc1.json" >"$tmp/cmp.out" 2>"$tmp/stderr"
rc=$?
[ $rc -eq 0 ] && head -1 "$tmp/cmp.out" | grep -q "^warning: the runs are from different CPUs: 'Intel(R) Xeon(R) Processor' and 'AMD EPYC 7B13'.*--normalize floor" \
  && grep -q '^warning: the cache-line round-trip floors differ by more than 25%' "$tmp/cmp.out" \
  && grep -q 'shm_ring.*p50.*3\.1x slower.*unconfirmed' "$tmp/cmp.out" \
  && grep -qF -- "--repetitions 5 --benchmark_filter='^pingpong/shm_ring/size:64/capacity:16/wait:spin(/|\$)'" "$tmp/cmp.out" \
  && grep -q ' 0 regressions' "$tmp/cmp.out" && [ ! -s "$tmp/stderr" ] \
  && ok || fail "compare runs from different machines, one repetition: rc=$rc $(cat "$tmp/cmp.out" "$tmp/stderr")"
"$bin" compare "$tmp/cmp_xeon.json" "$tmp/cmp_epyc1.json" --format json >"$tmp/cmp.json" 2>&1
[ $? -eq 0 ] && $py -c "
import json; d = json.load(open('$tmp/cmp.json'))
assert d['mode'] == 'pair' and d['regressions'] == 0 and d['unconfirmed'] >= 1, d
assert any('different CPUs' in w for w in d['warnings']) and all('--normalize floor' in w for w in d['warnings']), d['warnings']
r = [r for r in d['rows'] if r['verdict'] == 'unconfirmed' and 'shm_ring' in r['name'] and r['metric'] == 'p50'][0]
assert r['change_text'] == '3.1x slower' and r['confirm'].startswith('ipcbench run --repetitions 5 '), r
" && ok || fail "compare --format json, different machines: $(head -c 400 "$tmp/cmp.json")"
"$bin" compare "$tmp/cmp_xeon.json" "$tmp/cmp_epyc1.json" --normalize floor --format markdown >"$tmp/cmp.md" 2>&1
[ $? -eq 0 ] && head -1 "$tmp/cmp.md" | grep -q "^> warning: the runs are from different CPUs.*over each run's own floors" \
  && grep -q '^| case | metric |' "$tmp/cmp.md" && ok || fail "compare markdown, different machines: $(cat "$tmp/cmp.md")"
# The fleet view: three machines side by side, each over its own floors; exit 0.
"$bin" compare "$tmp/cmp_xeon.json" "$tmp/cmp_epyc1.json" "$tmp/cmp_arm.json" >"$tmp/fleet.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^Fleet view' "$tmp/fleet.out" && grep -q '\[3\] .*cmp_arm.json: arm, Neoverse-N1' "$tmp/fleet.out" \
  && grep -q '^pingpong/shm_ring/size:64/capacity:16/wait:spin  *p50  *3\.34x (204 ns)  *3\.07x (632 ns) \*  *3\.34x (204 ns)$' "$tmp/fleet.out" \
  && ok || fail "compare fleet of three: rc=$rc $(cat "$tmp/fleet.out")"
"$bin" compare "$tmp/cmp_xeon.json" "$tmp/cmp_epyc1.json" "$tmp/cmp_arm.json" --format json >"$tmp/fleet.json" 2>&1
[ $? -eq 0 ] && $py -c "
import json; d = json.load(open('$tmp/fleet.json'))
assert d['mode'] == 'fleet' and [m['host_name'] for m in d['machines']] == ['xeon', 'epyc', 'arm'], d['machines']
r = [r for r in d['rows'] if r['name'].startswith('pingpong/pipe')][0]
# one way over the one-way floor: half the wake-up round trip plus one copy of 64 B
ctx = json.load(open('$tmp/cmp_arm.json'))['context']
bw = ctx['floor_memcpy_bytes_per_s'].get('64', 0)
one_way_floor = ctx['floor_wake_rtt_ns'] / 2 + (64 / bw * 1e9 if bw else 0)
assert r['metric'] == 'p50' and len(r['cells']) == 3 and abs(r['cells'][2]['x_floor'] - r['cells'][2]['raw'] / one_way_floor) < 1e-12, r
assert r['best'] == 1, r  # the lowest over its own (wake-up) floor
" && ok || fail "compare fleet --format json: $(head -c 400 "$tmp/fleet.json")"
"$bin" compare "$tmp/cmp_xeon.json" "$tmp/cmp_arm.json" --fleet --format markdown >"$tmp/fleet.md" 2>&1
[ $? -eq 0 ] && grep -q '^| case | metric | \[1\] | \[2\] |$' "$tmp/fleet.md" && grep -q '\*\*' "$tmp/fleet.md" \
  && ok || fail "compare --fleet of two, markdown: $(cat "$tmp/fleet.md")"
for bad in "$tmp/cmp_xeon.json $tmp/cmp_arm.json $tmp/cmp_other.json" "$tmp/cmp_xeon.json --fleet" \
           "$tmp/cmp_xeon.json $tmp/cmp_arm.json $tmp/missing.json"; do
  # shellcheck disable=SC2086
  "$bin" compare $bad >/dev/null 2>"$tmp/stderr"
  rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l <"$tmp/stderr")" -eq 1 ] && ok || fail "compare $bad -> rc=$rc: $(cat "$tmp/stderr")"
done
# Google Benchmark's own compare.py reads our files unchanged, when it is installed.
gbcompare=/usr/share/benchmark/compare.py
if [ -f "$gbcompare" ] && $py -c 'import scipy' 2>/dev/null && [ -s "$tmp/run.json" ]; then
  $py "$gbcompare" benchmarks "$tmp/run.json" "$tmp/run.json" >"$tmp/gbcmp.out" 2>&1 && ok \
    || fail "GB compare.py could not read our JSON: $(tail -3 "$tmp/gbcmp.out")"
fi

# --- plot: a thin front to plots/plot.py ----------------------------------------
if $py -c 'import matplotlib' 2>/dev/null; then
  "$bin" plot "$(dirname "$0")/data/sample_results.json" --out "$tmp/plots" >"$tmp/plot.out" 2>&1 \
    && [ -s "$tmp/plots/latency_vs_size.png" ] && [ -s "$tmp/plots/latency_spectrum.svg" ] \
    && ok || fail "ipcbench plot: $(tail -3 "$tmp/plot.out")"
  "$bin" plot "$tmp/missing.json" >/dev/null 2>"$tmp/stderr"
  [ $? -eq 2 ] && [ "$(wc -l <"$tmp/stderr")" -eq 1 ] && ok || fail "ipcbench plot missing file: $(cat "$tmp/stderr")"
fi

# --- default output path: results/<date>T<time>.json under the working directory --
(cd "$tmp" && "$bin" run --sweeps none --mechanisms pipe --patterns pingpong --sizes 64 --wait block --messages 100 >/dev/null 2>&1)
ls "$tmp"/results/*.json >/dev/null 2>&1 && ok || fail "default --out did not land in results/"

# --- Ctrl-C: partial results written and marked incomplete, nothing left behind --
"$bin" run --sweeps none --mechanisms shm_ring,pipe --sizes 64 --case-time 1 --out "$tmp/int.json" >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] && ok || fail "interrupted run exited $rc, want 130"
$py -c "
import json
d=json.load(open('$tmp/int.json'))
assert d['context']['incomplete'] is True
assert any(b.get('error_message') == 'interrupted' for b in d['benchmarks'])
" && ok || fail "interrupted run's JSON is not marked incomplete"
sleep 0.2
pgrep -f "$tmp/int.json" >/dev/null && fail "children outlived an interrupted run" || ok

# --- the orchestrator SIGKILLed: both children gone within a second ------------
"$bin" run --sweeps none --mechanisms shm_ring --patterns stream --wait spin --sizes 64 --case-time 5 \
  --out "$tmp/kill.json" >/dev/null 2>&1 &
pid=$!
sleep 1
kill -KILL $pid
wait $pid 2>/dev/null
sleep 1
pgrep -f "$tmp/kill.json" >/dev/null && fail "children outlived a SIGKILLed orchestrator" || ok

# --- nothing left in /dev/shm by any of the above --------------------------------
[ "$(shm_entries)" = "$shm_before" ] && ok || fail "left in /dev/shm: $(comm -13 <(echo "$shm_before") <(shm_entries))"

echo "cli_test: $passed passed, $failed failed"
[ $failed -eq 0 ]
