#pragma once
// What a result file needs to explain itself: the machine, the kernel, the build,
// the pinning and the measured costs of the harness's own tools. Google Benchmark's
// context (host, CPUs, caches, load average) is kept; these keys are added to it.
#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ipcbench {

struct HarnessCosts {
  double timer_ns = 0;             // one now_ns() call
  double checksum_ns_per_kib = 0;  // payload verification, per KiB received
};

// Measures the harness's own costs on this machine (about 50 ms).
HarnessCosts measure_harness_costs();

nlohmann::json capture_environment(const std::array<int, 2>& cpus, const HarnessCosts& costs,
                                   bool verify);

// Conditions that make timings noisy or unrepresentative, each with a remedy
// (nanobench-style): a debug or sanitizer build, a power-saving governor, other
// processes busy on the pinned CPUs just before the run, both sides on one core or
// on SMT siblings.
std::vector<std::string> noise_warnings(const nlohmann::json& env);

// CPUs this process may run on, in order.
std::vector<int> allowed_cpus();

}  // namespace ipcbench
