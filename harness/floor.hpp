#pragma once
// The floor: what the hardware allows on the two CPUs of the run, measured in the
// same run, so that every result can be read as "N x the floor".
//
// - cache-line round trip: two processes pinned to the run's CPUs pass a counter in
//   one shared cache line back and forth, timed in batches so the clock is not in the
//   loop. The latency floor for anything that spins.
// - cache-line pair round trip: the same with one line per direction, as in any
//   pingpong over two one-way channels (a ring each way). On many machines a line that
//   is read and then written by the same core migrates in one transfer, so one shared
//   line is markedly cheaper than two: this is the floor such designs can reach.
// - wake-up round trip: the same with a futex wait/wake per hand-over, each trip timed
//   (a median of single trips, like a case's p50). The latency floor for anything that
//   sleeps in the kernel.
// - memcpy bandwidth at each message size (one core, warm buffers): the bandwidth
//   floor for anything that copies.
// - a clock read and a trivial system call.
// The cache-line round trip is measured again after the suite: when the two figures
// differ by more than kDriftLimit the CPUs likely moved between near and far cores
// (common on VMs), and the run says so.
#include <array>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ipcbench {

inline constexpr double kDriftLimit = 0.25;

struct Floors {
  double cacheline_rtt_ns = 0;       // 0: not measured (both sides on one CPU)
  double cacheline_pair_rtt_ns = 0;  // one line per direction; 0 as above
  double wake_rtt_ns = 0;
  double clock_ns = 0;
  double syscall_ns = 0;
  std::map<std::size_t, double> memcpy_bytes_per_s;  // by message size
  // A floor whose processes hung or died: left at 0 (written as null), and why.
  std::vector<std::string> errors;
};

// Median round trip of a counter passed through one shared cache line between two
// processes pinned to cpus (about 0.1 s). The two-process floors throw when a process
// hangs (20 s) or dies.
double measure_cacheline_rtt_ns(const std::array<int, 2>& cpus);
// The same with one cache line per direction.
double measure_cacheline_pair_rtt_ns(const std::array<int, 2>& cpus);
// Median single round trip of a futex wait/wake hand-over between the two CPUs.
double measure_wake_rtt_ns(const std::array<int, 2>& cpus);
// Median single-core memcpy bandwidth at `bytes` per copy, warm buffers.
double measure_memcpy_bytes_per_s(std::size_t bytes);
// Median cost of a trivial system call (getppid, not cached by libc).
double measure_syscall_ns();

Floors measure_floors(const std::array<int, 2>& cpus, const std::vector<std::size_t>& sizes,
                      double clock_ns);

// The floors as context keys (floor_cacheline_rtt_ns, ...).
void add_floors_to_context(const Floors& f, nlohmann::json& env);

// After the suite: measures the cache-line and wake-up round trips again and adds them
// to the context (floor_cacheline_rtt_ns_after, floor_drift, placement_drift,
// floor_wake_rtt_ns_after). A drift of the cache-line round trip past kDriftLimit, or a
// floor whose processes hung or died, is a warning on stderr and in env["warnings"]
// (the results are written all the same). Measures nothing once `stop()` is true (an
// interrupted run), checked before each floor.
void recheck_floors(const Floors& before, const std::array<int, 2>& cpus, bool (*stop)() noexcept,
                    nlohmann::json& env);

}  // namespace ipcbench
