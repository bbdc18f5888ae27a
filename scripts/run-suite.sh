#!/usr/bin/env bash
# The README's first command: install what is missing, build (Release), run the
# default suite, draw the charts. Extra arguments go to `ipcbench run`
# (e.g. --preset quick).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"

out="results/$(date +%Y-%m-%dT%H-%M-%S).json"
status=0
./build/release/ipcbench run --out "$out" "$@" || status=$?
# 1 = some case failed: the results are still written and worth drawing.
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ] && [ "$status" -ne 130 ]; then exit "$status"; fi
/usr/bin/python3 plots/plot.py "$out" --out "plots/out/$(basename "$out" .json)"
exit "$status"
