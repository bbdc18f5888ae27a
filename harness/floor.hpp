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
// A floor is a minimum, and a reading taken while another process is busy on the run's
// CPUs is too high. So the round trips and memcpy are read more than once: before the
// suite, between cases (measure_floors_again), and after it; each keeps every reading and
// the best stable one (stable_minimum, stable_maximum), and a reading far from the
// kept one (kRemeasureSpread) is taken again at once. The model every case is read
// against (pingpong_floor_rtt_ns, kFloorModel) is docs/floors.md.
#include <array>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ipcbench {

inline constexpr double kDriftLimit = 0.25;
// Two readings within this share of each other confirm each other.
inline constexpr double kStableSpread = 0.10;
// A reading this far from the kept floor (or readings with no confirmed pair) are
// measured again at once, up to kMaxReadingsPerCheck readings per check.
inline constexpr double kRemeasureSpread = 0.25;
inline constexpr int kMaxReadingsPerCheck = 4;
// A polling case under this many times its floor beat the hardware: its floor was read
// while the CPUs were busy (contaminated), and is measured again.
inline constexpr double kMinPollingXFloor = 0.9;

// What every x_floor is read against, as written to context.floor_model.
inline constexpr const char* kFloorModel =
    "pingpong: round trip / (cache-line round trip (polling) or wake-up round trip "
    "(sleeping) + 2 x size / memcpy_bytes_per_s at that size); x_floor_pair the same with "
    "the cache-line pair round trip; stream: memcpy_bytes_per_s at that size / bytes_per_s; "
    "each floor the best stable reading of the run (see *_readings)";

// Every reading of each floor in the run, in the order taken (0: a reading that failed
// is not kept).
struct FloorReadings {
  std::vector<double> cacheline_rtt_ns;
  std::vector<double> cacheline_pair_rtt_ns;
  std::vector<double> wake_rtt_ns;
  std::map<std::size_t, std::vector<double>> memcpy_bytes_per_s;
};

struct Floors {
  double cacheline_rtt_ns = 0;       // 0: not measured (both sides on one CPU)
  double cacheline_pair_rtt_ns = 0;  // one line per direction; 0 as above
  double wake_rtt_ns = 0;
  double clock_ns = 0;
  double syscall_ns = 0;
  std::map<std::size_t, double> memcpy_bytes_per_s;  // by message size
  // A floor whose processes hung or died: left at 0 (written as null), and why.
  std::vector<std::string> errors;
  FloorReadings readings;
};

// The floor kept from a round trip's readings: the lowest reading that another one
// confirms (within kStableSpread), else the lowest; 0 when there is none. Non-positive
// readings are ignored.
double stable_minimum(const std::vector<double>& readings);
// The same for a bandwidth: the highest confirmed reading, else the highest.
double stable_maximum(const std::vector<double>& readings);
// True when the readings call for another right away: fewer than two, the kept floor
// not confirmed by another, the latest under the kept floor (to confirm it or not), or
// the latest more than kRemeasureSpread from the kept floor.
bool needs_another_reading(const std::vector<double>& readings);

// The model: the least round trip a pingpong of msg_bytes can take on these floors,
// the latency floor (cache line when polling, wake-up when sleeping) plus the message
// copied once each way at the run's memcpy bandwidth at that size. 0 when the latency
// floor was not measured; without a memcpy figure at that size, the latency floor alone.
// Inline: compare (and its fuzz target, built without the floor code) reads it too.
inline double pingpong_floor_rtt_ns(const Floors& f, bool polling, std::size_t msg_bytes) {
  const double latency_ns = polling ? f.cacheline_rtt_ns : f.wake_rtt_ns;
  if (!(latency_ns > 0)) return 0;
  const auto bw = f.memcpy_bytes_per_s.find(msg_bytes);
  const double copy_ns = bw != f.memcpy_bytes_per_s.end() && bw->second > 0
                             ? static_cast<double>(msg_bytes) / bw->second * 1e9
                             : 0;
  return latency_ns + 2 * copy_ns;  // the message crosses once each way
}
// The same against the cache-line pair round trip (polling only); 0 when not measured.
double pingpong_pair_floor_rtt_ns(const Floors& f, std::size_t msg_bytes);

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

// Another reading of each round trip measured so far (taken again while
// needs_another_reading) and of memcpy at each size; the kept floors follow. A floor
// whose processes hang or die is reported in `errors` and keeps its readings.
void measure_floors_again(Floors& f, const std::array<int, 2>& cpus,
                          std::vector<std::string>& errors);

// The floors as context keys: the kept floors (floor_cacheline_rtt_ns, ...), every
// reading (floor_cacheline_rtt_ns_readings, ...) and floor_model.
void add_floors_to_context(const Floors& f, nlohmann::json& env);
// The kept floors back from those keys (readings are not read): what a results file's
// ratios are derived from.
Floors floors_from_context(const nlohmann::json& env);

// After the suite: measures the floors again (measure_floors_again), adds the first
// reading of each round trip after the suite to the context (floor_cacheline_rtt_ns_after,
// floor_wake_rtt_ns_after) with floor_drift and placement_drift (that reading against
// the kept floor), and the floors with every reading (add_floors_to_context). A drift
// past kDriftLimit, or a floor whose processes hung or died, is a warning on stderr and
// in env["warnings"] (the results are written all the same). Measures nothing once
// `stop()` is true (an interrupted run).
void recheck_floors(Floors& floors, const std::array<int, 2>& cpus, bool (*stop)() noexcept,
                    nlohmann::json& env);

}  // namespace ipcbench
