#pragma once
// The suite: the cases a run consists of, and their registration with Google
// Benchmark. Each case is one benchmark with a fixed single iteration and manual
// time: the iteration runs one fresh process pair (run_pair) and reports what the
// pair measured; GB's repetitions give a fresh pair per repetition.
#include <array>
#include <string>
#include <vector>

#include "harness/floor.hpp"
#include "harness/pair.hpp"

namespace ipcbench {

struct RunPlan {
  std::vector<const Mechanism*> mechanisms;
  std::vector<Pattern> patterns;
  std::vector<std::size_t> sizes;
  std::vector<std::size_t> capacities;
  std::vector<WaitMode> waits;
  Backing backing = Backing::posix_shm;  // one per run, for shared-memory mechanisms
  std::array<int, 2> cpus{-1, -1};
  int repetitions = 1;
  double case_seconds = 0.2;
  std::uint64_t fixed_msgs = 0;
  double timeout_seconds = 30;
  bool verify = true;
};

struct Case {
  std::string name;  // pattern/mechanism/size:N/capacity:N/wait:W
  PairSpec spec;
};

// Every combination the plan asks for that the mechanism supports (a mechanism
// without a wait mode or pattern simply has no such case; sizes and capacities a
// mechanism cannot run stay in the suite and report why).
std::vector<Case> plan_cases(const RunPlan& plan, double timer_cost_ns, std::uint64_t seed);

// Registers each case with Google Benchmark. Results are also read against `floors`
// (x_floor, x_floor_bw), which must outlive the run.
void register_cases(const std::vector<Case>& cases, const Floors& floors);

}  // namespace ipcbench
