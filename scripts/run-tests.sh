#!/usr/bin/env bash
# The README's second command (and CI's): install what is missing, build, run every
# test through ctest. Tests check correctness, never speed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
# Serial on purpose: the leak tests compare /dev/shm and friends before and after,
# and the pair tests pin two processes to the two CPUs.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
ctest --preset release 2>&1 | tee "$log" || status=$?
# ctest lists skipped tests after its summary; end with one plain closing line.
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
  total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$summary")
  skipped=$(grep -cE '\(Skipped\)$' "$log" || true)
  echo "$((total - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit "$status"
