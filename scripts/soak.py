#!/usr/bin/python3
"""The soak's helper (scripts/soak.sh runs it; see there for the whole picture).

  soak.py large-size MECHANISM CAPACITY
      The soak's large message size for a mechanism: 64 KiB, or the largest power of
      two its limits allow (posix_mq: fs.mqueue.msgsize_max; sysv_msg: kernel.msgmax
      and kernel.msgmnb / capacity; udp: 65,507 B per datagram).
  soak.py sample PID OUT.json
      Every second until PID exits: VmRSS and the open descriptor count of PID (the
      orchestrator) and of every descendant (the pair, a floor's helper). Then lists
      what the run left behind: names carrying one of its pids in /dev/shm,
      /dev/mqueue and /tmp (FIFOs and socket files live in the /tmp directories), SysV
      segments it created and SysV queues its processes last used.
  soak.py before OUT.json
      The machine's ipcbench names and SysV ids now, for report's final check.
  soak.py report DIR
      Reads DIR/runs.tsv (one line per run: mechanism, size, case seconds, exit status,
      elapsed seconds, results JSON, samples JSON, both in DIR) and DIR/before.json (the machine's
      ipcbench names and SysV ids before the soak), prints the summary table and the
      verdict, and exits 0 when everything passed, else 1.
"""
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plots"))
import results  # noqa: E402  (mechanism facts, as plots/ reads them)

# Memory is steady when, after warm-up (the first WARMUP_SHARE of a process's samples,
# at least MIN_WARMUP_SAMPLES), its resident anonymous and shared memory (VmRSS less
# RssFile) never exceeds its value at the end of warm-up by more than GROWTH_SLACK_KIB
# + GROWTH_SHARE of it. A leak of even a few bytes per message exceeds that within
# seconds at these rates; a buffer touched for the first time late (a queue slot first
# reached after warm-up) stays far below it. File pages (the binary, libraries) are
# left out of the judgement: under memory pressure the kernel reclaims them and they
# fault back in later, megabytes either way (seen in a soak on a loaded machine, VmRSS
# 5.7 -> 0.7 MiB), which says nothing about the process. VmRSS is still reported.
WARMUP_SHARE = 0.2
MIN_WARMUP_SAMPLES = 3
GROWTH_SLACK_KIB = 1024
GROWTH_SHARE = 0.05


def large_size(mechanism, capacity):
    size = 64 * 1024

    def sysctl(path):
        try:
            return int(open(path).read())
        except (OSError, ValueError):
            return size

    if mechanism == "posix_mq":
        size = min(size, sysctl("/proc/sys/fs/mqueue/msgsize_max"))
    elif mechanism == "sysv_msg":
        size = min(size, sysctl("/proc/sys/kernel/msgmax"), sysctl("/proc/sys/kernel/msgmnb") // capacity)
    elif mechanism == "udp":
        size = min(size, 65507)
    power = 1
    while power * 2 <= size:
        power *= 2
    return power


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def status_fields(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssFile", "PPid", "Cpus_allowed_list"):
                out[key] = value.strip()
    return out


def ipc_names(pids=None):
    """ipcbench names in /dev/shm, /dev/mqueue and /tmp (of these pids, or all)."""
    prefixes = tuple(f"ipcbench-{p}-" for p in pids) if pids is not None else ("ipcbench-",)
    out = []
    for top in ("/dev/shm", "/dev/mqueue", "/tmp"):
        try:
            out += [f"{top}/{n}" for n in os.listdir(top) if n.startswith(prefixes)]
        except OSError:
            pass
    return sorted(out)


def sysv_rows(table):
    try:
        with open(f"/proc/sysvipc/{table}") as f:
            return [line.split() for line in f.read().splitlines()[1:]]
    except OSError:
        return []


def sysv_left(pids):
    """SysV objects of these pids: segments they created, queues they last used."""
    left = [f"sysv shm id {r[1]} (cpid {r[4]})" for r in sysv_rows("shm") if int(r[4]) in pids]
    left += [f"sysv msg id {r[1]} (lspid {r[5]}, lrpid {r[6]})" for r in sysv_rows("msg")
             if int(r[5]) in pids or int(r[6]) in pids]
    return left


def sample(pid, out):
    samples, pids = [], {pid}
    start = time.monotonic()
    while alive(pid):
        t = round(time.monotonic() - start, 3)
        for p in descendants(pid):
            try:
                st = status_fields(p)
                fds = len(os.listdir(f"/proc/{p}/fd"))
            except OSError:
                continue  # exited meanwhile
            if "VmRSS" not in st:
                continue  # a zombie
            pids.add(p)
            samples.append({"t": t, "pid": p, "ppid": int(st["PPid"]), "cpus": st["Cpus_allowed_list"],
                            "rss_kib": int(st["VmRSS"].split()[0]),
                            "rss_file_kib": int(st.get("RssFile", "0 kB").split()[0]), "fds": fds})
        time.sleep(1.0)
    # The orchestrator has exited (a zombie until the shell reaps it): whatever of its
    # run is still there now was left behind.
    left = ipc_names(pids) + sysv_left(pids)
    with open(out, "w") as f:
        json.dump({"orchestrator": pid, "pids": sorted(pids), "samples": samples, "left": left}, f)


def steady(series):
    """One process's samples: RSS first/max/last, and growth and descriptor change after
    warm-up (None when too few samples to tell warm-up from the rest)."""
    rss = [s["rss_kib"] for s in series]
    own = [s["rss_kib"] - s["rss_file_kib"] for s in series]  # anonymous + shared
    fds = [s["fds"] for s in series]
    out = {"first": rss[0], "max": max(rss), "last": rss[-1], "fds_min": min(fds), "fds_max": max(fds),
           "base": None, "growth": None, "fd_change": None}
    warm = max(MIN_WARMUP_SAMPLES, int(len(series) * WARMUP_SHARE))
    if len(series) > warm:
        out["base"] = own[warm - 1]
        out["growth"] = max(own[warm:]) - out["base"]
        out["fd_change"] = max(fds[warm:]) - min(fds[warm:])
    return out


def roles(run, cpus):
    """The pair's samples by role, and the orchestrator's while its pair ran."""
    orch = run["orchestrator"]
    by_pid = {}
    for s in run["samples"]:
        by_pid.setdefault(s["pid"], []).append(s)
    children = [p for p in by_pid if p != orch and by_pid[p][0]["ppid"] == orch]
    # The pair lives for the whole case, a floor's helper only for a moment: the pair
    # is the two longest-lived children. Side a (producer) pins itself to the run's
    # first CPU (context.cpu_pinning), side b (consumer) to the second.
    pair = sorted(children, key=lambda p: len(by_pid[p]), reverse=True)[:2]
    out = {}
    if len(pair) == 2:
        a, b = sorted(pair, key=lambda p: by_pid[p][-1]["cpus"] != str(cpus[0]))
        out["producer"], out["consumer"] = by_pid[a], by_pid[b]
        window = {s["t"] for s in by_pid[a]} & {s["t"] for s in by_pid[b]}
        out["orchestrator"] = [s for s in by_pid.get(orch, []) if s["t"] in window]
    return out


def fmt_mib(kib):
    return f"{kib / 1024:.1f}"


def read_runs(d):
    """DIR/runs.tsv: (mechanism, size, case s, exit status, elapsed s, results path,
    samples path) per run."""
    runs = []
    with open(os.path.join(d, "runs.tsv")) as f:
        for line in f:
            mech, size, case_s, rc, elapsed, results, samples = line.rstrip("\n").split("\t")
            runs.append((mech, int(size), float(case_s), int(rc), float(elapsed), os.path.join(d, results),
                         os.path.join(d, samples)))
    return runs


def judge_results(label, mech, rc, path, problems):
    """What one run's results file says: messages verified, errors, messages lost, the
    outcome, the run's CPUs, and whether the mechanism may lose messages (its facts
    in the file's context). Problems are appended to `problems`."""
    msgs = errors = lost = 0
    outcome = "ok"
    cpus = [0, 1]
    try:
        doc = json.load(open(path))
        bench = doc["benchmarks"]
        cpus = doc["context"].get("cpu_pinning") or cpus
        lossy = results.mechanism_facts(doc["context"], bench).get(mech, {}).get("may_lose", False)
    except (OSError, ValueError, KeyError, AttributeError) as e:
        bench, lossy = [], False
        outcome = "no results"
        problems.append(f"{label}: no results JSON ({e})")
    for b in bench:
        if b.get("error_occurred"):
            outcome = "FAILED"
            problems.append(f"{label}: {b['name']}: {b.get('error_message')}")
            continue
        msgs += int(b.get("verified", 0))
        errors += int(b.get("errors", 0))
        lost += int(b.get("lost_msgs", 0))
    if bench and not any(not b.get("error_occurred") for b in bench):
        outcome = "FAILED"
    if rc != 0:
        problems.append(f"{label}: ipcbench exited {rc}")
        outcome = "FAILED" if outcome == "ok" else outcome
    if errors:
        problems.append(f"{label}: {errors} verification errors")
    return msgs, errors, lost, outcome, cpus, lossy


def judge_samples(label, path, cpus, problems):
    """One run's samples: (the run's samples, {role: RSS cell}, [descriptor cell per
    role]). Problems are appended to `problems`."""
    try:
        run = json.load(open(path))
    except (OSError, ValueError) as e:
        run = {"orchestrator": 0, "samples": [], "left": []}
        problems.append(f"{label}: no samples ({e})")
    cells = {}
    by_role = roles(run, cpus)
    if not by_role:
        problems.append(f"{label}: the pair was never sampled (case too short?)")
    fd_cells = []
    for role in ("orchestrator", "producer", "consumer"):
        series = by_role.get(role, [])
        if not series:
            cells[role] = "-"
            fd_cells.append("-")
            continue
        st = steady(series)
        cells[role] = f"{fmt_mib(st['first'])}/{fmt_mib(st['max'])}/{fmt_mib(st['last'])}"
        fd_cells.append(str(st["fds_min"]) if st["fds_min"] == st["fds_max"] else f"{st['fds_min']}-{st['fds_max']}")
        if st["growth"] is None:
            problems.append(f"{label}: {role}: only {len(series)} samples, too few to judge memory")
            continue
        if st["growth"] > GROWTH_SLACK_KIB + GROWTH_SHARE * st["base"]:
            problems.append(f"{label}: {role}: anonymous + shared RSS grew {st['growth']} KiB after warm-up, "
                            f"from {st['base']} KiB (tolerance {GROWTH_SLACK_KIB} KiB + {GROWTH_SHARE:.0%})")
            cells[role] += " GROWS"
        if st["fd_change"]:
            problems.append(f"{label}: {role}: open descriptors changed by {st['fd_change']} after warm-up")
            fd_cells[-1] += "!"
    if run["left"]:
        problems.append(f"{label}: left behind: {', '.join(run['left'])}")
    return run, cells, fd_cells


def judge_run(run_line, problems):
    """One run's row of the summary table and its messages verified."""
    mech, size, case_s, rc, elapsed, results_path, samples_path = run_line
    label = f"{mech}/{size}"
    msgs, errors, lost, outcome, cpus, lossy = judge_results(label, mech, rc, results_path, problems)
    run, cells, fd_cells = judge_samples(label, samples_path, cpus, problems)
    row = [label, f"{case_s:.1f}", f"{elapsed:.1f}", f"{msgs:,}", str(errors), str(lost) if lossy else "-",
           outcome, cells["orchestrator"], cells["producer"], cells["consumer"], "/".join(fd_cells),
           str(len(run["left"]))]
    return row, msgs


def leftovers(runs, before, problems):
    """What the soak's processes left on the machine, and what others did:
    (ipcbench names new since the start, names of other processes among them, the
    soak's own SysV objects, the count of other processes' new ones)."""
    # Anything named ipcbench-* or any SysV object that appeared during the soak and is
    # still there, whoever's (other runs on the machine may show here: named, not failed).
    after_names = set(ipc_names()) - set(before["names"])
    ours = set()
    for *_, samples in runs:
        try:
            ours.update(json.load(open(samples))["pids"])
        except (OSError, ValueError):
            pass
    for name in sorted(after_names):
        pid = name.split("ipcbench-", 1)[1].split("-", 1)[0]
        if pid.isdigit() and int(pid) in ours:
            problems.append(f"left behind after the soak: {name}")
    # SysV ids new since the start: the soak's own (creator or last user among its
    # processes, a problem already named per run) and other processes'.
    new_shm = [r for r in sysv_rows("shm") if r[1] not in before["sysv_ids"]]
    new_msg = [r for r in sysv_rows("msg") if r[1] not in before["sysv_ids"]]
    our_sysv = [r for r in new_shm if int(r[4]) in ours] + [r for r in new_msg if int(r[5]) in ours or int(r[6]) in ours]
    other_sysv = len(new_shm) + len(new_msg) - len(our_sysv)
    strangers = [n for n in after_names if not any(f"ipcbench-{p}-" in n for p in ours)]
    return after_names, strangers, our_sysv, other_sysv


def print_table(rows):
    head = ["case", "case s", "run s", "msgs verified", "errors", "lost", "outcome",
            "RSS orch MiB first/max/last", "RSS producer", "RSS consumer", "fds o/p/c", "left"]
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


def report(d):
    runs = read_runs(d)
    before = json.load(open(os.path.join(d, "before.json")))
    problems = []
    rows = []
    total_msgs = 0
    for run_line in runs:
        row, msgs = judge_run(run_line, problems)
        rows.append(row)
        total_msgs += msgs
    after_names, strangers, our_sysv, other_sysv = leftovers(runs, before, problems)
    print_table(rows)
    total_s = sum(r[4] for r in runs)
    print(f"\n{len(runs)} runs, {total_msgs:,} messages verified, {total_s / 60:.1f} min of runs; "
          f"memory tolerance after warm-up ({WARMUP_SHARE:.0%} of samples, at least {MIN_WARMUP_SAMPLES}): "
          f"anonymous + shared RSS may grow {GROWTH_SLACK_KIB} KiB + {GROWTH_SHARE:.0%}; descriptors: no change")
    left_total = len(after_names - set(strangers))
    print(f"left behind after the soak: {left_total} ipcbench names of the soak's processes"
          + (f" ({len(strangers)} more of other processes on the machine: {sorted(strangers)})" if strangers else "")
          + f"; SysV objects of the soak's processes: {len(our_sysv)}"
          + (f" ({other_sysv} new ones of other processes on the machine)" if other_sysv else ""))
    if problems:
        print(f"\nFAIL: {len(problems)} problem(s)")
        for p in problems:
            print("  " + p)
        return 1
    print("\nPASS: no failed case, no verification error, memory and descriptors steady, nothing left behind")
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "large-size":
        print(large_size(a[1], int(a[2])))
        return 0
    if len(a) == 3 and a[0] == "sample":
        sample(int(a[1]), a[2])
        return 0
    if len(a) == 2 and a[0] == "before":
        json.dump({"names": ipc_names(), "sysv_ids": [r[1] for r in sysv_rows("shm") + sysv_rows("msg")]},
                  open(a[1], "w"))
        return 0
    if len(a) == 2 and a[0] == "report":
        return report(a[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
