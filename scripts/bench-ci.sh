#!/usr/bin/env bash
# The CI regression gate: install what is missing, build the head (Release), then
# measure and compare (scripts/bench_ci.py): against REF built and run beside it on
# this runner (--against REF), or against the committed baseline of this machine
# kind (results/baselines/<kind>.json). `scripts/bench-ci.sh --help` lists the options.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
for a in "$@"; do
  [ "$a" = "--" ] && break
  case "$a" in
    --no-build) build=0 ;;
    -h|--help) exec /usr/bin/python3 scripts/bench_ci.py --help ;;
  esac
done
if [ "$build" -eq 1 ]; then
  scripts/setup.sh
  cmake --preset release >/dev/null
  cmake --build --preset release --target ipcbench -j "$(nproc)"  # the gate needs no tests
fi
exec /usr/bin/python3 scripts/bench_ci.py "$@"
