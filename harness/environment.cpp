#include "harness/environment.hpp"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "build_info.hpp"
#include "git_commit.hpp"
#include "harness/clock.hpp"
#include "harness/message.hpp"
#include "harness/stats.hpp"

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
  std::vector<double> runs(9);
  for (double& r : runs) {
    const std::uint64_t t0 = now_ns();
    for (int i = 0; i < 20; ++i) sink += checksum(buf.span());
    r = static_cast<double>(now_ns() - t0) / 20 / (kBytes / 1024.0);
  }
  asm volatile("" : : "r"(sink));
  return median(runs);
}

// Busy and total jiffies of one CPU from /proc/stat.
std::pair<std::uint64_t, std::uint64_t> cpu_jiffies(int cpu) {
  std::ifstream in("/proc/stat");
  const std::string want = "cpu" + std::to_string(cpu) + " ";
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(want)) continue;
    std::istringstream fields(line.substr(want.size()));
    std::uint64_t v[8] = {}, total = 0;
    for (std::uint64_t& x : v) {
      fields >> x;
      total += x;
    }
    const std::uint64_t idle = v[3] + v[4];  // idle + iowait
    return {total - idle, total};
  }
  return {0, 0};
}

// Share of each CPU that other processes kept busy over `window_ms`, while this
// process sleeps: load that will compete with the pair.
std::vector<double> measure_cpu_busy(const std::array<int, 2>& cpus, int window_ms) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> before;
  for (int c : cpus) before.push_back(cpu_jiffies(c));
  ::usleep(static_cast<useconds_t>(window_ms) * 1000);
  std::vector<double> busy;
  for (std::size_t i = 0; i < cpus.size(); ++i) {
    const auto after = cpu_jiffies(cpus[i]);
    const double total = static_cast<double>(after.second - before[i].second);
    busy.push_back(total > 0 ? static_cast<double>(after.first - before[i].first) / total : 0.0);
  }
  return busy;
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
  return {.timer_ns = measure_timer_cost_ns(),
          .checksum_ns_per_kib = measure_checksum_ns_per_kib()};
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
  env["clocksource"] =
      read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string governor = read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  env["cpu_governor"] = governor.empty() ? "unavailable" : governor;
  env["cpu_pinning"] = {cpus[0], cpus[1]};
  std::string siblings;
  if (cpus[0] >= 0)
    siblings = read_line("/sys/devices/system/cpu/cpu" + std::to_string(cpus[0]) +
                         "/topology/thread_siblings_list");
  env["cpu_a_thread_siblings"] = siblings;
  env["timer"] = "clock_gettime(CLOCK_MONOTONIC)";
  env["timer_ns"] = costs.timer_ns;
  env["verification"] = verify ? "sequence+checksum" : "sequence only";
  env["checksum_ns_per_kib"] = costs.checksum_ns_per_kib;
  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  env["load_avg_1min"] = load[0];
  env["cpu_busy_before_run"] = measure_cpu_busy(cpus, 250);
  env["incomplete"] = false;
  return env;
}

std::vector<std::string> noise_warnings(const nlohmann::json& env) {
  std::vector<std::string> w;
  const std::string build = env.value("build_type", "");
  if (build != "Release")
    w.push_back("build type is " + build +
                ": timings include unoptimised code; configure with -DCMAKE_BUILD_TYPE=Release");
  if (!env.value("sanitizers", std::string()).empty())
    w.push_back("sanitizers are on: timings are not representative");
  const std::string gov = env.value("cpu_governor", "");
  if (gov != "performance" && gov != "unavailable")
    w.push_back("CPU governor is '" + gov +
                "': frequency scaling adds noise; try 'cpupower frequency-set -g performance'");
  const auto& pin = env["cpu_pinning"];
  if (pin[0] == pin[1])
    w.push_back("both sides pinned to CPU " + pin[0].dump() +
                ": they share one core and spinning cases will crawl");
  const std::string sib = env.value("cpu_a_thread_siblings", "");
  if (pin[1].get<int>() >= 0 && pin[0] != pin[1] && !sib.empty()) {
    std::stringstream ss(sib);
    for (std::string part; std::getline(ss, part, ',');) {
      if (part == pin[1].dump())
        w.push_back("CPUs " + pin[0].dump() + " and " + pin[1].dump() +
                    " are SMT siblings of one core: latency will be lower and throughput lower "
                    "than across cores");
    }
  }
  // Measured just before the run, not the load average: a build that just finished
  // raises the average for a minute without competing with anything.
  const auto& busy = env["cpu_busy_before_run"];
  for (std::size_t i = 0; i < busy.size() && i < 2; ++i) {
    const double share = busy[i].get<double>();
    if (share > 0.1) {
      w.push_back("CPU " + pin[i].dump() + " was " + std::to_string(static_cast<int>(share * 100)) +
                  "% busy with other processes just before the run: they will compete with side " +
                  (i == 0 ? "a" : "b"));
    }
  }
  return w;
}

}  // namespace ipcbench
