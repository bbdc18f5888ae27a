#include "bench/presets.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "harness/capacity.hpp"

namespace ipcbench {

namespace {

constexpr std::size_t KiB = 1024, MiB = 1024 * 1024;

// The mechanisms whose capacity is a knob worth sweeping: the ring's slots, the pipe's
// F_SETPIPE_SZ, the sockets' SO_SNDBUF/SO_RCVBUF and the message queues' depth.
const std::vector<std::string_view> kCapacityMechanisms = {
    "shm_ring", "pipe", "unix_stream", "unix_seqpacket", "unix_dgram",
    "tcp",      "udp",  "posix_mq",    "sysv_msg",       "boost_mq"};
// From a rendezvous (0) through every power of two to the most the machine allows (max).
const std::vector<std::size_t> kCapacities0ToMax = {0,  1,   2,   4,   8,    16,          32,
                                                    64, 128, 256, 512, 1024, kCapacityMax};
// default's: a rendezvous, then powers of four from 1 (4 left out), at half the cases.
const std::vector<std::size_t> kCapacitiesBy4 = {0, 1, 16, 64, 256, 1024};
// Copy against zero-copy, past the main grid's 1 MiB: capacity 4 keeps a pingpong's two
// rings of 16 MiB slots within the 256 MiB channel limit.
const Grid kZeroCopySweep = {.name = "zero_copy",
                             .mechanisms = {"shm_ring", "shm_ring_zc"},
                             .families = {},
                             .patterns = {Pattern::pingpong, Pattern::stream},
                             .sizes = {64, 4 * KiB, 64 * KiB, 1 * MiB, 4 * MiB, 16 * MiB},
                             .capacities = {4},
                             .waits = {WaitMode::spin},
                             .rates_msgs_per_s = {},
                             .repetitions = 1,
                             .case_seconds = 0.1};
// Every wait mode of the ring side by side, with what each costs in CPU; and io_uring's
// submission polling (the main grid has its block and spin).
const Grid kWaitSweep = {
    .name = "wait",
    .mechanisms = {"shm_ring", "uring_unix"},
    .families = {},
    .patterns = {Pattern::pingpong, Pattern::stream},
    .sizes = {64},
    .capacities = {16},
    .waits = {WaitMode::spin, WaitMode::spin_yield, WaitMode::adaptive, WaitMode::block,
              WaitMode::eventfd, WaitMode::sem, WaitMode::sqpoll},
    .rates_msgs_per_s = {},
    .repetitions = 5,
    .case_seconds = 0.06};
// The kernel's mechanisms and what ipcbench builds on them itself (the rings, zero-copy,
// the memfd hybrid, io_uring): the main grid of quick and default, at every size. RPC
// frameworks and messaging libraries (ONC RPC, gRPC, ZeroMQ, nng, D-Bus, iceoryx:
// threads, daemons, start-up in tens of ms) run in the `libraries` sweep, at the sizes
// users choose them for and with fewer repetitions, so that both presets keep their
// time budget; full runs every mechanism in its main grid.
const std::vector<std::string_view> kKernelFamilies = {kFamilySharedMemory, kFamilyByteStream,
                                                       kFamilyMessage, kFamilyNetwork};
Grid libraries_sweep(std::vector<std::size_t> sizes, int repetitions, double case_seconds) {
  return {.name = "libraries",
          .mechanisms = {},
          .families = {kFamilyRpc, kFamilyLibrary},
          .patterns = {Pattern::pingpong, Pattern::stream},
          .sizes = std::move(sizes),
          .capacities = {16},
          .waits = {WaitMode::block, WaitMode::spin},
          .rates_msgs_per_s = {},
          .repetitions = repetitions,
          .case_seconds = case_seconds};
}
// Mechanisms made for a group (a multi-producer queue, broadcast) or for one question
// (the container boundary): quick and default run them in their own sweeps, not at
// every size of the main grid.
// A real-time signal carries at most 8 bytes, so `signal` has a sweep of its own at 8 B.
const std::vector<std::string_view> kOwnSweep = {
    "shm_mpsc", "shm_mpmc", "shm_broadcast", "udp_mcast", "tcp_netns", "udp_netns", "signal"};
// Fan-out, fan-in and competing consumers at 64 B against N, sleeping (with N + 1
// processes, polling needs N + 1 CPUs); every mechanism of the kernel families that
// supports the pattern.
Grid fan_sweep(std::vector<unsigned> counts, std::vector<std::string_view> families,
               int repetitions) {
  return {.name = "fan",
          .mechanisms = {},
          .families = std::move(families),
          .except = {"signal"},  // 8 bytes at most: no 64 B message
          .patterns = {Pattern::fanout, Pattern::fanin, Pattern::compete},
          .sizes = {64},
          .capacities = {16},
          .waits = {WaitMode::block},
          .rates_msgs_per_s = {},
          .repetitions = repetitions,
          .case_seconds = 0.05,
          .fan_counts = std::move(counts)};
}
// Pairs at once: how a shared-memory ring, a pipe, a socket and a message queue scale
// with cores (kernel locks and shared queues show here).
Grid pairs_sweep(std::vector<unsigned> pairs, int repetitions) {
  return {.name = "pairs",
          .mechanisms = {"shm_ring", "pipe", "unix_stream", "posix_mq"},
          .families = {},
          .patterns = {Pattern::pingpong, Pattern::stream},
          .sizes = {64},
          .capacities = {16},
          .waits = {WaitMode::block, WaitMode::spin},
          .rates_msgs_per_s = {},
          .repetitions = repetitions,
          .case_seconds = 0.05,
          .pairs = std::move(pairs)};
}
// The container boundary: TCP and UDP between two network namespaces against loopback.
Grid boundary_sweep(int repetitions) {
  return {.name = "boundary",
          .mechanisms = {"tcp", "tcp_netns", "udp", "udp_netns"},
          .families = {},
          .patterns = {Pattern::pingpong, Pattern::stream},
          .sizes = {64, 64 * KiB},
          .capacities = {16},
          .waits = {WaitMode::block, WaitMode::spin},
          .rates_msgs_per_s = {},
          .repetitions = repetitions,
          .case_seconds = 0.08};
}
// Signals that carry data against a pipe and a file, at 8 B: the most one real-time
// signal carries (mechanisms/signal.cpp).
Grid signal_sweep(int repetitions) {
  return {.name = "signal",
          .mechanisms = {"signal", "pipe", "file"},
          .families = {},
          .patterns = {Pattern::pingpong, Pattern::stream},
          .sizes = {8},
          .capacities = {16},
          .waits = {WaitMode::block, WaitMode::spin},
          .rates_msgs_per_s = {},
          .repetitions = repetitions,
          .case_seconds = 0.08};
}
const std::vector<std::uint64_t> kRates = {1'000,   3'000,     10'000,    30'000,    100'000,
                                           300'000, 1'000'000, 3'000'000, 10'000'000};

// default's and full's main grid: the mechanisms of `families` (every one when empty), both
// patterns and the two wait modes every mechanism has, capacity 16, five repetitions: five is the
// least at which `ipcbench compare` can call a change between two runs significant (5 against 5
// reach p = 0.008; 3 against 3 never get below 0.10). default's 0.08 s keeps its run within 5
// minutes on 2 vCPUs with 16 mechanisms in the main grid (each repetition costs about its case
// time x 1.25 for the warm-up, plus ~30 ms to fork and reap a pair).
Grid main_grid(std::vector<std::size_t> sizes, std::vector<std::string_view> families,
               std::vector<std::string_view> except, double case_seconds) {
  return {.name = "main",
          .mechanisms = {},
          .families = std::move(families),
          .except = std::move(except),
          .patterns = {Pattern::pingpong, Pattern::stream},
          .sizes = std::move(sizes),
          .capacities = {16},
          .waits = {WaitMode::block, WaitMode::spin},
          .rates_msgs_per_s = kRates,
          .repetitions = 5,
          .case_seconds = case_seconds};
}

const std::array<Preset, 3> kPresets = {{
    {.name = "quick",
     .about = "every mechanism, 64 B and 64 KiB, capacity 16, one repetition of 0.08 s per case: "
              "the kernel's in the main grid, RPC and messaging libraries in the libraries sweep; "
              "fan-out, fan-in and competing consumers at 2, the container boundary, and signals "
              "against a pipe and a file at 8 B in sweeps of their own (265 cases, about 27 s on "
              "2 vCPUs)",
     .main = {.name = "main",
              .mechanisms = {},
              .families = kKernelFamilies,
              .except = kOwnSweep,
              .patterns = {Pattern::pingpong, Pattern::stream},
              .sizes = {64, 64 * KiB},
              .capacities = {16},
              .waits = {WaitMode::block, WaitMode::spin},
              .rates_msgs_per_s = kRates,
              .repetitions = 1,
              .case_seconds = 0.08},
     .sweeps = {libraries_sweep({64, 64 * KiB}, 1, 0.08), fan_sweep({2}, kKernelFamilies, 1),
                boundary_sweep(1), signal_sweep(1)}},
    {.name = "default",
     .about =
         "the kernel's mechanisms (and the rings, io_uring and the memfd hybrid built on them), "
         "64 B to 1 MiB, capacity 16, five repetitions of 0.08 s per case; RPC and messaging "
         "libraries at 64 B, 4 KiB and 64 KiB, three repetitions; and sweeps of short points (a "
         "point on a curve is read against its neighbours): capacity from 0 (a rendezvous) in "
         "both wait modes (spinning shows the buffer alone, blocking adds the wake-ups it saves), "
         "rate in block mode, copy against zero-copy to 16 MiB, every ring wait mode and "
         "io_uring's sqpoll, fan-out, fan-in and competing consumers at 1, 2 and 4, 1 and 2 pairs "
         "at once, the container boundary, signals against a pipe and a file at 8 B (926 cases, "
         "about 4.7 min on 2 vCPUs)",
     .main = main_grid({64, 4 * KiB, 64 * KiB, 1 * MiB}, kKernelFamilies, kOwnSweep, 0.08),
     .sweeps = {{.name = "capacity",
                 .mechanisms = kCapacityMechanisms,
                 .families = {},
                 .patterns = {Pattern::stream},
                 .sizes = {64, 64 * KiB},
                 .capacities = kCapacitiesBy4,
                 .waits = {WaitMode::block, WaitMode::spin},
                 .rates_msgs_per_s = {},
                 .repetitions = 1,
                 .case_seconds = 0.04},
                {.name = "rate",
                 .mechanisms = {},
                 .families = kKernelFamilies,
                 .except = kOwnSweep,
                 .patterns = {Pattern::rate},
                 .sizes = {64},
                 .capacities = {16},
                 .waits = {WaitMode::block},
                 .rates_msgs_per_s = kRates,
                 .repetitions = 1,
                 .case_seconds = 0.08},
                libraries_sweep({64, 4 * KiB, 64 * KiB}, 3, 0.08),
                kZeroCopySweep,
                kWaitSweep,
                fan_sweep({1, 2, 4}, kKernelFamilies, 1),
                pairs_sweep({1, 2}, 1),
                boundary_sweep(2),
                signal_sweep(3)}},
    {.name = "full",
     .about =
         "every mechanism, 1 B to 16 MiB (where runnable), capacity 16, five repetitions of "
         "0.1 s per case; the capacity sweep from 0 to max (the most the kernel grants) and the "
         "rate sweep at more sizes and both wait modes, the zero_copy and wait sweeps as in "
         "default, fan-out, fan-in and competing consumers to 8 and up to 8 pairs at once, three "
         "repetitions each (3,183 cases, the longest preset: watch the ETA)",
     .main = main_grid({1, 64, 4 * KiB, 64 * KiB, 1 * MiB, 16 * MiB}, {}, {}, 0.1),
     .sweeps = {{.name = "capacity",
                 .mechanisms = kCapacityMechanisms,
                 .families = {},
                 .patterns = {Pattern::stream},
                 .sizes = {64, 4 * KiB, 64 * KiB, 1 * MiB},
                 .capacities = kCapacities0ToMax,
                 .waits = {WaitMode::block, WaitMode::spin},
                 .rates_msgs_per_s = {},
                 .repetitions = 1,
                 .case_seconds = 0.1},
                {.name = "rate",
                 .mechanisms = {},
                 .families = {},
                 .patterns = {Pattern::rate},
                 .sizes = {64, 4 * KiB},
                 .capacities = {16},
                 .waits = {WaitMode::block, WaitMode::spin},
                 .rates_msgs_per_s = kRates,
                 .repetitions = 1,
                 .case_seconds = 0.2},
                kZeroCopySweep,
                kWaitSweep,
                fan_sweep({1, 2, 3, 4, 8}, {}, 3),
                pairs_sweep({1, 2, 4, 8}, 3),
                signal_sweep(5)}},
}};
}  // namespace

bool grid_has(const Grid& g, const Mechanism& m) {
  const auto listed = [](const std::vector<std::string_view>& list, std::string_view v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  return listed(g.mechanisms, m.name) && listed(g.families, m.family) &&
         std::find(g.except.begin(), g.except.end(), m.name) == g.except.end();
}

std::span<const Preset> presets() { return kPresets; }

const Preset* find_preset(std::string_view name) {
  for (const Preset& p : kPresets) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const Grid* find_sweep(const Preset& preset, std::string_view name) {
  for (const Preset* p : {&preset, find_preset("default")}) {
    for (const Grid& g : p->sweeps) {
      if (g.name == name) return &g;
    }
  }
  return nullptr;
}

std::string preset_names() {
  std::string out;
  for (const Preset& p : kPresets) out += (out.empty() ? "" : ", ") + std::string(p.name);
  return out;
}

std::string sweep_names() {
  std::vector<std::string_view> names;
  for (const Preset& p : kPresets) {
    for (const Grid& g : p.sweeps) {
      if (std::find(names.begin(), names.end(), g.name) == names.end()) names.push_back(g.name);
    }
  }
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

}  // namespace ipcbench
