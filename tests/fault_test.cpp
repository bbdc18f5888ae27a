// Faults, for every mechanism: one side of a pair SIGKILLed, or stopped with SIGSTOP,
// at a random point of a case (setup, start barrier, warm-up or the measured loop).
// The case must come back failed with the cause named, the runner must not hang, and
// nothing may be left behind. The points are random on purpose (each run tries new
// ones); the seed is printed, and IPCBENCH_FAULT_SEED=N replays a run.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "harness/pair.hpp"
#include "harness/registry.hpp"
#include "tests/children.hpp"
#include "tests/leaks.hpp"

namespace ipcbench {
namespace {

std::uint64_t fault_seed() {
  static const std::uint64_t seed = []() -> std::uint64_t {
    if (const char* s = std::getenv("IPCBENCH_FAULT_SEED")) return std::strtoull(s, nullptr, 10);
    return static_cast<std::uint64_t>(std::random_device{}());
  }();
  return seed;
}

constexpr std::size_t kSmallMsgBytes = 8;

struct Fault {
  int signal;
  Side side;
};

const char* role(Pattern p, Side s) {
  if (p == Pattern::pingpong) return s == Side::a ? "client" : "server";
  return s == Side::a ? "producer" : "consumer";
}

// Runs one case and, from another thread, sends `fault` to one side `delay_s` after
// that side appears; `sent` says whether the signal went out before the case ended.
// Whatever the outcome, the case must leave nothing behind.
PairResult run_with_fault_at(const PairSpec& spec, Fault fault, double delay_s, bool& sent) {
  const auto before = own_named_objects();
  const auto sysv_before = sysv_objects();
  sent = false;
  const std::string name = std::string("ipcb-") + role(spec.config.pattern, fault.side);
  std::atomic<bool> finished{false};
  std::thread injector([&] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    pid_t pid = -1;
    while (!finished && (pid = find_child(name)) < 0 &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (pid < 0) return;
    std::this_thread::sleep_for(std::chrono::duration<double>(delay_s));
    if (!finished && ::kill(pid, fault.signal) == 0) sent = true;
  });
  PairResult r = run_pair(spec);
  finished = true;
  injector.join();
  EXPECT_EQ(own_named_objects(), before) << "left named objects behind";
  EXPECT_EQ(sysv_objects(), sysv_before) << "left SysV objects behind";
  return r;
}

// As run_with_fault_at, and a mechanism whose messages are too small for the spec's
// size (signal: 8 bytes a message) is tried again at 8 bytes, so it is faulted too.
PairResult run_with_fault(PairSpec spec, Fault fault, double delay_s, bool& sent) {
  PairResult r = run_with_fault_at(spec, fault, delay_s, sent);
  if (r.outcome != Outcome::not_runnable || spec.config.msg_bytes <= kSmallMsgBytes) return r;
  spec.config.msg_bytes = kSmallMsgBytes;
  return run_with_fault_at(spec, fault, delay_s, sent);
}

struct Param {
  const Mechanism* mechanism;
  Pattern pattern;
};

std::vector<Param> all_params() {
  std::vector<Param> out;
  for (const Mechanism* m : mechanisms()) {
    for (Pattern p : {Pattern::pingpong, Pattern::stream}) {
      if (m->supports(p)) out.push_back({m, p});
    }
  }
  return out;
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  return std::string(info.param.mechanism->name) + "_" + std::string(to_string(info.param.pattern));
}

class Faults : public ::testing::TestWithParam<Param> {
 protected:
  PairSpec spec() const {
    PairSpec s;
    s.mechanism = GetParam().mechanism;
    // Blocking where the mechanism has it (a sleeping peer must be woken by the death),
    // 4 KiB messages so the stream fills the channel and the producer waits too.
    s.config = {.pattern = GetParam().pattern,
                .msg_bytes = 4096,
                .capacity_msgs = 4,
                .wait = WaitMode::block};
    return s;
  }
  std::mt19937_64 rng{
      fault_seed() ^
      std::hash<std::string>{}(::testing::UnitTest::GetInstance()->current_test_info()->name())};
};

TEST_P(Faults, EitherSideKilledIsAFailedCaseNamingItAndLeavesNothing) {
  for (Side side : {Side::a, Side::b}) {
    PairSpec s = spec();
    s.target_seconds = 3;  // a tenth of it warms up; the kill lands well before the end
    s.timeout_seconds = 30;
    const double delay_s = std::uniform_real_distribution<double>(0, 0.5)(rng);
    SCOPED_TRACE("IPCBENCH_FAULT_SEED=" + std::to_string(fault_seed()) + ", " +
                 role(s.config.pattern, side) + " killed " + std::to_string(delay_s) +
                 " s after it started");
    bool sent = false;
    const auto t0 = std::chrono::steady_clock::now();
    const PairResult r = run_with_fault(s, {SIGKILL, side}, delay_s, sent);
    const double took_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r.outcome == Outcome::not_runnable) GTEST_SKIP() << r.message;
    ASSERT_TRUE(sent) << "the side never appeared, or the case ended first: " << r.message;
    EXPECT_EQ(r.outcome, Outcome::failed) << r.message;
    const std::string cause =
        std::string(role(s.config.pattern, side)) + " killed by signal " + std::to_string(SIGKILL);
    EXPECT_EQ(r.message.rfind(cause, 0), 0u) << "the cause must come first: " << r.message;
    EXPECT_LT(took_s, 10) << "the runner took long to notice a dead side";
  }
}

TEST_P(Faults, StoppedSideIsEndedByTheWatchdogAndReported) {
  // One side per pattern keeps the test short; both sides are stopped across patterns.
  const Side side = GetParam().pattern == Pattern::pingpong ? Side::b : Side::a;
  PairSpec s = spec();
  s.target_seconds = 10;  // far longer than the deadline
  s.timeout_seconds = 0.8;
  const double delay_s = std::uniform_real_distribution<double>(0, 0.4)(rng);
  SCOPED_TRACE("IPCBENCH_FAULT_SEED=" + std::to_string(fault_seed()) + ", " +
               role(s.config.pattern, side) + " stopped " + std::to_string(delay_s) +
               " s after it started");
  bool sent = false;
  const PairResult r = run_with_fault(s, {SIGSTOP, side}, delay_s, sent);
  if (r.outcome == Outcome::not_runnable) GTEST_SKIP() << r.message;
  ASSERT_TRUE(sent) << r.message;
  EXPECT_EQ(r.outcome, Outcome::failed) << r.message;
  EXPECT_NE(r.message.find("timed out after 0.8 s"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find(std::string(role(s.config.pattern, side)) +
                           " had not finished (stopped by a signal"),
            std::string::npos)
      << r.message;
  EXPECT_EQ(find_child(std::string("ipcb-") + role(s.config.pattern, side)), -1)
      << "the stopped side outlived its case";
}

INSTANTIATE_TEST_SUITE_P(Registry, Faults, ::testing::ValuesIn(all_params()), param_name);

}  // namespace
}  // namespace ipcbench
