// Groups of processes (harness/group.hpp): fan-out, fan-in and --pairs deliver every
// message, verified, to every member; a killed member fails the case and leaves
// nothing behind; a polling case that needs more CPUs than the machine has is refused.
#include "harness/group.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "harness/registry.hpp"
#include "tests/children.hpp"
#include "tests/leaks.hpp"

namespace ipcbench {
namespace {

// Each receiver verifies the fixed warm-up (64 messages) and the measured messages.
constexpr std::uint64_t kWarmupMsgs = 64;
constexpr std::uint64_t kMsgs = 2000;

PairSpec group_spec(const Mechanism& m, Pattern pattern, unsigned fan) {
  PairSpec s;
  s.mechanism = &m;
  s.config = {.pattern = pattern,
              .msg_bytes = 64,
              .capacity_msgs = 16,
              .wait = WaitMode::block,
              .consumers = pattern == Pattern::fanout ? fan : 1,
              .producers = pattern == Pattern::fanin ? fan : 1};
  s.cpus = {-1, -1};
  s.fixed_msgs = kMsgs;
  s.timeout_seconds = 20;
  return s;
}

std::string describe(const PairResult& r) { return r.message + " (" + r.verify.describe() + ")"; }

// Runs `spec` and checks that nothing it created outlives it.
PairResult run_clean(const PairSpec& spec) {
  const auto before = own_named_objects();
  PairResult r = run_pair(spec);
  EXPECT_EQ(own_named_objects(), before) << spec.mechanism->name << " left objects behind";
  return r;
}

TEST(Group, FanoutDeliversEveryMessageToEachConsumer) {
  int ran = 0;
  for (const Mechanism* m : mechanisms()) {
    // Copies over a pipe and a ring, and every mechanism that broadcasts.
    const std::string name(m->name);
    if (!m->broadcast && name != "pipe" && name != "shm_ring") continue;
    const PairResult r = run_clean(group_spec(*m, Pattern::fanout, 3));
    if (r.outcome == Outcome::not_runnable) continue;
    ASSERT_EQ(r.outcome, Outcome::ok) << name << ": " << describe(r);
    EXPECT_EQ(r.processes, 4u);
    EXPECT_EQ(r.broadcast, m->broadcast) << name;
    if (!m->may_lose) {
      EXPECT_EQ(r.verify.verified, 3 * (kWarmupMsgs + kMsgs)) << name;
    }
    EXPECT_EQ(r.verify.errors_except_loss(), 0u) << name;
    ++ran;
  }
  EXPECT_GE(ran, 2);
}

TEST(Group, FaninChecksEveryProducersSequence) {
  int ran = 0;
  for (const Mechanism* m : mechanisms()) {
    if (!m->supports(Pattern::fanin)) continue;
    const PairResult r = run_clean(group_spec(*m, Pattern::fanin, 3));
    if (r.outcome == Outcome::not_runnable) continue;
    ASSERT_EQ(r.outcome, Outcome::ok) << m->name << ": " << describe(r);
    // Every producer's whole sequence, in order: nothing lost, repeated or reordered.
    if (!m->may_lose) {
      EXPECT_EQ(r.verify.verified, 3 * (kWarmupMsgs + kMsgs)) << m->name;
    }
    EXPECT_EQ(r.verify.errors_except_loss(), 0u) << m->name;
    ++ran;
  }
  EXPECT_GE(ran, 1) << "no mechanism takes several writers";
}

TEST(Group, TwoPairsRunVerifiedAtOnce) {
  for (const char* name : {"pipe", "shm_ring", "unix_stream", "posix_mq"}) {
    const Mechanism* m = find_mechanism(name);
    ASSERT_NE(m, nullptr);
    PairSpec spec = group_spec(*m, Pattern::stream, 1);
    spec.pairs = 2;
    const PairResult r = run_clean(spec);
    if (r.outcome == Outcome::not_runnable) continue;
    ASSERT_EQ(r.outcome, Outcome::ok) << name << ": " << describe(r);
    EXPECT_EQ(r.processes, 4u);
    EXPECT_EQ(r.verify.verified, 2 * (kWarmupMsgs + kMsgs)) << name;
    // Each pair's consumer counts the intervals between its measured receipts.
    EXPECT_EQ(r.measured_msgs, 2 * (kMsgs - 1)) << name;
    EXPECT_GT(r.measured_seconds, 0) << name;
  }
}

TEST(Group, KilledConsumerFailsTheFanoutAndLeavesNothing) {
  // shm_broadcast: its producer waits for the slowest reader, so a dead one stalls it.
  for (const char* name : {"shm_ring", "shm_broadcast", "posix_mq", "pipe"}) {
    PairSpec spec = group_spec(*find_mechanism(name), Pattern::fanout, 3);
    spec.fixed_msgs = 0;
    spec.target_seconds = 20;  // far longer than the kill takes to land
    std::atomic<bool> done{false};
    std::thread killer = kill_child_when_up("ipcb-consumer-1", done);
    const PairResult r = run_clean(spec);
    done = true;
    killer.join();
    EXPECT_EQ(r.outcome, Outcome::failed) << name;
    EXPECT_NE(r.message.find("consumer 1"), std::string::npos) << name << ": " << r.message;
  }
}

TEST(Group, PollingOversubscribedIsRefusedSleepingIsMarked) {
  const unsigned cpus = static_cast<unsigned>(usable_cpus().size());
  const unsigned pairs = cpus / 2 + 1;  // 2 x pairs processes > cpus
  if (pairs > kMaxFan) GTEST_SKIP() << "more CPUs than a group can oversubscribe";
  PairSpec spec = group_spec(*find_mechanism("pipe"), Pattern::stream, 1);
  spec.pairs = pairs;
  spec.fixed_msgs = 200;
  spec.config.wait = WaitMode::spin;
  const PairResult spinning = run_pair(spec);
  EXPECT_EQ(spinning.outcome, Outcome::not_runnable);
  EXPECT_NE(spinning.message.find("oversubscribed"), std::string::npos) << spinning.message;
  spec.config.wait = WaitMode::block;
  const PairResult sleeping = run_pair(spec);
  ASSERT_EQ(sleeping.outcome, Outcome::ok) << describe(sleeping);
  EXPECT_TRUE(sleeping.oversubscribed);
}

TEST(Group, MembersTakeThePairsCpusFirstThenTheRestInTurn) {
  EXPECT_EQ(member_cpus({2, 5}, {0, 1, 2, 3, 4, 5}, 4), (std::vector<int>{2, 5, 0, 1}));
  EXPECT_EQ(member_cpus({0, 1}, {0, 1}, 5), (std::vector<int>{0, 1, 0, 1, 0}));
  // One CPU for the pair (same_cpu): one CPU for the group.
  EXPECT_EQ(member_cpus({3, 3}, {0, 3}, 3), (std::vector<int>{3, 3, 3}));
  EXPECT_EQ(member_cpus({-1, -1}, {0, 1}, 3), (std::vector<int>{-1, -1, -1}));
}

}  // namespace
}  // namespace ipcbench
