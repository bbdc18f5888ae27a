#!/usr/bin/python3
"""Writes the sysfs topology fixtures tests/topology_test.cpp reads.

Each fixture is a minimal sysfs tree holding only the files harness/topology.cpp
reads: cpu/cpuN/topology/{thread_siblings_list,core_id,physical_package_id},
cpu/cpuN/cache/indexK/{level,shared_cpu_list,id} and node/nodeN/cpulist. The layouts
follow what Linux shows on such machines (published lscpu and sysfs dumps); they are
built here, not copied from the machines. `--this-machine NAME` copies those same
files from this machine's /sys instead.

    /usr/bin/python3 tests/data/topology/make_fixtures.py            # the built ones
    /usr/bin/python3 tests/data/topology/make_fixtures.py --this-machine kvm_2vcpu
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_list(cpus):
    """[0,1,2,5] -> '0-2,5', as sysfs writes lists."""
    cpus, runs = sorted(cpus), []
    for c in cpus:
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text + "\n")


def build(name, cpus, core_of, package_of, l2_of, l3_of, node_of):
    """cpus: CPU numbers; the *_of functions map a CPU to its core id (within its
    package), package, L2 group, L3 group (None: no L3) and NUMA node."""
    root = os.path.join(HERE, name)
    shutil.rmtree(root, ignore_errors=True)

    def peers(key):
        return cpu_list([c for c in cpus if key(c) == key(cpus_0)])

    for c in cpus:
        cpus_0 = c  # the CPU peers() compares against
        d = os.path.join(root, "cpu", f"cpu{c}")
        sib = [o for o in cpus if package_of(o) == package_of(c) and core_of(o) == core_of(c)]
        write(f"{d}/topology/thread_siblings_list", cpu_list(sib))
        write(f"{d}/topology/core_id", str(core_of(c)))
        write(f"{d}/topology/physical_package_id", str(package_of(c)))
        write(f"{d}/cache/index2/level", "2")
        write(f"{d}/cache/index2/shared_cpu_list", peers(l2_of))
        if l3_of(c) is not None:
            write(f"{d}/cache/index3/level", "3")
            write(f"{d}/cache/index3/shared_cpu_list", peers(l3_of))
            write(f"{d}/cache/index3/id", str(l3_of(c)))
    for n in sorted({node_of(c) for c in cpus}):
        write(os.path.join(root, "node", f"node{n}", "cpulist"),
              cpu_list([c for c in cpus if node_of(c) == n]))


def xeon_2s():
    # 2 sockets x 16 cores x 2 threads; Linux numbers the first thread of every core
    # first (0-31), then their siblings (32-63): CPU N and N+32 share a core.
    # One L3 per socket, one NUMA node per socket (no sub-NUMA clustering).
    core = lambda c: c % 32  # global core; 0-15 socket 0, 16-31 socket 1
    pkg = lambda c: core(c) // 16
    build("xeon_2s_smt", list(range(64)), lambda c: core(c) % 16, pkg, core, pkg, pkg)


def epyc_nps4():
    # 1 socket x 64 cores x 2 threads (EPYC 7763 style): CPU N and N+64 share a core;
    # 8 CCDs of 8 cores, one L3 each; NPS4: 4 NUMA nodes of 16 cores (2 L3s each).
    core = lambda c: c % 64
    build("epyc_1s_nps4", list(range(128)), core, lambda c: 0, core,
          lambda c: core(c) // 8, lambda c: core(c) // 16)


def arm64():
    # 64 cores, no SMT (thread_siblings_list is the CPU itself), private L2s, one
    # shared L3 and one NUMA node (Graviton3 style).
    build("arm64_64c", list(range(64)), lambda c: c, lambda c: 0, lambda c: c,
          lambda c: 0, lambda c: 0)


def this_machine(name):
    """Copies the files topology.cpp reads from this machine's /sys."""
    root = os.path.join(HERE, name)
    shutil.rmtree(root, ignore_errors=True)
    src = "/sys/devices/system"
    for cpu in sorted(os.listdir(f"{src}/cpu")):
        if not (cpu.startswith("cpu") and cpu[3:].isdigit()):
            continue
        for f in ("thread_siblings_list", "core_id", "physical_package_id"):
            copy(f"{src}/cpu/{cpu}/topology/{f}", f"{root}/cpu/{cpu}/topology/{f}")
        cache = f"{src}/cpu/{cpu}/cache"
        for index in sorted(os.listdir(cache)) if os.path.isdir(cache) else []:
            if index.startswith("index"):
                for f in ("level", "shared_cpu_list", "id"):
                    copy(f"{cache}/{index}/{f}", f"{root}/cpu/{cpu}/cache/{index}/{f}")
    for node in sorted(os.listdir(f"{src}/node")) if os.path.isdir(f"{src}/node") else []:
        if node.startswith("node") and node[4:].isdigit():
            copy(f"{src}/node/{node}/cpulist", f"{root}/node/{node}/cpulist")


def copy(src, dst):
    if os.path.exists(src):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--this-machine":
        this_machine(sys.argv[2])
    elif len(sys.argv) == 1:
        xeon_2s()
        epyc_nps4()
        arm64()
    else:
        sys.exit("usage: make_fixtures.py [--this-machine NAME]")
