#!/usr/bin/env bash
# tcp_netns leaves nothing behind: after a normal run and after its orchestrator is
# SIGKILLed mid-case, no network namespace of the run is left (no process or descriptor
# holds one, and the kernel has destroyed it: the id the host gave it, which holds no
# reference, is gone), and the host's namespace
# has the same links as before (no veth). Needs root (skipped otherwise).
# Usage: netns_cleanup_test.sh IPCBENCH_BINARY
set -uo pipefail
bin=$(realpath "$1")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: needs ip (iproute2) to observe namespaces"; exit 77; }
tmp=$(mktemp -d /tmp/ipcbench-netns-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

host_links() { ip -o link | awk -F': ' '{print $2}' | sort; }
veth_count() { ip -o link show type veth | wc -l; }
# Every network namespace a process or an open descriptor holds.
held_netns() { { readlink /proc/[0-9]*/ns/net; find /proc/[0-9]*/fd -lname 'net:*' -printf '%l\n'; } 2>/dev/null | sort -u; }
nsids() { ip netns list-id 2>/dev/null | awk '{print $2}' | sort; }
links_before=$(host_links)
veths_before=$(veth_count)

# Gives the network namespaces at paths $@ an id in the host's namespace (RTM_NEWNSID,
# what `ip netns set` does for a named one). An id holds no reference: the kernel
# removes it when it destroys the namespace, so a vanished id proves the destruction.
give_ids() {
  /usr/bin/python3 - "$@" <<'PY'
import os, socket, struct, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    attrs = struct.pack("=HHi", 8, 1, -1) + struct.pack("=HHI", 8, 3, fd)  # NETNSA_NSID: any, NETNSA_FD
    body = struct.pack("=Bxxx", socket.AF_UNSPEC) + attrs
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    nl.send(struct.pack("=IHHII", 16 + len(body), 88, 0x1 | 0x4, 1, 0) + body)  # RTM_NEWNSID, ACK
    err = struct.unpack("=i", nl.recv(4096)[16:20])[0]
    os.close(fd)
    if err: sys.exit(f"RTM_NEWNSID {path}: {os.strerror(-err)}")
PY
}

# Starts a tcp_netns pingpong case of $1 seconds; waits for its two children, records
# their namespaces (which must be new) and gives each an id in the host's namespace.
start_case() {
  # The full preset: quick and default run tcp_netns in their boundary sweep only.
  "$bin" run --mechanisms tcp_netns --patterns pingpong --sizes 64 --capacities 4 --wait block \
    --sweeps none --repetitions 1 --case-time "$1" --out "$tmp/out.json" >"$tmp/out" 2>&1 &
  pid=$!
  kids=""
  for _ in $(seq 500); do
    kids=$(ps -o pid=,comm= --ppid $pid | awk '$2 ~ /^ipcb-(client|server)$/ {print $1}')
    [ "$(echo $kids | wc -w)" = 2 ] && break
    sleep 0.02
  done
  [ "$(echo $kids | wc -w)" = 2 ] || { fail "the case never started: $(tail -2 "$tmp/out")"; return 1; }
  ns=$(for k in $kids; do readlink /proc/$k/ns/net; done | sort -u)
  [ "$(echo $ns | wc -w)" = 2 ] || fail "the two sides do not have two namespaces: $ns"
  echo "$ns" | grep -qx "$(readlink /proc/self/ns/net)" && fail "a side runs in the host's namespace"
  ids_before=$(nsids)
  give_ids $(for k in $kids; do echo /proc/$k/ns/net; done) || fail "RTM_NEWNSID refused"
  ids=$(comm -13 <(echo "$ids_before") <(nsids))
  [ "$(echo $ids | wc -w)" = 2 ] || fail "the case's namespaces did not get two ids (test premise): $ids"
}

# Checks, within 5 s, that nothing of the case is left.
check_gone() {
  local what=$1 left deadline=$((SECONDS + 5))
  while :; do
    left=$(comm -12 <(echo "$ns") <(held_netns); comm -12 <(echo "$ids") <(nsids))
    [ -z "$left" ] || [ $SECONDS -ge $deadline ] && break
    sleep 0.05
  done
  [ -z "$left" ] || fail "$what: namespaces (or their ids) left: $left"
  [ "$(host_links)" = "$links_before" ] || fail "$what: host links changed: $(host_links | tr '\n' ' ')"
  [ "$(veth_count)" = "$veths_before" ] || fail "$what: a veth was left in the host's namespace"
  [ -z "$(lsns -t net -n -o NS 2>/dev/null | grep -Fxf <(echo "$ns" | tr -dc '0-9\n'))" ] ||
    fail "$what: lsns still lists a namespace of the case"
}

# A normal run: the case ends and the run exits 0.
if start_case 0.5; then
  wait $pid; rc=$?
  [ $rc -eq 0 ] || fail "the normal run exited $rc: $(tail -3 "$tmp/out")"
  check_gone "after a normal run"
fi
# The orchestrator SIGKILLed mid-case: its children die with it (PR_SET_PDEATHSIG).
if start_case 5; then
  sleep 0.2
  kill -9 $pid
  wait $pid 2>/dev/null
  check_gone "after SIGKILL of the orchestrator"
fi
[ $failed -eq 0 ] && echo "netns_cleanup: all passed"
exit $((failed > 0))
