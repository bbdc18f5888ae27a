#include "harness/environment.hpp"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "build_info.hpp"
#include "git_commit.hpp"
#include "harness/clock.hpp"
#include "harness/message.hpp"

namespace ipcbench {
namespace {

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

double measure_checksum_ns_per_kib() {
  constexpr std::size_t kBytes = 64 * 1024;
  AlignedBuffer buf(kBytes);
  for (std::size_t i = 0; i < kBytes; ++i) buf.data()[i] = static_cast<std::byte>(i * 131);
  std::uint64_t sink = checksum(buf.span());  // warm
  std::array<double, 9> runs{};
  for (double& r : runs) {
    const std::uint64_t t0 = now_ns();
    for (int i = 0; i < 20; ++i) sink += checksum(buf.span());
    r = static_cast<double>(now_ns() - t0) / 20 / (kBytes / 1024.0);
  }
  asm volatile("" : : "r"(sink));
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

}  // namespace

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  return cpus;
}

HarnessCosts measure_harness_costs() {
  return {.timer_ns = measure_timer_cost_ns(), .checksum_ns_per_kib = measure_checksum_ns_per_kib()};
}

nlohmann::json capture_environment(const std::array<int, 2>& cpus, const HarnessCosts& costs,
                                   bool verify) {
  utsname u{};
  ::uname(&u);
  nlohmann::json env;
  env["ipcbench_version"] = build::kVersion;
  env["git_commit"] = build::kGitCommit;
  env["build_type"] = build::kBuildType;
  env["compiler"] = build::kCompiler;
  env["cxx_flags"] = build::kCxxFlags;
  env["sanitizers"] = build::kSanitize;
  env["kernel"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
  env["cpu_model"] = cpu_model();
  env["cpus_online"] = read_line("/sys/devices/system/cpu/online");
  env["clocksource"] = read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string governor = read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  env["cpu_governor"] = governor.empty() ? "unavailable" : governor;
  env["cpu_pinning"] = {cpus[0], cpus[1]};
  std::string siblings;
  if (cpus[0] >= 0) siblings = read_line("/sys/devices/system/cpu/cpu" + std::to_string(cpus[0]) + "/topology/thread_siblings_list");
  env["cpu_a_thread_siblings"] = siblings;
  env["timer"] = "clock_gettime(CLOCK_MONOTONIC)";
  env["timer_ns"] = costs.timer_ns;
  env["verification"] = verify ? "sequence+checksum" : "sequence only";
  env["checksum_ns_per_kib"] = costs.checksum_ns_per_kib;
  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  env["load_avg_1min"] = load[0];
  env["incomplete"] = false;
  return env;
}

std::vector<std::string> noise_warnings(const nlohmann::json& env) {
  std::vector<std::string> w;
  const std::string build = env.value("build_type", "");
  if (build != "Release") w.push_back("build type is " + build + ": timings include unoptimised code; configure with -DCMAKE_BUILD_TYPE=Release");
  if (!env.value("sanitizers", std::string()).empty()) w.push_back("sanitizers are on: timings are not representative");
  const std::string gov = env.value("cpu_governor", "");
  if (gov != "performance" && gov != "unavailable") w.push_back("CPU governor is '" + gov + "': frequency scaling adds noise; try 'cpupower frequency-set -g performance'");
  const auto& pin = env["cpu_pinning"];
  if (pin[0] == pin[1]) w.push_back("both sides pinned to CPU " + pin[0].dump() + ": they share one core and spinning cases will crawl");
  const std::string sib = env.value("cpu_a_thread_siblings", "");
  if (pin[1].get<int>() >= 0 && pin[0] != pin[1] && !sib.empty()) {
    std::stringstream ss(sib);
    for (std::string part; std::getline(ss, part, ',');) {
      if (part == pin[1].dump()) w.push_back("CPUs " + pin[0].dump() + " and " + pin[1].dump() + " are SMT siblings of one core: latency will be lower and throughput lower than across cores");
    }
  }
  const double load = env.value("load_avg_1min", 0.0);
  if (load > 0.5) w.push_back("load average is " + std::to_string(load).substr(0, 4) + ": other processes compete for the CPUs");
  return w;
}

}  // namespace ipcbench
