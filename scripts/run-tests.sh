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
ctest --preset release
