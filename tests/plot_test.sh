#!/usr/bin/env bash
# Smoke test for plots/plot.py. Usage: plot_test.sh REPO_ROOT
# Exit 0 on success, 77 (skip) when /usr/bin/python3 has no matplotlib, else failure.
set -euo pipefail

root=${1:?usage: plot_test.sh REPO_ROOT}
py=/usr/bin/python3
plot="$root/plots/plot.py"

if ! "$py" -c 'import matplotlib' 2>/dev/null; then
  echo "plot_test: $py cannot import matplotlib; skipping"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "plot_test: FAIL: $*" >&2; exit 1; }

# 1. The sample results produce every chart as PNG and SVG, plus not_run.txt.
out="$tmp/out"
"$py" "$plot" "$root/tests/data/sample_results.json" --out "$out" >"$tmp/stdout" \
  || fail "plot.py exited $? on the sample results"
for chart in latency_vs_size throughput_vs_size stream_latency_vs_size; do
  for ext in png svg; do
    [[ -s "$out/$chart.$ext" ]] || fail "$chart.$ext missing or empty"
    grep -qxF "$out/$chart.$ext" "$tmp/stdout" || fail "$chart.$ext not printed on stdout"
  done
done
[[ -f "$out/not_run.txt" ]] || fail "not_run.txt missing"

# 2. Bad input: exit status 2 and exactly one stderr line starting "plot.py:".
expect_bad_input() {  # $1 = description, $2 = results path
  local rc=0
  "$py" "$plot" "$2" --out "$tmp/bad" >/dev/null 2>"$tmp/stderr" || rc=$?
  [[ $rc -eq 2 ]] || fail "$1: exit status $rc, expected 2"
  [[ $(wc -l <"$tmp/stderr") -eq 1 ]] || fail "$1: stderr is not one line: $(cat "$tmp/stderr")"
  grep -q '^plot\.py: ' "$tmp/stderr" || fail "$1: stderr does not start with 'plot.py: '"
}
printf '{"benchmarks": [' >"$tmp/malformed.json"
expect_bad_input "malformed JSON" "$tmp/malformed.json"
expect_bad_input "missing file" "$tmp/does_not_exist.json"

echo "plot_test: ok"
