#!/usr/bin/env bash
# Live security checks (issue 7) on the real binary, while `ipcbench run` runs, with
# umask 000 so that nothing passes thanks to the umask:
#   modes     every mechanism (the ring on every backing): every IPC object the
#             orchestrator and its children hold, by descriptor, mapping, name or SysV
#             id, is owner-only (0600, directories 0700), socket files are bound 0600;
#   loopback  tcp, udp, udp_mcast, rpc_tcp, rpc_unix, grpc_tcp, zmq_tcp: every IP socket of the
#             run's processes in /proc/net/{tcp,tcp6,udp,udp6} has a loopback local address
#             (or udp_mcast's local-scope group), and every bind and listen
#             (audit_preload.so, LD_PRELOAD) is on loopback (or that group).
# In every run, a bind or listen off loopback is allowed only in 169.254.77.0/30 on a
# socket in another network namespace than the run's (tcp_netns, udp_netns: their two
# private namespaces, which nothing in the host's reaches).
# tests/security_live.py samples and judges; tests/security_test.cpp checks the same
# promises on create() itself, including the names that live only inside it.
# Usage: security_live_test.sh modes|loopback IPCBENCH_BINARY AUDIT_PRELOAD_SO [MECHANISM...]
# (naming mechanisms runs only those, for a quick look while changing one)
set -uo pipefail
what=$1
bin=$(realpath "$2")
preload=$(realpath "$3")
shift 3
only=" $* "
here=$(dirname "$(realpath "$0")")
py=/usr/bin/python3
if [ "$(id -u)" -ne 0 ]; then
  # Shared mappings (the ring's region, Boost's queues) are visible with their modes
  # only in /proc/<pid>/map_files, which is root-only.
  echo "SKIP: needs root to read the children's /proc/<pid>/map_files"
  exit 77
fi
if [ ! -r "/proc/$$/task/$$/children" ]; then
  echo "SKIP: the kernel has no /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN) to find the run's children"
  exit 77
fi
if [ ! -f "$preload" ]; then
  # A missing preload is only a warning to ld.so: the run would go on unaudited and the
  # bind and listen checks would judge nothing.
  echo "FAIL: no audit preload at $preload (build the ipcbench_audit_preload target)"
  exit 1
fi
tmp=$(mktemp -d /tmp/ipcbench_security_live.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
umask 000
# An ASan build checks that its runtime comes first; the preload only observes.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# check LABEL MECHANISM BACKING EXPECT_KINDS EXPECT_INET (see security_live.py judge).
# Capacity 4 stays within every unprivileged limit (posix_mq: fs.mqueue.msg_max = 10),
# so every case runs and has objects to inspect.
check() {
  local label=$1 mech=$2 backing=$3 kinds=$4 inet=$5
  [ "$only" = "  " ] || [[ "$only" == *" $mech "* ]] || return 0
  local size=64
  [ "$mech" = signal ] && size=8  # a real-time signal carries 8 bytes
  rm -f "$tmp/audit.log" "$tmp/watch.json"
  IPCBENCH_AUDIT_LOG="$tmp/audit.log" LD_PRELOAD="$preload" "$bin" run --sweeps none --mechanisms "$mech" \
    --patterns pingpong,stream --sizes "$size" --capacities 4 --case-time 0.15 --repetitions 1 --backing "$backing" \
    --out "$tmp/run.json" >"$tmp/run.out" 2>"$tmp/run.err" &
  local pid=$!
  $py "$here/security_live.py" watch "$pid" "$tmp/watch.json"
  wait "$pid"
  local rc=$?
  if [ $rc -ne 0 ]; then
    failed=$((failed + 1))
    echo "FAIL $label: ipcbench run exited $rc: $(tail -3 "$tmp/run.err")"
    return
  fi
  if verdict=$($py "$here/security_live.py" judge "$tmp/watch.json" "$tmp/audit.log" "$kinds" "$inet"); then
    passed=$((passed + 1))
    echo "ok   $label: $verdict"
  else
    failed=$((failed + 1))
    echo "FAIL $label: $verdict"
  fi
}

case "$what" in
  modes)
    mechs=$("$bin" list --json | $py -c 'import json, sys; print(" ".join(m["name"] for m in json.load(sys.stdin)))')
    for m in $mechs; do
      backings=posix_shm
      case $m in shm_ring | shm_ring_zc | shm_broadcast) backings="posix_shm sysv_shm file memfd" ;; esac
      for b in $backings; do
        # The kinds of object each must show: proof that the sampling saw the run.
        case $m/$b in
          shm_ring*/posix_shm | shm_broadcast/posix_shm | boost_mq/*) kinds=shm ;;
          shm_ring*/sysv_shm | shm_broadcast/sysv_shm) kinds="sysv shm" ;;
          shm_ring*/file | shm_broadcast/file) kinds=file ;;
          shm_ring*/memfd | shm_broadcast/memfd) kinds=memfd ;;
          pipe/*) kinds=pipe ;;
          fifo/*) kinds=fifo ;;
          pty/*) kinds=pty ;;
          unix_memfd/*) kinds="socket,memfd" ;;
          posix_mq/*) kinds=mqueue ;;
          sysv_msg/*) kinds="sysv msg" ;;
          rpc_unix/*) kinds="socket,socket file" ;;
          uring_unix/*) kinds=socket ;;  # the socketpair; the ring is an anonymous inode
          grpc_unix/*) kinds="socket,socket file" ;;
          grpc_tcp/*) kinds=socket ;;
          nng_ipc/*) kinds="socket,socket file,dir" ;;
          iceoryx/*) kinds="shm,socket,socket file" ;;
          zmq_ipc/*) kinds="socket,socket file" ;;
          zmq_tcp/*) kinds=socket ;;
          dbus/* | dbus_p2p/*) kinds="socket,socket file" ;;
          unix_*/* | tcp/* | udp/* | udp_mcast/* | rpc_tcp/*) kinds=socket ;;
          *) kinds="" ;;  # shm_locked, signal: anonymous shared memory only
        esac
        check "$m/$b" "$m" "$b" "$kinds" any
      done
    done
    ;;
  loopback)
    check tcp tcp posix_shm socket listen
    check udp udp posix_shm socket bind
    check udp_mcast udp_mcast posix_shm socket bind
    check rpc_tcp rpc_tcp posix_shm socket listen
    check rpc_unix rpc_unix posix_shm "socket,socket file" none
    check grpc_tcp grpc_tcp posix_shm socket listen
    check zmq_tcp zmq_tcp posix_shm socket listen
    ;;
  *)
    echo "usage: $0 modes|loopback IPCBENCH_BINARY AUDIT_PRELOAD_SO [MECHANISM...]" >&2
    exit 2
    ;;
esac
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
