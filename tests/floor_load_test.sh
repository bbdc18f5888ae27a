#!/usr/bin/env bash
# Floors under load: a CPU burner pinned to side b's CPU for the first 2 s of a run
# (while the floors are first read) must not leave any polling case under 0.9 x its
# floor in the results file. The file holds every floor reading, the kept floors (each
# at or under every confirmed reading) and the model, and a memcpy floor at every size.
# Correctness only: no timing is asserted. Usage: floor_load_test.sh IPCBENCH_BINARY
set -uo pipefail
ipcbench=$(realpath "$1")
py=/usr/bin/python3
read -r cpu_a cpu_b < <("$py" -c 'import os; c = sorted(os.sched_getaffinity(0)); print(c[0], c[-1])')
if [ "$cpu_a" = "$cpu_b" ] || ! command -v taskset >/dev/null; then
  echo "floor_load_test: needs two CPUs and taskset; skipping"
  exit 77
fi
tmp=$(mktemp -d)
burner=
trap '[ -n "$burner" ] && kill "$burner" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

taskset -c "$cpu_b" timeout 2 sh -c 'while :; do :; done' &
burner=$!
if ! "$ipcbench" run --sweeps none --mechanisms shm_ring,shm_ring_zc --patterns pingpong \
  --wait spin,spin_yield,adaptive --sizes 64,1M --capacities 16 --repetitions 3 \
  --case-time 0.1 --cpus "$cpu_a,$cpu_b" --out "$tmp/r.json" 2>"$tmp/stderr" >/dev/null; then
  echo "FAIL: the run failed"
  cat "$tmp/stderr"
  exit 1
fi
grep -i "floor" "$tmp/stderr" | sed 's/^/  run said: /'

"$py" - "$tmp/r.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
ctx, failures = doc["context"], []
polling = ("spin", "spin_yield", "adaptive")
for key in ("floor_cacheline_rtt_ns", "floor_wake_rtt_ns"):
    readings = ctx.get(key + "_readings")
    if not isinstance(readings, list) or len(readings) < 2:
        failures.append(f"{key}_readings: {readings!r}, want every reading (2 or more)")
    elif not ctx.get(key) or ctx[key] > max(readings):
        failures.append(f"{key} {ctx.get(key)!r} is not one of the lowest readings {readings}")
if not isinstance(ctx.get("floor_model"), str):
    failures.append("context.floor_model missing")
sizes = {b["run_name"].split("/size:")[1].split("/")[0] for b in doc["benchmarks"]}
for s in sizes:
    if not ctx["floor_memcpy_bytes_per_s"].get(s):
        failures.append(f"no memcpy floor at size {s}")
checked = 0
for b in doc["benchmarks"]:
    wait = b["run_name"].rsplit("/wait:", 1)[1].split("/")[0]
    if b.get("run_type") != "iteration" or wait not in polling or "x_floor" not in b:
        continue
    checked += 1
    if b["x_floor"] < 0.9:
        failures.append(f"{b['name']}: x_floor {b['x_floor']:.3f} under 0.9 "
                        f"(floor {ctx['floor_cacheline_rtt_ns']} ns)")
if checked == 0:
    failures.append("no polling case with an x_floor")
print(f"floor_load_test: {checked} polling repetitions checked; cache-line floor "
      f"{ctx.get('floor_cacheline_rtt_ns')} ns from {ctx.get('floor_cacheline_rtt_ns_readings')}")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
PY
