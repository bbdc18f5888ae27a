#!/usr/bin/env bash
# Hostile conditions, through the ipcbench command (tests/fault_test.cpp kills and
# stops single sides of a pair; this drives whole runs):
#   - for every mechanism: the orchestrator SIGKILLed mid-case (children gone within a
#     second; what it left is removed by the next run), then that next run Ctrl-C'd
#     mid-case (exit 130, a valid JSON marked incomplete, nothing left);
#   - a side killed mid-case: the case fails naming the cause, the suite goes on;
#   - `ipcbench clean` never touches a live run's objects, another user's, or a link;
#   - exhausted limits: RLIMIT_MSGQUEUE, RLIMIT_NOFILE, a full /dev/shm, a read-only
#     results directory: a clear message naming the limit, no crash, nothing left.
# Kill points are random (the seed is printed; IPCBENCH_FAULT_SEED replays it).
# Needs root for the mount namespaces (skipped otherwise). Usage: hostile_test.sh BIN
set -uo pipefail
bin=$(realpath "$1")
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/ipcbench-hostile-test.XXXXXX)
trap 'pkill -P $$ 2>/dev/null; rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
seed=${IPCBENCH_FAULT_SEED:-$RANDOM}
RANDOM=$seed
echo "hostile_test: IPCBENCH_FAULT_SEED=$seed"
# A random pause of 0 to $1 ms.
pause() { sleep "$(printf '0.%03d' $((RANDOM % $1)))"; }

# What a run with orchestrator pid $1 has in the named namespaces.
objects_of() { ls -d /dev/shm/ipcbench-"$1"-* /dev/mqueue/ipcbench-"$1"-* /tmp/ipcbench-"$1"-* 2>/dev/null; }
# The SysV keys recorded by run $1 (harness/stale.hpp), as /proc/sysvipc prints them.
recorded_keys() { cat /dev/shm/ipcbench-"$1"-*.sysv 2>/dev/null | awk '{print $2}'; }
sysv_has_key() { awk -v k="$1" 'NR > 1 && $1 == k {found = 1} END {exit !found}' /proc/sysvipc/msg /proc/sysvipc/shm; }
# Waits (up to 10 s) for run $1's case children; prints their pids.
case_children() {
  local kids
  for _ in $(seq 500); do
    kids=$(ps -o pid=,comm= --ppid "$1" | awk '$2 ~ /^ipcb-(client|server|producer|consumer)$/ {printf "%s ", $1}')
    [ -n "$kids" ] && { echo "$kids"; return 0; }
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$s" ] && [ "${s:0:1}" != Z ]; }
# 64 B x 4 fits every mechanism's default kernel limits (mqueue msg_max 10, msgmnb 16 KiB);
# signal carries 8 B a message, so it runs at $size = 8.
size=64
run_bg() { "$bin" run --sweeps none --repetitions 1 --sizes "$size" --capacities 4 --wait block "$@" >"$tmp/out" 2>&1 & }

# name:pattern for each mechanism: pingpong, or stream for the one-way ones (broadcast,
# multi-producer).
mechanisms=$("$bin" list --json | $py -c 'import json,sys; print(" ".join(m["name"] + ":" + ("pingpong" if "pingpong" in m["patterns"] else "stream") for m in json.load(sys.stdin)))')

# --- every mechanism: orchestrator SIGKILLed, then the next run Ctrl-C'd ---------
for mp in $mechanisms; do
  m=${mp%%:*} pattern=${mp#*:}
  size=64
  [ "$m" = signal ] && size=8
  run_bg --mechanisms "$m" --patterns "$pattern" --case-time 5 --out "$tmp/kill-$m.json"
  pid=$!
  if ! kids=$(case_children $pid); then
    fail "$m: the killed run never started its case: $(tail -2 "$tmp/out")"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    continue
  fi
  pause 300
  kill -9 $pid
  wait $pid 2>/dev/null
  sleep 1
  for k in $kids; do alive "$k" && fail "$m: child $k outlived its SIGKILLed orchestrator by a second"; done
  left=$(objects_of $pid)
  keys=$(recorded_keys $pid)
  # Most mechanisms unlink their names as soon as both ends are open; SysV queues live
  # through the whole case, so sysv_msg must have left some: else this test proves
  # nothing about the clean-up of the next run.
  if [ "$m" = sysv_msg ]; then
    [ -n "$left" ] && [ -n "$keys" ] || fail "sysv_msg: a SIGKILLed run left no queue to sweep (test premise)"
  fi

  run_bg --mechanisms "$m" --patterns "$pattern" --case-time 5 --out "$tmp/int-$m.json"
  pid2=$!
  echo "$m: killed run $pid (left: ${left:-nothing}), next run $pid2" >>"$tmp/log"
  if ! case_children $pid2 >/dev/null; then
    fail "$m: the next run never started its case: $(tail -2 "$tmp/out")"
    kill -9 $pid2 2>/dev/null
    wait $pid2 2>/dev/null
    continue
  fi
  for o in $left; do [ -e "$o" ] && fail "$m: the next run did not remove $o of the dead run"; done
  for k in $keys; do sysv_has_key "$k" && fail "$m: the next run did not remove SysV key $k of the dead run"; done
  grep -q "removed, left by a dead run" "$tmp/out" || [ -z "$left" ] || fail "$m: the next run did not say what it removed"
  pause 300
  kill -INT $pid2
  wait $pid2
  rc=$?
  [ $rc -eq 130 ] || fail "$m: Ctrl-C'd run exited $rc, want 130: $(tail -2 "$tmp/out")"
  $py - "$tmp/int-$m.json" <<'EOF' || fail "$m: Ctrl-C'd run's JSON is not a valid incomplete result"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["context"]["incomplete"] is True
assert any(b.get("error_message") == "interrupted" for b in d["benchmarks"]), d["benchmarks"]
EOF
  sleep 0.2
  [ -z "$(objects_of $pid2)" ] || fail "$m: the Ctrl-C'd run left $(objects_of $pid2)"
  pgrep -P $pid2 >/dev/null && fail "$m: children outlived the Ctrl-C'd run"
  ok
done

# --- a side killed mid-case: failed with its cause, the suite goes on ------------
# Three repetitions: Google Benchmark 1.7 crashed aggregating a case whose first
# repetition failed (google/benchmark#1406); the harness skips the rest instead.
"$bin" run --sweeps none --mechanisms sysv_msg,shm_ring --patterns stream --sizes 1024 --capacities 4 --wait block \
  --repetitions 3 --case-time 0.5 --out "$tmp/side.json" >"$tmp/out" 2>&1 &
pid=$!
if case_children $pid >/dev/null; then
  pause 200
  pkill -KILL -P $pid -x ipcb-consumer
fi
wait $pid
rc=$?
[ $rc -eq 1 ] || fail "a run with a killed side exited $rc, want 1: $(tail -3 "$tmp/out")"
$py - "$tmp/side.json" <<'EOF' && ok || fail "a killed side: $(cat "$tmp/side.json" 2>/dev/null | head -c 300)"
import json, sys
runs = [b for b in json.load(open(sys.argv[1]))["benchmarks"] if b.get("run_type") == "iteration"]
cases = {}
for b in runs:
    cases.setdefault(b["run_name"], []).append(b)
assert len(cases) == 2 and all(len(r) == 3 for r in cases.values()), list(cases)
killed, other = sorted(cases.values(), key=lambda r: not r[0].get("error_occurred"))
assert killed[0]["error_message"].startswith("consumer killed by signal 9"), killed[0].get("error_message")
assert all(b.get("error_occurred") for b in killed)
assert not any(b.get("error_occurred") for b in other), "the suite did not go on"
EOF
[ -z "$(objects_of $pid)" ] && ok || fail "a run with a killed side left $(objects_of $pid)"

# --- clean: a live run's objects, another user's, links: never touched ------------
"$bin" run --sweeps none --mechanisms sysv_msg --patterns pingpong --sizes 64 --capacities 4 --wait block \
  --repetitions 1 --case-time 1.5 --out "$tmp/live.json" >"$tmp/live.out" 2>&1 &
live=$!
sleep 60 &
sleeper=$!
bash -c 'exit 0' &
dead=$!
wait $dead
mkdir -m 0700 "/tmp/ipcbench-$sleeper-planted1" "/tmp/ipcbench-$dead-planted2"
: >"/tmp/ipcbench-$dead-planted2/file"
# Another user's directory appears under its name already owned by that user (renamed
# into place): the live run's own start-up sweep may run at any moment here, and
# would rightly take a dead pid's directory of ours.
mkdir -m 0700 "$tmp/planted3" && chown nobody "$tmp/planted3" && mv "$tmp/planted3" "/tmp/ipcbench-$dead-planted3"
install -m 0600 /dev/null "/dev/shm/ipcbench-$sleeper-0000000000000001"
install -m 0600 /dev/null "/dev/shm/ipcbench-$dead-0000000000000002"
echo keep >"$tmp/target"
ln -s "$tmp" "/tmp/ipcbench-$dead-link"
if case_children $live >/dev/null; then
  live_objects=$(objects_of $live)
  live_keys=$(recorded_keys $live)
  "$bin" clean >"$tmp/clean.out" 2>&1 || fail "clean exited $?"
  for o in $live_objects; do [ -e "$o" ] || fail "clean removed $o of a live run"; done
  for k in $live_keys; do sysv_has_key "$k" || fail "clean removed SysV key $k of a live run"; done
  [ -n "$live_objects" ] || fail "the live run showed no object to protect (test premise)"
else
  fail "the live run never started its case"
fi
wait $live && ok || fail "a live run failed while clean ran: $(tail -3 "$tmp/live.out")"
[ -d "/tmp/ipcbench-$sleeper-planted1" ] && [ -e "/dev/shm/ipcbench-$sleeper-0000000000000001" ] && ok \
  || fail "clean removed objects of a live pid"
[ ! -e "/tmp/ipcbench-$dead-planted2" ] && [ ! -e "/dev/shm/ipcbench-$dead-0000000000000002" ] && ok \
  || fail "clean left a dead pid's objects: $(cat "$tmp/clean.out")"
[ -d "/tmp/ipcbench-$dead-planted3" ] && ok || fail "clean removed another user's directory"
[ -L "/tmp/ipcbench-$dead-link" ] && [ "$(cat "$tmp/target")" = keep ] && ok || fail "clean followed or removed a link"
kill $sleeper 2>/dev/null
wait $sleeper 2>/dev/null
rm -rf "/tmp/ipcbench-$sleeper-planted1" "/tmp/ipcbench-$dead-planted3" "/tmp/ipcbench-$dead-link" \
  "/dev/shm/ipcbench-$sleeper-0000000000000001"

# --- exhausted limits ---------------------------------------------------------------
# One line on stderr naming the limit (and exit 2) when a run cannot start at all; a
# case that meets a limit is not runnable or failed with the limit named in the JSON.
expect_one_line() {  # rc_want pattern -- command...
  local want=$1 pattern=$2
  shift 3
  "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local rc=$?
  if [ $rc -ne "$want" ] || [ "$(wc -l <"$tmp/stderr")" -ne 1 ] || ! grep -q "$pattern" "$tmp/stderr"; then
    fail "$* -> rc=$rc (want $want), stderr: $(head -c 300 "$tmp/stderr")"
  else
    ok
  fi
}
case_error() {  # json mechanism -> the first repetition's error message
  $py - "$1" "$2" <<'EOF'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if "/" + sys.argv[2] + "/" in b["name"]:
        print(b.get("error_message", "ok"))
        break
EOF
}
for n in 8 16 31; do
  expect_one_line 2 "RLIMIT_NOFILE is $n" -- prlimit --nofile=$n "$bin" run --sweeps none --mechanisms pipe \
    --messages 10 --out "$tmp/nofile.json"
done
ls "$tmp"/nofile.json* >/dev/null 2>&1 && fail "a run refused for RLIMIT_NOFILE left a file"
prlimit --msgqueue=2000 "$bin" run --sweeps none --mechanisms posix_mq --patterns stream --sizes 4096 \
  --capacities 8 --wait block --messages 10 --out "$tmp/mq.json" >"$tmp/out" 2>&1
msg=$(case_error "$tmp/mq.json" posix_mq)
[[ $msg == "not runnable:"*"RLIMIT_MSGQUEUE = 2000"*"ulimit -q"* ]] && ok || fail "RLIMIT_MSGQUEUE: '$msg'"

if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
  # A full /dev/shm: a 256 KiB tmpfs over it, in a mount namespace of this run only.
  unshare -m bash -c "mount -t tmpfs -o size=256k,mode=1777 tmpfs /dev/shm && \
    '$bin' run --sweeps none --mechanisms shm_ring,shm_ring_zc,boost_mq --patterns stream --sizes 65536 \
      --capacities 16 --wait block --messages 10 --out '$tmp/shm.json' >'$tmp/out' 2>&1; echo \$? >'$tmp/rc'; \
    ls -A /dev/shm >'$tmp/left'"
  rc=$(cat "$tmp/rc")
  [ "$rc" -lt 128 ] || fail "a full /dev/shm crashed the run (exit $rc): $(tail -3 "$tmp/out")"
  [ -s "$tmp/left" ] && fail "a full /dev/shm run left: $(cat "$tmp/left")"
  for m in shm_ring shm_ring_zc boost_mq; do
    msg=$(case_error "$tmp/shm.json" $m)
    [[ $msg == "not runnable:"*"/dev/shm"* ]] && ok || fail "full /dev/shm, $m: '$msg'"
  done
  # A read-only results directory: refused before any case runs, nothing written.
  mkdir -p "$tmp/ro/results"
  unshare -m bash -c "mount --bind '$tmp/ro/results' '$tmp/ro/results' && \
    mount -o remount,bind,ro '$tmp/ro/results' && cd '$tmp/ro' && \
    '$bin' run --sweeps none --mechanisms pipe --messages 10 >/dev/null 2>'$tmp/stderr'; echo \$? >'$tmp/rc'"
  [ "$(cat "$tmp/rc")" -eq 2 ] && [ "$(wc -l <"$tmp/stderr")" -eq 1 ] && grep -q "Read-only file system" "$tmp/stderr" \
    && [ -z "$(ls -A "$tmp/ro/results")" ] && ok || fail "read-only results/: rc=$(cat "$tmp/rc"): $(cat "$tmp/stderr")"
else
  echo "hostile_test: not root or no mount namespaces: full /dev/shm and read-only results/ not tried"
fi

echo "hostile_test: $passed passed, $failed failed"
[ $failed -eq 0 ]
