#!/usr/bin/env bash
# The same-runner gate (scripts/bench-ci.sh --against REF) and its own decisions, on
# real builds and real runs of a few cases (64 B, both patterns and both waits: pipe's,
# and shm_ring's too for the slowed ring):
# 1. two identical builds (HEAD built by the gate, and that build as the head): exit 0;
# 2. HEAD with docs/slow-shm-ring.patch applied, gated against HEAD: exit 1, naming
#    the ring's spinning cases, each confirmed by its rerun, and nothing else;
# 3. a regression injected into the first measurement only (the test hook
#    BENCH_CI_TEST_SLOW_FIRST): flagged, refuted by the rerun, exit 0, and the
#    summary shows both measurements.
# No timing is asserted beyond what the patch does: a 150 ns busy wait per message
# makes a 64 B spinning ring message about twice as slow on any machine we know.
# Usage: bench_ci_against_test.sh REPO_ROOT
set -uo pipefail
root=$(realpath "$1")
py=/usr/bin/python3
gate="$root/scripts/bench-ci.sh"
if ! git -C "$root" rev-parse --verify -q HEAD >/dev/null; then
  echo "bench_ci_against_test: $root is not a git checkout; skipping"
  exit 77
fi
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
  echo "bench_ci_against_test: $py cannot import matplotlib; skipping"
  exit 77
fi
# Under the repository's build/ (ignored by git) when it can, so that the builds below sit
# beneath CCACHE_BASEDIR with the release build's own layout (see ccache below).
mkdir -p "$root/build" 2>/dev/null
tmp=$(mktemp -d "$root/build/bench_ci_against.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
sha=$(git -C "$root" rev-parse HEAD)
# Both builds below compile HEAD's tree (the second with one file patched), each in
# <source>/build/release, the release preset's layout. With ccache and paths taken
# relative to a base above them, they compile from the same relative paths as the
# release build of this checkout: scripts/run-tests.sh exports its ccache (CCACHE_DIR,
# CCACHE_BASEDIR = the repository), so in CI both builds reuse its objects, and on
# their own the second reuses the first's. A cache miss only costs time. CMake reads
# the launcher from the environment.
if command -v ccache >/dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache CCACHE_NOHASHDIR=1
  case "$tmp" in
    "$root"/*) export CCACHE_BASEDIR="$root" CCACHE_DIR="${CCACHE_DIR:-$tmp/ccache}" ;;
    *) export CCACHE_BASEDIR="$tmp" CCACHE_DIR="$tmp/ccache" ;;
  esac
fi
# The slowed ring needs shm_ring and pipe (the ring's cases regress, pipe's must not);
# the identical builds and the injected regression need only pipe's four cases, which
# halves their measuring.
both=(-- --mechanisms shm_ring,pipe --sizes 64 --case-time 0.05)
pipe_only=(-- --mechanisms pipe --sizes 64 --case-time 0.05)
cases=("${pipe_only[@]}")

against() {  # against NAME HEAD_BINARY [env...]: gate HEAD_BINARY against HEAD into $tmp/NAME
  local name=$1 head=$2; shift 2
  env IPCBENCH="$head" GITHUB_STEP_SUMMARY= "$@" "$gate" --no-build --against "$sha" --build-dir "$tmp/cache" \
    --history "$tmp/history.jsonl" --out "$tmp/$name" "${cases[@]}" >"$tmp/$name.out" 2>&1
}

# --- 1. identical builds ----------------------------------------------------------------
# HEAD built as the gate builds a base (in a worktree, the binary kept in the
# --build-dir); the gate then reuses it as the base, and the same build is the head.
"$py" - "$root" "$sha" "$tmp/cache" >"$tmp/build.out" 2>&1 <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1] + "/scripts")
import ci_ab
ci_ab.build_ref(sys.argv[2], Path(sys.argv[3]))
PY
base_bin="$tmp/cache/ipcbench-${sha:0:12}"
if [ ! -x "$base_bin" ]; then
  fail "the gate did not build HEAD into $base_bin: $(tail -5 "$tmp/build.out")"
else
  ok
  git -C "$root" worktree list | grep -q "$tmp/cache" && fail "the build's worktree was left registered" || ok
  against aa "$base_bin"
  rc=$?
  [ $rc -eq 0 ] && grep -q 'reusing' "$tmp/aa.out" && grep -q '## :white_check_mark: ipcbench: no regression' "$tmp/aa/summary.md" \
    && grep -q "against the base \`${sha:0:12}\`" "$tmp/aa/summary.md" && ok || fail "identical builds -> rc=$rc: $(cat "$tmp/aa.out")"
  # Interleaved: the sides ran a b b a a b b a a b.
  order=$(sed -n 's/^bench-ci: first measurement \[.*\] \(base\|head\):.*/\1/p' "$tmp/aa.out" | cut -c1 | tr -d '\n')
  [ "$order" = "bhhbbhhbbh" ] && ok || fail "the sides ran in the order $order, not b h h b b h h b b h"
  for f in first/base.json first/head.json results.json summary.md report.html trend.png; do
    [ -s "$tmp/aa/$f" ] && ok || fail "the gate did not write $f"
  done
fi

# --- 2. the slowed ring against the plain build ------------------------------------------
git clone -q --shared "$root" "$tmp/slow" && git -C "$tmp/slow" checkout -q "$sha" \
  && git -C "$tmp/slow" apply "$root/docs/slow-shm-ring.patch" \
  && cmake -S "$tmp/slow" -B "$tmp/slow/build/release" -DCMAKE_BUILD_TYPE=Release >"$tmp/slow_build.log" 2>&1 \
  && cmake --build "$tmp/slow/build/release" --target ipcbench -j "$(nproc)" >>"$tmp/slow_build.log" 2>&1
if [ ! -x "$tmp/slow/build/release/ipcbench" ]; then
  fail "the patched build failed: $(tail -5 "$tmp/slow_build.log")"
else
  cases=("${both[@]}")
  against slow "$tmp/slow/build/release/ipcbench"
  rc=$?
  cases=("${pipe_only[@]}")
  summary="$tmp/slow/summary.md"
  [ -f "$summary" ] || summary="$tmp/slow.out"
  confirmed=$(grep -o '^| `[^`]*` | [a-z0-9]* | .*REGRESSION, confirmed' "$summary" | cut -d'`' -f2 | sort -u | tr '\n' ' ')
  [ $rc -eq 1 ] && grep -q '## :x: ipcbench: [0-9]* regression(s), confirmed by a rerun' "$summary" \
    && [[ "$confirmed" == *"pingpong/shm_ring/size:64/capacity:16/wait:spin"* ]] \
    && [[ "$confirmed" == *"stream/shm_ring/size:64/capacity:16/wait:spin"* ]] \
    && ok || fail "slowed ring -> rc=$rc, confirmed: $confirmed: $(cat "$summary")"
  # Only the ring is slowed: a confirmed regression of pipe would be a false alarm.
  [[ "$confirmed" != *pipe* ]] && ok || fail "pipe confirmed as a regression: $confirmed"
  [ -s "$tmp/slow/rerun/head.json" ] && ok || fail "no rerun was measured"
fi

# --- 3. a regression in the first measurement only ------------------------------------------
if [ -x "$base_bin" ]; then
  against hook "$base_bin" BENCH_CI_TEST_SLOW_FIRST='^pingpong/pipe/size:64/.*wait:block=3'
  rc=$?
  s="$tmp/hook/summary.md"
  [ $rc -eq 0 ] && grep -q '1 flagged, none confirmed by its rerun' "$s" \
    && grep -q '^| `pingpong/pipe/size:64/capacity:16/wait:block` | p50 | .* → .* | [0-9.]*x slower (p .*) | .* → .* | .* | not confirmed |$' "$s" \
    && grep -q 'TEST HOOK' "$s" && grep -q 'REGRESSION |$' "$s" \
    && ok || fail "injected regression -> rc=$rc: $(cat "$s" "$tmp/hook.out")"
fi

# Nothing of the builds is left in the repository's worktree list.
[ -z "$(git -C "$root" worktree list | grep "$tmp")" ] && ok || fail "worktrees left: $(git -C "$root" worktree list)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
