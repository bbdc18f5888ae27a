#!/usr/bin/env bash
# ctest compare_reader_fuzz: runs the libFuzzer target on the results reader for a
# bounded time (IPCBENCH_FUZZ_SECONDS, default 25) from the hand-made seeds and
# tests/data. Fails on any crash, leak, undefined behaviour, timeout (10 s per input)
# or memory blow-up (2 GiB); the input that did it is kept in ARTIFACTS (crash-*,
# leak-*, ...) to reproduce with `FUZZER ARTIFACTS/crash-...`. Exits 77 (skipped)
# when configure found no clang++ with -fsanitize=fuzzer.
# Usage: run_fuzz.sh FUZZER SOURCE_DIR ARTIFACTS
set -euo pipefail
fuzzer=${1:-}
src=${2:?usage: run_fuzz.sh FUZZER SOURCE_DIR ARTIFACTS}
artifacts=${3:?usage: run_fuzz.sh FUZZER SOURCE_DIR ARTIFACTS}
if [ -z "$fuzzer" ] || [ ! -x "$fuzzer" ]; then
  echo "compare_reader_fuzz: no clang++ with -fsanitize=fuzzer when CMake configured" \
       "(scripts/setup.sh installs clang and libclang-rt-14-dev; then reconfigure); skipping"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
# The first directory collects the inputs that found new coverage (thrown away);
# -max_len bounds an input (a results excerpt fits; tests/data's sample is cut to it).
"$fuzzer" -max_total_time="${IPCBENCH_FUZZ_SECONDS:-25}" -rss_limit_mb=2048 -timeout=10 -max_len=16384 \
  -dict="$src/tests/fuzz/json.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
  "$work" "$src/tests/fuzz/seeds" "$src/tests/data"
