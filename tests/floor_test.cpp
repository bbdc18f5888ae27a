// The floor measurements: they run, return finite positive figures, and leave no
// process behind. (Their size is never asserted: tests check correctness, not speed.)
#include "harness/floor.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>

#include <cerrno>
#include <cmath>

#include "harness/environment.hpp"

namespace ipcbench {
namespace {

std::array<int, 2> two_cpus() {
  const std::vector<int> cpus = allowed_cpus();
  return {cpus.at(0), cpus.size() > 1 ? cpus[1] : cpus[0]};
}

bool no_child_left() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

TEST(Floor, MeasuresEveryFloorAndReapsItsHelper) {
  const auto cpus = two_cpus();
  const Floors f = measure_floors(cpus, {64, 4096}, 20.0);
  if (cpus[0] != cpus[1]) {
    EXPECT_TRUE(std::isfinite(f.cacheline_rtt_ns) && f.cacheline_rtt_ns > 0);
  } else {
    EXPECT_EQ(f.cacheline_rtt_ns, 0);  // not measured on one CPU
  }
  EXPECT_TRUE(std::isfinite(f.wake_rtt_ns) && f.wake_rtt_ns > 0);
  EXPECT_GT(f.syscall_ns, 0);
  EXPECT_EQ(f.clock_ns, 20.0);
  ASSERT_EQ(f.memcpy_bytes_per_s.size(), 2u);
  for (const auto& [size, rate] : f.memcpy_bytes_per_s)
    EXPECT_TRUE(std::isfinite(rate) && rate > 0) << size;
  EXPECT_TRUE(no_child_left());
}

TEST(Floor, LeavesTheCallerUnpinned) {
  cpu_set_t before, after;
  CPU_ZERO(&before);
  CPU_ZERO(&after);
  ASSERT_EQ(::sched_getaffinity(0, sizeof before, &before), 0);
  measure_wake_rtt_ns(two_cpus());
  ASSERT_EQ(::sched_getaffinity(0, sizeof after, &after), 0);
  EXPECT_TRUE(CPU_EQUAL(&before, &after));
}

TEST(Floor, ContextKeys) {
  Floors f;
  f.cacheline_rtt_ns = 100;
  f.wake_rtt_ns = 50'000;
  f.memcpy_bytes_per_s[64] = 1e10;
  nlohmann::json env;
  add_floors_to_context(f, env);
  EXPECT_EQ(env["floor_cacheline_rtt_ns"], 100.0);
  EXPECT_EQ(env["floor_memcpy_bytes_per_s"]["64"], 1e10);
  f.cacheline_rtt_ns = 0;
  add_floors_to_context(f, env);
  EXPECT_TRUE(env["floor_cacheline_rtt_ns"].is_null());
}

}  // namespace
}  // namespace ipcbench
