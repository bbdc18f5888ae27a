#!/usr/bin/env bash
# Every C++ file of ours is formatted as the checked-in .clang-format says: a change
# that is not fails here with the files and the command that fixes them.
#   format_test.sh SOURCE_DIR
set -uo pipefail
cd "$1" || exit 2
command -v clang-format >/dev/null || { echo "format_test: clang-format not installed (scripts/setup.sh installs it)"; exit 77; }
mapfile -t files < <(find bench harness mechanisms tests -name '*.cpp' -o -name '*.hpp' | grep -v '/data/' | sort)
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "format_test: ${#bad[@]} of ${#files[@]} files are not clang-formatted:"
  printf '  %s\n' "${bad[@]}"
  echo "fix: clang-format -i ${bad[*]}"
  exit 1
fi
echo "format_test: ${#files[@]} files formatted ($(clang-format --version | head -1))"
