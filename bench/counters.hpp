#pragma once
// What one repetition of a case reports: the figures a pair measured (PairResult),
// read against the case (PairSpec) and the run's floors, as the counters and label
// Google Benchmark writes to the JSON file. Pure: no I/O, no processes, no clock, so
// it is tested with hand-built results (tests/counters_test.cpp). The suite
// (bench/suite.cpp) only runs the pair and hands what this returns to GB.
//
// Counters, all in the unit their name says (one-way latency: pingpong halves each
// round trip):
//   p50_ns p90_ns p99_ns p999_ns p9999_ns max_ns latency_samples   (latency measured)
//   msgs_per_s bytes_per_s capacity_effective capacity_bytes verified errors
//   lost_msgs measured_msgs                                         (always)
//   loss_ratio                              (a mechanism that may lose messages)
//   cpu_ns_per_msg_{tx,rx} cpu_sys_ns_per_msg_{tx,rx}   (a side's window held messages)
//   p50_batched_ns x_floor x_floor_pair      (pingpong; a ratio when its floor was measured,
//                                            against pingpong_floor_rtt_ns at this size)
//   offered_msgs_per_s late_send_ratio max_send_lag_ns mean_send_lag_ns saturated (rate)
//   x_floor_bw                                  (stream, memcpy floor at this size)
//   stamp_stride verify_ns_per_msg                      (stream and rate)
// A latency, CPU or floor figure that was not measured is left out, not written as 0.
#include <cstdint>
#include <map>
#include <string>

#include "harness/floor.hpp"
#include "harness/pair.hpp"

namespace ipcbench {

// What the series of rate cases of one mechanism, size, capacity and wait mode has
// shown so far. GB runs cases in registration order, so a series's rates arrive in
// increasing order.
struct RateSeries {
  std::uint64_t base_rate = 0;     // the lowest rate that ran unsaturated
  double base_p50_ns = 0;          // its p50
  std::uint64_t saturated_at = 0;  // 0: not saturated yet
  std::string why{};               // what saturation looked like
};

struct CaseCounters {
  // Not empty: the repetition has no figures, and this is its skip-with-error text
  // ("not runnable: ...", or the failure). Counters and label are then empty.
  std::string error;
  // The pair failed (not merely not runnable or interrupted): the case's remaining
  // repetitions are not run.
  bool failed = false;
  double iteration_seconds = 0;  // GB's manual time: one-way seconds per message
  std::map<std::string, double> counters;
  std::string label;  // "" : none
  // Rate: why this rate saturated the series; "" when it did not.
  std::string saturated_why;
};

// The counters of one repetition. `series` is what the case's rate series has shown
// before this rate (ignored unless spec's pattern is rate).
CaseCounters counters_for(const PairSpec& spec, const PairResult& result, const Floors& floors,
                          const RateSeries& series = {});

// A polling pingpong whose x_floor is under kMinPollingXFloor beat the hardware: the
// floor it was read against was measured while the CPUs were busy. Then what to warn
// (the case, its round trip and the floor), else "".
std::string floor_contamination(const std::string& case_name, const PairSpec& spec,
                                const CaseCounters& counters, const Floors& floors);

// Rate: records one rate's counters in its series: the first saturated rate stops the
// series (saturated_at, why); the first unsaturated rate with a latency becomes the
// base the later rates' p50s are read against.
void note_rate(RateSeries& series, std::uint64_t offered_msgs_per_s, const CaseCounters& counters);

}  // namespace ipcbench
