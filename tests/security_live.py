#!/usr/bin/python3
"""Watches a live `ipcbench run` and judges what it saw (tests/security_live_test.sh).

  security_live.py watch PID OUT.json
      Samples the run (the orchestrator PID and its children) until PID exits, and
      writes every IPC object it inspected: the targets of the processes' open
      descriptors (/proc/<pid>/fd), their shared mappings (/proc/<pid>/map_files,
      root only), names carrying one of their pids in /dev/shm, /dev/mqueue and /tmp
      (directories walked), their SysV objects (/proc/sysvipc), and the local address
      of every IP socket they hold (/proc/<pid>/net/{tcp,tcp6,udp,udp6}).
  security_live.py judge OUT.json AUDIT.log EXPECT_KINDS EXPECT_INET
      Exit 1, naming each problem, unless every object was owner-only (0600, a
      directory 0700), every IP socket and every bind/listen in the audit log (written
      by audit_preload.so) was on loopback, every socket file was bound 0600, the
      children were seen, and each kind in EXPECT_KINDS (comma-separated, may be
      empty) was seen at least once. EXPECT_INET: "any"; "none" (no IP socket at all);
      "bind" or "listen" (at least one IP socket seen live, and at least one IP bind,
      or listen, in the audit log).

Objects live by name only inside create() for most mechanisms, so sampling mostly
sees them through descriptors and mappings, where they stay reachable (and keep their
mode) after their names are gone; audit_preload.so covers the binds sampling cannot
be sure to catch.
"""
import json
import os
import socket
import stat
import struct
import sys
import time

# The run's process tree, read as the soak reads it (scripts/soak.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from soak import descendants as pids_of_run  # noqa: E402  (the orchestrator and its pair)


def walk(path):
    """path, and everything under it when it is a directory (symlinks not followed)."""
    yield path
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            for name in os.listdir(path):
                yield from walk(os.path.join(path, name))
    except OSError:
        pass


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Watch:
    def __init__(self, orch):
        self.orch = orch
        self.mq_dev = os.stat("/dev/mqueue").st_dev
        self.objects = {}  # ((dev, ino) or a SysV id, mode) -> {"kind", "what", "mode"}
        self.inet = {}  # socket inode -> {"proto", "local", "state"}
        self.socket_inodes = set()
        self.pids = set()
        self.samples = 0
        self.map_files_readable = None

    def note(self, key, kind, what, mode):
        # The mode is part of the key: an inode number freed by one case and reused by
        # the next must not hide the second object's mode behind the first's.
        self.objects.setdefault((key, mode & 0o777), {"kind": kind, "what": what, "mode": mode & 0o777})

    def fd_object(self, pid, path, target):
        if target.startswith("socket:["):
            self.socket_inodes.add(int(target[8:-1]))
            self.note(("socket", target), "socket", target, 0o600)  # counted; mode not meaningful
            return
        if target.startswith("anon_inode:"):
            return  # eventfd and the like: one kernel-internal inode, never named
        st = os.stat(path)  # follows the magic link to the object, unlinked or not
        if target.startswith("pipe:"):
            kind = "pipe"
        elif target.startswith("/memfd:ipcbench-side-output"):
            kind = "side output"  # the sides' stdout and stderr (harness/child.hpp), not a channel's
        elif target.startswith("/memfd:"):
            kind = "memfd"
        elif st.st_dev == self.mq_dev:
            kind = "mqueue"
        elif target.startswith("/dev/shm/"):
            kind = "shm"
        elif target.startswith("/tmp/ipcbench-"):
            kind = "fifo" if stat.S_ISFIFO(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else "file"
        elif target.startswith("/dev/pts/") and target != "/dev/pts/ptmx":
            kind = "pty"  # a pair's slave node (/dev/ptmx, the multiplexer, is everyone's)
        else:
            return  # stdio, /dev/null, the results file: not IPC objects of the run
        self.note((st.st_dev, st.st_ino), kind, f"pid {pid} fd -> {target}", st.st_mode)

    def map_object(self, pid, path, target):
        # /dev/zero (shared anonymous memory) and /SYSV... (SysV segments) are the
        # kernel's internal shmem files, 0777 by design and reachable by no name; the
        # SysV segment's own mode is checked in /proc/sysvipc.
        if target.startswith("/dev/shm/"):
            kind = "shm"
        elif target.startswith("/memfd:"):
            kind = "memfd"
        elif target.startswith("/tmp/ipcbench-"):
            kind = "file"
        else:
            return
        st = os.stat(path)
        self.note((st.st_dev, st.st_ino), kind, f"pid {pid} mapping -> {target}", st.st_mode)

    def named(self, pids):
        prefixes = tuple(f"ipcbench-{p}-" for p in pids)
        for top in ("/dev/shm", "/dev/mqueue", "/tmp"):
            for name in os.listdir(top):
                if not name.startswith(prefixes):
                    continue
                for entry in walk(os.path.join(top, name)):
                    try:
                        st = os.lstat(entry)
                    except OSError:
                        continue  # removed meanwhile
                    kind = ("dir" if stat.S_ISDIR(st.st_mode) else "fifo" if stat.S_ISFIFO(st.st_mode)
                            else "socket file" if stat.S_ISSOCK(st.st_mode)
                            else "mqueue" if top == "/dev/mqueue" else "shm" if top == "/dev/shm" else "file")
                    self.note((st.st_dev, st.st_ino), kind, f"name {entry}", st.st_mode)

    def sysv(self, pids):
        for table, pid_cols in (("shm", (4,)), ("msg", (5, 6))):  # shm: cpid; msg: lspid, lrpid
            try:
                with open(f"/proc/sysvipc/{table}") as f:
                    rows = f.read().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                col = row.split()
                if any(int(col[c]) in pids for c in pid_cols):
                    self.note(("sysv", table, col[1]), f"sysv {table}", f"sysv {table} id {col[1]}", int(col[2], 8))

    def net(self):
        for proto in ("tcp", "tcp6", "udp", "udp6"):
            try:
                with open(f"/proc/{self.orch}/net/{proto}") as f:
                    rows = f.read().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                col = row.split()
                inode = int(col[9])
                if inode in self.socket_inodes and inode not in self.inet:
                    self.inet[inode] = {"proto": proto, "local": decode_addr(col[1]), "state": col[3]}

    def sample(self):
        pids = pids_of_run(self.orch)
        self.pids.update(pids)
        for pid in pids:
            for sub, handler in (("fd", self.fd_object), ("map_files", self.map_object)):
                base = f"/proc/{pid}/{sub}"
                try:
                    entries = os.listdir(base)
                except PermissionError:
                    if sub == "map_files":
                        self.map_files_readable = False
                    continue
                except OSError:
                    continue  # the process is gone
                if sub == "map_files" and self.map_files_readable is None:
                    self.map_files_readable = True
                for e in entries:
                    path = f"{base}/{e}"
                    try:
                        handler(pid, path, os.readlink(path))
                    except PermissionError:
                        if sub == "map_files":
                            self.map_files_readable = False
                    except OSError:
                        pass  # closed or unmapped meanwhile
        try:
            self.named(pids)
        except OSError:
            pass
        self.sysv(pids)
        self.net()
        self.samples += 1

    def run(self, out):
        while alive(self.orch):
            self.sample()
            time.sleep(0.003)
        with open(out, "w") as f:
            json.dump({"samples": self.samples, "pids": len(self.pids),
                       "map_files_readable": bool(self.map_files_readable),
                       "objects": list(self.objects.values()),
                       "inet": list(self.inet.values())}, f, indent=1)


def decode_addr(text):
    """/proc/net's hex address:port (32-bit words in host order) -> "addr:port"."""
    addr, port = text.split(":")
    raw = b"".join(struct.pack("=I", int(addr[i:i + 8], 16)) for i in range(0, len(addr), 8))
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return f"{socket.inet_ntop(family, raw)}:{int(port, 16)}"


LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def is_loopback(addr_port):
    """On loopback, or a udp_mcast consumer's group in 239.255.0.0/16 (local scope): a
    socket bound to a group address is no wildcard, it receives only datagrams sent to
    that group. That the group is joined on lo and sent to with TTL 0 out of lo is
    checked on the real sockets by security_test.cpp (Network/Loopback)."""
    addr = addr_port.rsplit(":", 1)[0].strip("[]")
    return addr in LOOPBACK or addr.startswith("239.255.")


def is_private_netns_addr(addr_port):
    """tcp_netns and udp_netns: 169.254.77.0/30, on a socket in a namespace of their own."""
    return addr_port.startswith("169.254.77.")


def judge(watch_json, audit_log, expect_kinds, expect_inet):
    w = json.load(open(watch_json))
    problems = []
    kinds = {}
    for o in w["objects"]:
        kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
        want = 0o700 if o["kind"] == "dir" else 0o600
        if o["kind"] != "socket" and o["mode"] != want:
            problems.append(f"{o['what']} ({o['kind']}): mode {o['mode']:04o}, want {want:04o}")
    for s in w["inet"]:
        if not is_loopback(s["local"]):
            problems.append(f"{s['proto']} socket bound to {s['local']}: not loopback")
    lines = open(audit_log).read().splitlines() if os.path.exists(audit_log) else []
    inet_binds = listens = 0
    for line in lines:
        f = line.split()
        if f[1:3] == ["bind", "unix"]:
            if f[-1] != "0600":
                problems.append(f"socket file {f[3]} bound with mode {f[-1]}, want 0600")
            kinds["socket file"] = kinds.get("socket file", 0) + 1
        elif f[2] == "inet":
            inet_binds += f[1] == "bind"
            listens += f[1] == "listen"
            private = f[-1] == "private"  # audit_preload.cpp: in a namespace of its own
            if not is_loopback(f[3]) and not (private and is_private_netns_addr(f[3])):
                problems.append(f"{f[1]} on {f[3]} (pid {f[0]}): not loopback")
    if w["pids"] < 3:
        problems.append(f"saw {w['pids']} process(es) of the run in {w['samples']} samples, not the orchestrator "
                        "and both children")
    for k in filter(None, expect_kinds.split(",")):
        if k not in kinds:
            problems.append(f"no {k} object was inspected (seen: {kinds})")
    if expect_inet in ("bind", "listen") and not w["inet"]:
        problems.append("no IP socket of the run was found in /proc/net")
    if expect_inet == "bind" and inet_binds == 0:
        problems.append("the audit log shows no IP bind")
    if expect_inet == "listen" and listens == 0:
        problems.append("the audit log shows no listen")
    if expect_inet == "none" and (w["inet"] or inet_binds or listens):
        problems.append(f"IP sockets where none were expected: {w['inet']}, audit {lines}")
    summary = (f"{w['samples']} samples, {w['pids']} pids, objects {dict(sorted(kinds.items()))}, "
               f"IP sockets {sorted({s['proto'] + ' ' + s['local'].rsplit(':', 1)[0] for s in w['inet']})}, "
               f"audit: {inet_binds} inet binds, {listens} listens")
    return problems, summary


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "watch":
        Watch(int(sys.argv[2])).run(sys.argv[3])
        return 0
    if len(sys.argv) == 6 and sys.argv[1] == "judge":
        problems, summary = judge(*sys.argv[2:])
        print(summary)
        for p in problems:
            print("  PROBLEM:", p)
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
