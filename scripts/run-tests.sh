#!/usr/bin/env bash
# The README's second command (and CI's): install what is missing, then build and run
# the tests in three stages, each labelled in the output. Tests check correctness,
# never speed.
#   release  every test, optimised as the benchmarks run.
#   asan     again with AddressSanitizer + UndefinedBehaviorSanitizer: every GoogleTest
#            suite (conformance, faults, corrupt peers, security, ...; in shards of
#            one process each, tests/CMakeLists.txt says why) and the tests
#            that feed the instrumented ipcbench binary bad input (cli, cli_options,
#            bad_files). Not: plot (Python only), format, function_size and docs_links
#            (they read the sources, not the build), the fuzz target (built with ASan
#            and UBSan already), and the whole-run tests that check what processes
#            do under kills, limits and live inspection (hostile, security_live_*,
#            bench_ci, bench_ci_against, floor_load): they run in release, and would double CI's time here.
#   tsan     the ring between two threads (label ring_threads) under ThreadSanitizer.
#            TSan keeps its shadow memory per process, so it cannot check the ring
#            across fork (a ring with its release store made relaxed passes the
#            two-process tests under TSan; docs/testing.md, Sanitizers in CI); the
#            same ring code between two threads of one process it checks fully. Only
#            that test is built. Stage times: docs/testing.md, Sanitizers in CI.
# Sanitizer options live in CMakePresets.json (test presets), so `ctest --preset asan`
# by hand behaves as here:
#   UBSan is fatal: built with -fno-sanitize-recover=undefined (CMakeLists.txt);
#     UBSAN_OPTIONS=print_stacktrace=1 says where.
#   ASAN_OPTIONS=detect_leaks=1: LeakSanitizer checks at exit() of the processes that
#     end normally (the gtest process, the ipcbench orchestrator), where a leak is
#     ours. Forked children leave with _exit() (or SIGKILL), which skips the check, so
#     what a child inherited and never freed is not reported: no false leaks, and
#     nothing to suppress. detect_stack_use_after_return=1 because spans into stack
#     buffers are everywhere here; check_initialization_order/strict_init_order for
#     the mechanisms' static registration.
#   TSAN_OPTIONS=halt_on_error=1: the first race ends the test with its report;
#     history_size=4: with the default (2) the report lost the racing write's stack.
# A sanitizer report makes the process (or a child, which fails its case) exit
# non-zero, so it is a failed test.
# Ends with one line summing the stages: `N passed, N failed, N skipped`. Exits
# non-zero if any stage failed; a stage that does not build, or whose ctest prints no
# summary, counts as one failed test, so that line never reads 0 failed then.
# IPCBENCH_TEST_STAGES="release" (any of release asan tsan) runs fewer stages, for a
# quick local run; CI runs all three.
set -euo pipefail
cd "$(dirname "$0")/.."

stages=${IPCBENCH_TEST_STAGES:-release asan tsan}
for s in $stages; do
  case $s in
    release | asan | tsan) ;;
    *) echo "run-tests.sh: unknown stage '$s' in IPCBENCH_TEST_STAGES (release, asan, tsan)" >&2; exit 2 ;;
  esac
done
scripts/setup.sh

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
status=0
passed=0 failed=0 skipped=0
report=()  # one line per stage, repeated before the closing line

mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# stage NAME TITLE BUILD_TARGETS CTEST_ARGS...: configure, build (BUILD_TARGETS: "all" =
# everything, or a space-separated list), run ctest serially and add its counts to the totals. Serial on
# purpose: the leak tests compare /dev/shm and friends before and after, and the pair
# tests pin two processes to the two CPUs.
stage() {
  local name=$1 title=$2 target=$3
  shift 3
  local log="$logdir/$name.log" t0 t1 t2 rc=0 summary
  echo
  echo "==== stage $name: $title ===="
  t0=$SECONDS
  local build=(cmake --build --preset "$name" -j "$(nproc)")
  # shellcheck disable=SC2206  # a list of target names, split on spaces
  [ "$target" = all ] || build+=(--target $target)
  if ! { cmake --preset "$name" >/dev/null && "${build[@]}"; }; then
    t1=$SECONDS
    echo "==== stage $name: BUILD FAILED after $(mmss $((t1 - t0))) ===="
    report+=("$name: build failed ($(mmss $((t1 - t0))))")
    failed=$((failed + 1))
    status=1
    return
  fi
  t1=$SECONDS
  ctest --preset "$name" "$@" 2>&1 | tee "$log" || rc=$?
  t2=$SECONDS
  [ "$rc" -eq 0 ] || status=1
  # ctest lists skipped tests after its summary; count them from that list.
  summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
  local p=0 f=1 s=0
  if [ -n "$summary" ]; then
    f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
    local total
    total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$summary")
    s=$(grep -cE '\(Skipped\)$' "$log" || true)
    p=$((total - f - s))
  else
    status=1
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  local times="build $(mmss $((t1 - t0))), tests $(mmss $((t2 - t1)))"
  local line="$name: $p passed, $f failed, $s skipped ($times)"
  [ -n "$summary" ] || line="$name: no ctest summary, counted as 1 failed ($times)"
  echo "==== stage $line ===="
  report+=("$line")
}

# The release build through ccache (when installed), into a cache that lives as long as
# this run: the bench_ci_against test builds HEAD twice more in the release preset's
# layout under build/, and with the repository as base_dir those builds reuse this one's
# objects instead of compiling everything again (tests/bench_ci_against_test.sh).
release_with_ccache() {
  if command -v ccache >/dev/null; then
    export CCACHE_DIR="$logdir/ccache" CCACHE_BASEDIR="$(pwd -P)" CCACHE_NOHASHDIR=1
    export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
  fi
  stage release "every test, release build" all
  # The sanitizer builds share nothing with it: no launcher for them.
  unset CMAKE_CXX_COMPILER_LAUNCHER CMAKE_C_COMPILER_LAUNCHER
}

for s in $stages; do
  case $s in
    release) release_with_ccache ;;
    # Only what the stage runs: not the fuzz target (clang++, its own ASan) nor the
    # audit preload of the live security tests, which run in release.
    asan) stage asan "GoogleTest suites and the bad-input tests, AddressSanitizer + UndefinedBehaviorSanitizer" \
      "ipcbench ipcbench_tests ipcbench_security_tests ipcbench_ring_thread_tests" -E '^(plot|hostile|security_live_.*|bench_ci|bench_ci_against|compare_reader_fuzz|format|function_size|docs_links|floor_load)$' ;;
    tsan) stage tsan "the ring between two threads (label ring_threads), ThreadSanitizer" \
      ipcbench_ring_thread_tests -L '^ring_threads$' ;;
  esac
done

echo
printf '%s\n' "${report[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
