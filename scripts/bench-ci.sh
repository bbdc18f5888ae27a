#!/usr/bin/env bash
# The CI regression gate: install what is missing, build (Release), then run the
# quick suite, compare it against results/baseline.json, summarise, record and draw
# (scripts/bench_ci.py). `scripts/bench-ci.sh --help` lists the options;
# `scripts/bench-ci.sh --refresh-baseline` rewrites the baseline.
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
  cmake --build --preset release -j "$(nproc)"
fi
exec /usr/bin/python3 scripts/bench_ci.py "$@"
