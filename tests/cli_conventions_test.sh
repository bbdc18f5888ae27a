#!/usr/bin/env bash
# The conventions of the field's command-line tools: --version/-V, -h, "did you
# mean" for a mistyped option, mechanism or command (one line, exit 2),
# --benchmark_list_tests printing the results file's names and writing nothing,
# sizes with units, and the message-queue capacity clamp recorded in the results.
# Correctness only: no timing is asserted. Usage: cli_conventions_test.sh IPCBENCH_BINARY
set -uo pipefail
bin=$(realpath "$1")
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# --- --version and -V: "ipcbench X.Y.Z (commit C, TYPE build)", exit 0 ---------
for flag in --version -V; do
  out=$("$bin" $flag 2>"$tmp/err")
  rc=$?
  if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] &&
    [[ $out =~ ^ipcbench\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ ([0-9a-f]+(-dirty)?|unknown),\ [A-Za-z]*\ build\)$ ]]; then
    ok
  else
    fail "ipcbench $flag -> rc=$rc: $out $(cat "$tmp/err")"
  fi
done
"$bin" --version extra >/dev/null 2>&1
[ $? -eq 2 ] && ok || fail "--version extra is not bad input"

# --- -h is --help, at the top and for every command ----------------------------
"$bin" -h >"$tmp/h" && "$bin" --help >"$tmp/help" && cmp -s "$tmp/h" "$tmp/help" && ok || fail "-h != --help"
for cmd in run list clean compare plot; do
  "$bin" $cmd -h >"$tmp/h" 2>"$tmp/err"
  rc=$?
  "$bin" $cmd --help >"$tmp/help" 2>/dev/null
  if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && cmp -s "$tmp/h" "$tmp/help" &&
    head -1 "$tmp/h" | grep -q "^usage: ipcbench $cmd" && grep -q '^options:' "$tmp/h" &&
    grep -q '^  -h, --help ' "$tmp/h" && grep -q '^examples:' "$tmp/h"; then
    ok
  else
    fail "ipcbench $cmd -h: rc=$rc, not the one help style: $(head -c 200 "$tmp/err")"
  fi
done

# --- did you mean: one line on stderr, exit 2, nothing written -------------------
expect_hint() {  # $1 = text the line must hold; the rest: the arguments
  local want=$1
  shift
  (cd "$tmp/cwd" && "$bin" "$@" >"$tmp/stdout" 2>"$tmp/stderr")
  local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l <"$tmp/stderr")" -eq 1 ] && grep -qF -- "$want" "$tmp/stderr" &&
    [ ! -s "$tmp/stdout" ] && [ -z "$(ls -A "$tmp/cwd")" ]; then
    ok
  else
    fail "ipcbench $* -> rc=$rc, want one line with \"$want\": $(head -c 300 "$tmp/stderr")"
  fi
}
mkdir "$tmp/cwd"
expect_hint "did you mean '--mechanisms'?" run --mechanism pipe
expect_hint "unknown mechanism 'pipes'; did you mean 'pipe'?" run --mechanisms pipes
expect_hint "did you mean 'shm_ring'?" run --mechanisms shm_rnig
expect_hint "did you mean 'run'?" rnu
expect_hint "did you mean 'compare'?" comapre a.json b.json
expect_hint "did you mean '--version'?" --verison
expect_hint "did you mean 'spin_yield'?" run --wait spin_yeild
expect_hint "did you mean 'pingpong'?" run --patterns pingpog
expect_hint "did you mean 'quick'?" run --preset quik
expect_hint "did you mean 'capacity'?" run --sweeps capacty
expect_hint "did you mean '--json'?" list --jsno
expect_hint "did you mean '--threshold'?" compare --treshold 5 a.json b.json
expect_hint "(known: " run --mechanisms zzzzzzzz  # nothing close: the list instead

# --- sizes with units ------------------------------------------------------------
list() { (cd "$tmp/cwd" && "$bin" run --sweeps none --mechanisms pipe "$@" --benchmark_list_tests); }
list --sizes 64,4096,1048576 >"$tmp/plain"
for sizes in 64B,4KiB,1MiB 64,4K,1M 64B,4k,1m; do
  list --sizes $sizes >"$tmp/units" && cmp -s "$tmp/plain" "$tmp/units" && ok || fail "--sizes $sizes != 64,4096,1048576"
done
for bad in 4KB 4Ki 4iB B 64b 1.5KiB KiB 4KiBB; do
  expect_hint "--sizes" run --sizes $bad
done

# --- --benchmark_list_tests: the names the results hold, nothing written ---------
mkdir "$tmp/lt"
args=(run --sweeps none --mechanisms pipe,posix_mq --patterns pingpong --sizes 64 --wait block)
(cd "$tmp/lt" && "$bin" "${args[@]}" --benchmark_list_tests --out "$tmp/lt/fresh/x.json") >"$tmp/names" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ -z "$(ls -A "$tmp/lt")" ] && [ -s "$tmp/names" ] && ! grep -q 'iterations:' "$tmp/names"; then
  ok
else
  fail "--benchmark_list_tests: rc=$rc, created $(ls -A "$tmp/lt"), $(head -c 200 "$tmp/names" "$tmp/err")"
fi
(cd "$tmp/lt" && "$bin" "${args[@]}" --benchmark_list_tests --benchmark_filter='posix_mq') >"$tmp/filtered" 2>/dev/null
[ "$(cat "$tmp/filtered")" = "$(grep posix_mq "$tmp/names")" ] && ok || fail "list_tests with a filter: $(cat "$tmp/filtered")"
(cd "$tmp/lt" && "$bin" "${args[@]}" --benchmark_list_tests --benchmark_filter='nomatch') >/dev/null 2>&1
[ $? -eq 2 ] && [ -z "$(ls -A "$tmp/lt")" ] && ok || fail "list_tests with a filter matching nothing"
# A tiny real run at capacity 64: past a stock fs.mqueue.msg_max (10), so the clamp
# shows in capacity_effective. Root's CAP_SYS_RESOURCE lifts the limit: as root the
# run is made as nobody, where runuser can.
as_user=()
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null && runuser -u nobody -- true 2>/dev/null; then
  as_user=(runuser -u nobody --)
  chmod 755 "$tmp"
  mkdir -m 777 "$tmp/nobody"
fi
out_dir=$tmp${as_user:+/nobody}
"${as_user[@]}" "$bin" "${args[@]}" --capacities 64 --messages 20 --out "$out_dir/run.json" >/dev/null 2>&1
cp "$out_dir/run.json" "$tmp/run.json" 2>/dev/null
(cd "$tmp/lt" && "$bin" "${args[@]}" --capacities 64 --benchmark_list_tests) >"$tmp/names64"
unprivileged=$([ "$(id -u)" -ne 0 ] || [ ${#as_user[@]} -gt 0 ] && echo 1 || echo 0)
$py - "$tmp/run.json" "$tmp/names64" "$unprivileged" <<'PY' && ok || fail "list_tests names != the run's JSON names, or no clamp recorded"
import json, sys
d = json.load(open(sys.argv[1]))
names = [l.strip() for l in open(sys.argv[2]) if l.strip()]
in_json = list(dict.fromkeys(b["name"] for b in d["benchmarks"] if b.get("run_type") != "aggregate"))
assert names == in_json, (names, in_json)
msg_max = int(open("/proc/sys/fs/mqueue/msg_max").read())
mq = [b for b in d["benchmarks"]
      if b["name"].startswith("pingpong/posix_mq/size:64/capacity:64/") and b.get("run_type") != "aggregate"]
assert mq and not any(b.get("error_occurred") for b in mq), mq
if msg_max < 64 and sys.argv[3] == "1":
    assert all(b["capacity_effective"] == msg_max for b in mq), [b["capacity_effective"] for b in mq]
PY

echo "cli_conventions_test: $passed passed, $failed failed"
[ $failed -eq 0 ]
