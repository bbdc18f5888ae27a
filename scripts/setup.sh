#!/usr/bin/env bash
# Installs what ipcbench needs on Debian 12, only what is missing (apt-get update
# runs only when something must be installed). Idempotent; needs root or sudo.
set -euo pipefail

packages=(
  build-essential cmake git          # toolchain
  libbenchmark-dev libbenchmark-tools  # Google Benchmark and its compare.py
  libboost-dev                       # Boost.Interprocess (header-only)
  nlohmann-json3-dev                 # JSON
  libgtest-dev                       # tests
  libtirpc-dev rpcsvc-proto pkgconf  # ONC RPC: libtirpc, rpcgen, pkg-config to find them
  python3-matplotlib python3-scipy   # charts and statistics, for /usr/bin/python3
  clang libclang-rt-14-dev           # the fuzz test (libFuzzer; the runtime is only a Recommends of clang)
  clang-format                       # the format test: the checked-in .clang-format applied to all C++
  chromium                           # the plot test: report.html checked in a headless browser
  libzmq3-dev                        # zmq_ipc, zmq_tcp (libzmq 4.3)
  libnng-dev                         # nng_ipc (nng 1.5)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc  # grpc_unix, grpc_tcp
  libiceoryx-posh-dev iceoryx        # iceoryx: the library and the RouDi daemon
  libdbus-1-dev dbus-daemon          # dbus (a private dbus-daemon), dbus_p2p
  liburing-dev                       # uring_unix (liburing 2.3)
  ccache                             # the gate test's two builds of one tree share their objects
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
else
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# POSIX message queues are visible (and checkable for leaks) only where the mqueue
# filesystem is mounted; many containers and VMs do not mount it.
if [ -d /proc/sys/fs/mqueue ] && ! mountpoint -q /dev/mqueue 2>/dev/null; then
  $sudo mkdir -p /dev/mqueue && $sudo mount -t mqueue none /dev/mqueue 2>/dev/null \
    && echo "setup: mounted the mqueue filesystem on /dev/mqueue" \
    || echo "setup: could not mount /dev/mqueue (leak checks there will see nothing)"
fi
