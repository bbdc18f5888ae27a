#!/usr/bin/env bash
# Soak: a long verified stream through every mechanism, watching for what a short
# test cannot see (not part of CI). See usage below; scripts/soak.py samples and judges.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: scripts/soak.sh [--minutes N] [--mechanisms LIST] [--binary PATH] [--keep DIR] [--help]

Streams through every mechanism (`ipcbench list`) in turn for about N minutes in
all (default 10), with payload verification on. Each mechanism gets an equal share
of the time, as two long runs of one case each, alternating the message size:
  ipcbench run --sweeps none --mechanisms M --patterns stream --wait block
               --capacities 4 --repetitions 1 --sizes S --case-time T
with S = 64 B, then 64 KiB (or the largest power of two the mechanism's limits
allow: posix_mq 8 KiB, sysv_msg 4 KiB, udp 32 KiB with default sysctls), and T
adjusted run by run so that the whole soak takes about N minutes (but at least 6 s,
so a soak under 5 minutes runs longer than asked). Capacity 4 stays within every
unprivileged kernel limit.

Every second it samples the orchestrator and both children: VmRSS
(/proc/<pid>/status) and open descriptors (/proc/<pid>/fd). After each run it lists
anything of the run's processes left in /dev/shm, /dev/mqueue, /tmp (directories,
FIFOs, socket files) and /proc/sysvipc.

Passes (exit 0) when: no case failed or was not runnable, zero verification errors
(udp's losses are counted, not errors), every process's memory steady after warm-up
(the first 20% of its samples): its anonymous and shared resident memory (VmRSS less
RssFile: a leak grows these, while file pages of the binary come and go with the
machine's memory pressure) grows at most 1 MiB + 5% beyond its value at the end of
warm-up; its descriptor count unchanged after warm-up; and nothing left behind. Otherwise exit 1, naming each problem. Prints a table per run: messages
verified, errors, udp's losses, RSS first/max/last in MiB of the orchestrator (while
its pair runs), producer and consumer, descriptor counts, leftovers.

  --minutes N        total time, N > 0 (decimals allowed)                   [10]
  --mechanisms LIST  comma-separated names (`ipcbench list`)               [all]
  --binary PATH      the ipcbench to soak               [build/release/ipcbench]
  --keep DIR         keep every run's JSON, log and samples and the summary in DIR
  --help             this text
EOF
}

minutes=10
only=""
bin=build/release/ipcbench
keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --mechanisms) only=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --binary) bin=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --keep) keep=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --help | -h) usage; exit 0 ;;
    *) echo "soak: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
py=/usr/bin/python3
if ! $py -c 'import sys; v = float(sys.argv[1]); sys.exit(0 if 0 < v < 1e6 else 1)' "$minutes" 2>/dev/null; then
  echo "soak: --minutes wants a number above 0, not '$minutes'" >&2
  exit 2
fi
if [ ! -x "$bin" ]; then
  echo "soak: $bin not found; build it first: cmake --preset release && cmake --build --preset release" >&2
  exit 2
fi
bin=$(realpath "$bin")

work=$(mktemp -d /tmp/ipcbench_soak.XXXXXX)
child=""
finish() {
  # Ctrl-C or an error: stop the running case (ipcbench kills its pair and exits).
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -INT "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [ -n "$keep" ]; then
    mkdir -p "$keep" && cp -r "$work"/. "$keep"/
  fi
  rm -rf "$work"
}
trap finish EXIT
trap 'exit 130' INT TERM

capacity=4
min_case_s=6
mechs=$("$bin" list --json | $py -c '
import json, sys
names = [m["name"] for m in json.load(sys.stdin) if "stream" in m["patterns"]]
only = [n for n in sys.argv[1].split(",") if n]
unknown = [n for n in only if n not in names]
if unknown:
    print(f"soak: unknown mechanism {unknown[0]} (see ipcbench list)", file=sys.stderr)
    sys.exit(2)
print(" ".join(n for n in names if not only or n in only))' "$only")
runs=()
for m in $mechs; do
  runs+=("$m 64" "$m $($py scripts/soak.py large-size "$m" "$capacity")")
done

$py scripts/soak.py before "$work/before.json"
: >"$work/runs.tsv"
budget=$($py -c 'import sys; print(float(sys.argv[1]) * 60)' "$minutes")
start=$(date +%s.%N)
# Seconds a run spends beyond its case time (start-up floors, fork, JSON): the median of
# what the runs so far took, so that one run stalled by a busy machine does not starve
# the rest; 3 s until there is one.
overheads=()
overhead=3
echo "soak: ${#runs[@]} runs ($(echo $mechs | wc -w) mechanisms x 2 sizes) in about $minutes min; capacity $capacity, wait block, verification on"
for i in "${!runs[@]}"; do
  read -r mech size <<<"${runs[$i]}"
  # This run's share of what is left, less the overhead; the warm-up adds a tenth of
  # the case time. At least min_case_s, so that every process has samples after its
  # warm-up to judge (a soak of a few minutes therefore runs longer than asked).
  case_s=$($py -c 'import sys, time
budget, start, left, overhead, least = map(float, sys.argv[1:])
share = (budget - (time.time() - start)) / left
print(f"{max(least, (share - overhead) / 1.1):.1f}")' "$budget" "$start" "$((${#runs[@]} - i))" "$overhead" "$min_case_s")
  timeout_s=$($py -c 'import sys; print(int(float(sys.argv[1]) * 2 + 60))' "$case_s")
  t0=$(date +%s.%N)
  "$bin" run --sweeps none --mechanisms "$mech" --patterns stream --wait block --capacities "$capacity" \
    --repetitions 1 --sizes "$size" --case-time "$case_s" --timeout "$timeout_s" \
    --out "$work/run-$i.json" >"$work/run-$i.log" 2>&1 &
  child=$!
  $py scripts/soak.py sample "$child" "$work/samples-$i.json"
  rc=0
  wait "$child" || rc=$?
  child=""
  elapsed=$($py -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.1f}")' "$t0")
  overheads+=("$($py -c 'import sys; print(max(0.0, float(sys.argv[1]) - 1.1 * float(sys.argv[2])))' "$elapsed" "$case_s")")
  overhead=$($py -c 'import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))' "${overheads[@]}")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mech" "$size" "$case_s" "$rc" "$elapsed" \
    "run-$i.json" "samples-$i.json" >>"$work/runs.tsv"
  printf '[%d/%d] %-15s %6s B  case %5.1f s  run %5.1f s  exit %d\n' "$((i + 1))" "${#runs[@]}" "$mech" "$size" \
    "$case_s" "$elapsed" "$rc"
done
total=$($py -c 'import sys, time; print(f"{(time.time() - float(sys.argv[1])) / 60:.1f}")' "$start")
echo
status=0
$py scripts/soak.py report "$work" | tee "$work/summary.txt" || status=1
echo "total time: $total min"
exit $status
