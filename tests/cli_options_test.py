#!/usr/bin/python3
"""Bad input to every option of every ipcbench command: exit status 2, exactly one line
on stderr starting "ipcbench: " and naming the option, nothing on stdout, nothing
written. Usage: cli_options_test.py IPCBENCH_BINARY

The commands come from `ipcbench --help` and each command's options from its own
--help, so an option added later fails this test until OPTIONS below says what bad
input to give it (and an option removed fails it until its entry goes). For every
option taking a value, OPTIONS lists bad values (wrong type, negative, overflowing,
NaN/inf, empty, duplicates, ...); the test also gives each one with no value (last
on the line), twice, and in the --opt=value form. A flag is given a value and given
twice. No case runs: a value the parser wrongly accepted meets a second bad option
(SENTINEL) or a missing file, whose error does not name the option under test.
Correctness only, no timing.
"""
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

BIN = os.path.realpath(sys.argv[1])
HUGE = "99999999999999999999999"

# (command, option) -> (a good value, or None for a flag; bad values). A value "{tmp}"
# is replaced by the test's scratch directory.
OPTIONS = {
    ("run", "--preset"): ("quick", ["nope", "", "QUICK", "quick,default", " quick"]),
    ("run", "--sweeps"): ("none", ["nope", "", "capacity,capacity", "none,rate", ",", "NONE", "rate,"]),
    ("run", "--mechanisms"): ("pipe", ["nope", "", "pipe,pipe", "pipe,", ",pipe", "PIPE", "1"]),
    ("run", "--patterns"): ("pingpong", ["foo", "", "pingpong,pingpong", "rate,bogus", "-1"]),
    ("run", "--sizes"): ("64", ["0", "-5", "+5", " 5", "4X", "1.5", "1e3", "0x10", HUGE, "1e400", "nan", "inf",
                                "2G", "", "64,64", "1K,1024", "1,,2", "64,", "18446744073709551616",
                                "17179869184G"]),
    ("run", "--capacities"): ("16", ["-1", "maxx", "MAX", "max,max", "2M", HUGE, "nan", "", "1,1", "1K,1024", "a", "1e400", "1.0"]),
    ("run", "--rates"): ("1k", ["0", "1x", "1.5k", "200M", "-1k", HUGE, HUGE + "k", "1e400", "nan", "inf", "",
                                "1k,1000", "1k,1k", "1e3"]),
    ("run", "--wait"): ("block", ["sometimes", "", "spin,spin", "Spin", "spin,", "0"]),
    ("run", "--consumers"): ("2", ["0", "65", "-1", "1.5", "", "2,2", "2,", HUGE, "nan", "a"]),
    ("run", "--producers"): ("2", ["0", "65", "-1", "1.5", "", "2,2", "2,", HUGE, "nan", "a"]),
    ("run", "--pairs"): ("2", ["0", "65", "-1", "1.5", "", "2,2", "2,", HUGE, "nan", "a"]),
    ("run", "--backing"): ("memfd", ["tmpfs", "", "posix_shm,memfd", "MEMFD"]),
    ("run", "--dir"): ("{tmp}", ["", "{tmp}/file", "{tmp}/fifo", "{tmp}/missing"]),
    ("run", "--placement"): ("same_cpu", ["nowhere", "", "same_cpu,same_cpu", "all,same_cpu", "same_cpu,",
                                          ",all", "SAME_CPU", "same-cpu", "0,1"]),
    ("run", "--cpus"): ("0,0", ["0", "0,99999", "a,b", "0,1,0", ",1", "0,-1", "0K,1", "18446744073709551616,0",
                               HUGE + ",0", "", "0.5,1", " 0,1", "0,", "nan,inf"]),
    ("run", "--repetitions"): ("1", ["0", "-1", "1.5", "1001", HUGE, "", "nan", "abc", "1e400"]),
    ("run", "--case-time"): ("0.1", ["0", "-1", "abc", "nan", "inf", "1e400", "1e-300", "", "0x10", "3601", " 1",
                                     "1s", "-inf"]),
    ("run", "--messages"): ("10", ["0", "-1", "1e3", "0x10", HUGE, "", "2000G", "nan", "1.5"]),
    ("run", "--timeout"): ("30", ["0", "-1", "nan", "inf", "1e400", "1e-300", "86401", "", "abc", HUGE]),
    ("run", "--out"): ("{tmp}/x.json", ["", "{tmp}", "{tmp}/fifo"]),
    ("run", "--quiet"): (None, []),
    ("run", "--hgrm"): ("{tmp}/hgrm", ["", "{tmp}/file", "{tmp}/fifo"]),
    ("run", "--no-verify"): (None, []),
    ("run", "--interleave"): (None, []),
    ("run", "--benchmark_filter"): ("pipe", ["", "(", "[a", "*"]),
    ("run", "--benchmark_list_tests"): (None, ["maybe", "2", ""]),
    ("run", "--benchmark_display_aggregates_only"): (None, ["maybe", "yes please"]),
    ("run", "--help"): (None, []),
    ("compare", "--threshold"): ("5%", ["x", "-5", "1001", "nan", "inf", "1e400", "", "5%%", "0x10", " 5", "%",
                                        "-inf", HUGE]),
    ("compare", "--alpha"): ("0.05", ["0", "1", "-0.1", "nan", "inf", "1e-400", "", "0x0.1", " 0.5", "abc",
                                      "1e400", "5%"]),
    ("compare", "--metric"): ("p50", ["p42", "", "p50,p50", "primary,p50", "p50,", "P50", "primary,primary"]),
    ("compare", "--normalize"): ("floor", ["nope", "", "FLOOR", "floor,floor"]),
    ("compare", "--format"): ("json", ["xml", "", "JSON", "json,table"]),
    ("compare", "--all"): (None, []),
    ("compare", "--fleet"): (None, []),
    ("compare", "--help"): (None, []),
    ("summary", "--format"): ("json", ["xml", "", "JSON", "json,table", "table,table"]),
    ("summary", "--all"): (None, []),
    ("summary", "--help"): (None, []),
    ("clean", "--help"): (None, []),
    ("list", "--json"): (None, []),
    ("list", "--help"): (None, []),
    ("plot", "--out"): ("{tmp}/charts", ["", "{tmp}/file"]),
    ("plot", "--help"): (None, []),
}
# GB flags take their value after '=' only; flags of GB may carry one (=true).
EQUALS_ONLY = {"--benchmark_filter", "--benchmark_list_tests", "--benchmark_display_aggregates_only"}
# Arguments that bound what a run could do, should the parser wrongly accept what it
# is given: a case of a few messages.
TINY_RUN = ["--sweeps", "none", "--mechanisms", "pipe", "--patterns", "pingpong", "--sizes", "64", "--wait", "block",
            "--messages", "10", "--out", "{tmp}/x.json"]
# Per command: arguments after the option under test whose own error must not be the
# one reported. Each is bad input itself, so nothing runs.
SENTINEL = {"run": ["--preset", "nope"], "compare": [], "list": [], "clean": [], "plot": ["{tmp}/missing.json"],
            "summary": ["{tmp}/missing.json"]}
# Input that is bad without any option: unknown options, stray arguments, and what
# must not be taken for a file or a command. The message must name the second item.
OTHER = [
    ([], "no command"),
    (["frobnicate"], "frobnicate"),
    ([""], "unknown command"),
    (["--bogus"], "--bogus"),
    (["help", "nope"], "nope"),
    (["help", "run", "extra"], "extra"),
    (["--help", "extra"], "extra"),
    (["-h", "extra"], "extra"),
    (["run", "--bogus", "--preset", "nope"], "--bogus"),
    (["run", "-x", "--preset", "nope"], "-x"),
    (["run", "positional", "--preset", "nope"], "positional"),
    (["run", "--", "--preset", "nope"], "--"),
    (["run", "--=5", "--preset", "nope"], "--"),
    (["run", "--benchmark_repetitions=3", "--preset", "nope"], "--benchmark_repetitions"),
    (["run", "--benchmark_format=xml", "--preset", "nope"], "--benchmark_format"),
    (["run", "--benchmark_out=x.json", "--preset", "nope"], "--benchmark_out"),
    (["run", "--benchmark_no_such_flag=1", "--preset", "nope"], "--benchmark_no_such_flag"),
    (["run", "--out", "--sizes", "64"], "--out"),  # a value that is the next option is a missing value
    (["run", "--mechanisms", "rpc_tcp", "--wait", "spin", "--sweeps", "none", "--out", "{tmp}/x.json"], "no case"),
    (["compare", "--bogus"], "--bogus"),
    (["compare", "-x", "a.json", "b.json"], "-x"),
    (["compare", "a.json"], "two result files"),
    (["compare", "a.json", "b.json", "c.json"], "a.json"),  # three: the fleet view, which reads them
    (["compare", "", "b.json"], "empty file name"),
    (["summary"], "one results file"),
    (["summary", "a.json", "b.json"], "one results file"),
    (["summary", "-x", "a.json"], "-x"),
    (["summary", "--bogus", "a.json"], "--bogus"),
    (["summary", "", "a.json"], "empty file name"),
    (["summary", "{tmp}/missing.json"], "missing.json"),
    (["summary", "{tmp}"], "directory"),
    (["summary", "{tmp}/file"], "empty"),
    (["list", "--bogus"], "--bogus"),
    (["list", "x"], "'x'"),
    (["list", "-x"], "-x"),
    (["plot"], "results"),
    (["plot", "--bogus", "{tmp}/missing.json"], "--bogus"),
    (["plot", "-x", "{tmp}/missing.json"], "-x"),
    (["plot", "a.json", "b.json"], "b.json"),
    (["plot", "--o", "{tmp}/charts", "{tmp}/missing.json"], "--o"),  # no abbreviations
]

failures = []
checks = 0


def fail(what):
    failures.append(what)


def help_options(text):
    """Options a --help lists: lines indented 2 to 4 spaces that start with an option
    (argparse's "-h, --help" included); wrapped description lines are indented deeper."""
    found = set()
    for line in text.splitlines():
        m = re.match(r"^ {2,4}(?:-\w, )?(--[a-z][a-z0-9_-]*)", line)
        if m:
            found.add(m.group(1))
    return found


def commands(text):
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("commands:"):
            inside = True
        elif inside and not line.strip():
            break
        elif inside and re.match(r"^  [a-z]+ ", line):
            out.append(line.split()[0])
    return out


def expect_bad(root, argv, names):
    """One invocation, in a scratch directory of its own (the working directory, where
    a default results path would land): exit 2, one stderr line "ipcbench: ..."
    containing `names`, no stdout, and the directory exactly as it was."""
    tmp = tempfile.mkdtemp(dir=root)
    os.mkfifo(os.path.join(tmp, "fifo"))
    open(os.path.join(tmp, "file"), "w").close()
    argv = [a.replace("{tmp}", tmp) for a in argv]
    before = sorted(os.listdir(tmp))
    try:
        done = subprocess.run([BIN] + argv, cwd=tmp, capture_output=True, timeout=20,
                              env=dict(os.environ, LC_ALL="C"))
    except subprocess.TimeoutExpired:
        return f"ipcbench {argv!r}: still running after 20 s (the bad input was accepted)"
    err = done.stderr.decode(errors="replace")
    lines = err.splitlines()
    shown = f"ipcbench {argv!r} -> exit {done.returncode}, stderr {err[:300]!r}"
    if done.returncode != 2:
        return shown + ": exit status is not 2"
    if len(lines) != 1 or not err.endswith("\n"):
        return shown + ": stderr is not exactly one line"
    if not lines[0].startswith("ipcbench: "):
        return shown + ": stderr does not start with 'ipcbench: '"
    if names not in lines[0]:
        return shown + f": the message does not name {names!r}"
    if done.stdout:
        return shown + f": wrote to stdout {done.stdout[:100]!r}"
    if sorted(os.listdir(tmp)) != before:
        return shown + f": left files behind: {sorted(set(os.listdir(tmp)) - set(before))}"
    return None


def main():
    global checks
    with tempfile.TemporaryDirectory(prefix="ipcbench-cli-options-") as tmp:
        top = subprocess.run([BIN, "--help"], capture_output=True, text=True, check=True).stdout
        cmds = commands(top)
        if not {"run", "compare", "plot", "list", "help"} <= set(cmds):
            fail(f"ipcbench --help lists commands {cmds}")
        listed = set()
        for cmd in cmds:
            if cmd == "help":
                continue
            done = subprocess.run([BIN, cmd, "--help"], capture_output=True, text=True)
            if done.returncode != 0 or done.stderr:
                fail(f"ipcbench {cmd} --help: exit {done.returncode}, {done.stderr[:200]!r}")
            opts = help_options(done.stdout)
            listed |= {(cmd, o) for o in opts}
        # Every option --help lists has bad values below, and nothing below is stale.
        for key in sorted(listed - OPTIONS.keys()):
            fail(f"ipcbench {key[0]} --help lists {key[1]}, which OPTIONS gives no bad input: add it")
        for key in sorted(OPTIONS.keys() - listed):
            fail(f"OPTIONS has {key[1]} for ipcbench {key[0]}, which its --help does not list")

        jobs = []  # (argv, what the message must name)
        for (cmd, opt), (good, bad) in sorted(OPTIONS.items()):
            if (cmd, opt) not in listed:
                continue
            sentinel = SENTINEL[cmd]
            if good is None:  # a flag: no value, once
                if opt == "--help":  # --help exits at once; a value or a repeat must not pass
                    jobs.append(([cmd, opt + "=1"], opt))
                    continue
                for v in bad:
                    jobs.append(([cmd, f"{opt}={v}"] + sentinel, opt))
                if opt not in EQUALS_ONLY:
                    jobs.append(([cmd, opt + "=1"] + sentinel, opt))
                    jobs.append(([cmd, opt + "="] + sentinel, opt))
                jobs.append(([cmd, opt, opt] + sentinel, opt))
                continue
            for v in bad:
                jobs.append(([cmd, f"{opt}={v}"] + sentinel, opt))
                if opt not in EQUALS_ONLY:
                    jobs.append(([cmd, opt, v] + sentinel, opt))
            twice = [f"{opt}={good}"] * 2 if opt in EQUALS_ONLY else [opt, good, opt, good]
            jobs.append(([cmd] + twice + sentinel, opt))
            # No value: the option last. Should it be accepted, the rest keeps a run tiny.
            prefix = []
            if cmd == "run":
                keep = [i for i in range(0, len(TINY_RUN), 2) if TINY_RUN[i] != opt]
                prefix = [x for i in keep for x in TINY_RUN[i:i + 2]]
            elif cmd == "plot":
                prefix = ["{tmp}/missing.json"]
            jobs.append(([cmd] + prefix + [opt], opt))
        for argv, names in OTHER:
            jobs.append((argv, names))
        # A filter is compiled before anything runs, but whether it matches a case is
        # known only once the cases are planned: a real, tiny run that matches nothing.
        jobs.append((["run"] + TINY_RUN + ["--benchmark_filter=nomatch"], "--benchmark_filter"))

        with ThreadPoolExecutor(max_workers=4) as pool:
            for problem in pool.map(lambda j: expect_bad(tmp, *j), jobs):
                checks += 1
                if problem:
                    fail(problem)

    for f in failures:
        print("FAIL:", f)
    print(f"cli_options_test: {checks} invocations, {len(listed)} options, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
