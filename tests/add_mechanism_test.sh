#!/usr/bin/env bash
# Proves docs/adding-a-mechanism.md: a copy of mechanisms/pipe.cpp with its identifiers
# renamed, and nothing else, shows up in `ipcbench list` (in its order's place) and in
# the conformance suite; and a copy that keeps another's name stops the program at
# start-up with that reason.
#
# The source tree is copied to a temporary directory with the new file and configured
# afresh (the same build type and flags as BUILD_DIR), so CMake has to find the file by
# itself. To keep this quick, only the new file is compiled there; the other objects
# and libraries are BUILD_DIR's (symbolic links), and ipcbench and ipcbench_tests are
# linked with the commands CMake generated for the copy, which name its objects.
# Needs CMake's Makefile generator (its link.txt files); skipped otherwise.
# Usage: add_mechanism_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$(realpath "$1")
main_build=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$main_build/CMakeCache.txt"; }
if [ "$(cache_value CMAKE_GENERATOR)" != "Unix Makefiles" ]; then
  echo "skipped: needs a Unix Makefiles build (link.txt), not $(cache_value CMAKE_GENERATOR)"
  exit 77
fi

# 1. The copy: the source tree without builds, plus one renamed file.
mkdir "$tmp/src" "$tmp/build"
tar -C "$src" --exclude=./build --exclude=./.git -cf - . | tar -C "$tmp/src" -xf -
# Usage: copy_pipe NEW_FILE NAME CLASS_PREFIX ORDER
copy_pipe() {
  sed -e "s/\.name = \"pipe\"/.name = \"$2\"/" \
      -e "s/\.order = 200,/.order = $4,/" \
      -e "s/\bPipe\([A-Z][A-Za-z]*\)\b/$3\1/g" \
      -e "s/\bkPipe\(Registration\)\?\b/k$3\1/g" \
      -e "s/\bmake_pipe\b/make_$2/g" \
      "$tmp/src/mechanisms/pipe.cpp" >"$tmp/src/mechanisms/$1"
  # pipe.cpp must still have the shape this test renames.
  grep -q "\.name = \"$2\"" "$tmp/src/mechanisms/$1"
  grep -q "\.order = $4," "$tmp/src/mechanisms/$1"
  grep -q "create_channel<$3Channel>" "$tmp/src/mechanisms/$1"
}
copy_pipe pipe_copy.cpp pipe_copy PipeCopy 205

# 2. Configure the copy as BUILD_DIR was, compile the new file alone.
configure() {
  cmake -S "$tmp/src" -B "$tmp/build" -G "Unix Makefiles" \
    -DCMAKE_BUILD_TYPE="$(cache_value CMAKE_BUILD_TYPE)" \
    -DCMAKE_CXX_COMPILER="$(cache_value CMAKE_CXX_COMPILER)" \
    -DCMAKE_C_COMPILER="$(cache_value CMAKE_C_COMPILER)" \
    -DCMAKE_CXX_FLAGS="$(cache_value CMAKE_CXX_FLAGS)" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$(cache_value CMAKE_CXX_FLAGS_RELWITHDEBINFO)" \
    -DIPCBENCH_SANITIZE="$(cache_value IPCBENCH_SANITIZE)" \
    -DIPCBENCH_FUZZ_WORKS=OFF >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; exit 1; }
}
configure
compile() {  # the rule exists only if CMake picked the file up
  make -C "$tmp/build" "mechanisms/$1.o" >"$tmp/compile.log" 2>&1 || { cat "$tmp/compile.log"; exit 1; }
}
compile pipe_copy.cpp

# 3. Link with BUILD_DIR's other objects, by the copy's own link commands.
(cd "$main_build" && find . -name '*.o' -o -name '*.a') |
  while read -r f; do
    [ -e "$tmp/build/$f" ] && continue
    mkdir -p "$tmp/build/$(dirname "$f")"
    ln -s "$main_build/$f" "$tmp/build/$f"
  done
link() {  # link TARGET_DIR TARGET
  (cd "$tmp/build/$1" && bash -e "CMakeFiles/$2.dir/link.txt") >"$tmp/link.log" 2>&1 ||
    { cat "$tmp/link.log"; exit 1; }
}
link . ipcbench
link tests ipcbench_tests
grep -q pipe_copy.cpp.o "$tmp/build/tests/CMakeFiles/ipcbench_tests.dir/link.txt"

# 4. list: pipe_copy between pipe (200) and fifo (210); everything else as before.
names() { "$1" list | awk 'NR > 1 { print $1 }'; }
expected=$(names "$main_build/ipcbench" | sed 's/^pipe$/pipe\npipe_copy/')
got=$(names "$tmp/build/ipcbench")
if [ "$got" != "$expected" ]; then
  echo "FAIL: ipcbench list with pipe_copy.cpp:"
  diff <(echo "$expected") <(echo "$got") || true
  exit 1
fi

# 5. The conformance suite runs pipe_copy's cases, and they pass.
(cd "$tmp/build/tests" && ./ipcbench_tests --gtest_filter='*pipe_copy*' >"$tmp/gtest.log" 2>&1) ||
  { tail -n 40 "$tmp/gtest.log"; echo "FAIL: pipe_copy's conformance cases"; exit 1; }
ran=$(sed -n 's/^\[==========\] \([0-9]*\) tests\? from .* ran\..*/\1/p' "$tmp/gtest.log")
if [ -z "$ran" ] || [ "$ran" -eq 0 ]; then
  tail -n 20 "$tmp/gtest.log"
  echo "FAIL: no conformance case ran for pipe_copy"
  exit 1
fi

# 6. A copy that keeps the name "pipe": a clear error at start-up, not a silent pick.
ulimit -c 0  # its abort leaves no core file behind
copy_pipe pipe_twin.cpp pipe PipeTwin 206
configure
compile pipe_twin.cpp
link . ipcbench
if ("$tmp/build/ipcbench" list >"$tmp/twin.out" 2>&1; exit $?) 2>/dev/null; then  # no "Aborted" line
  echo "FAIL: two mechanisms named pipe were accepted"
  exit 1
fi
cat "$tmp/twin.out"
grep -q 'two mechanisms are named "pipe"' "$tmp/twin.out" ||
  { cat "$tmp/twin.out"; echo "FAIL: the start-up error does not name the duplicate"; exit 1; }

echo "ok: pipe_copy listed after pipe, $ran conformance cases passed; a duplicate name stops start-up"
