// Compete (harness/group.hpp): one producer, N consumers taking its messages from one
// channel. Every mechanism that takes several readers delivers each message to
// exactly one consumer; the ledger check counts a lost and a duplicated message; a
// killed consumer fails the case, named, and leaves nothing behind; a pipe refuses
// messages over PIPE_BUF. Correctness only, never speed.
#include <gtest/gtest.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness/group.hpp"
#include "harness/registry.hpp"
#include "tests/children.hpp"
#include "tests/leaks.hpp"

namespace ipcbench {
namespace {

constexpr std::uint64_t kWarmupMsgs = 64;  // the fixed warm-up of a case with fixed_msgs
constexpr std::uint64_t kMsgs = 2000;
constexpr unsigned kConsumers = 3;

PairSpec compete_spec(const Mechanism& m, unsigned consumers) {
  PairSpec s;
  s.mechanism = &m;
  s.config = {.pattern = Pattern::compete,
              .msg_bytes = 64,
              .capacity_msgs = 16,
              .wait = WaitMode::block,
              .consumers = consumers,
              .producers = 1};
  s.cpus = {-1, -1};
  s.fixed_msgs = kMsgs;
  s.timeout_seconds = 20;
  return s;
}

// Runs `spec` and checks that nothing it created outlives it.
PairResult run_clean(const PairSpec& spec) {
  const auto before = own_named_objects();
  const auto sysv_before = sysv_objects();
  PairResult r = run_pair(spec);
  EXPECT_EQ(own_named_objects(), before) << spec.mechanism->name << " left objects behind";
  EXPECT_EQ(sysv_objects(), sysv_before) << spec.mechanism->name << " left SysV objects";
  return r;
}

TEST(Compete, EachMessageReachesExactlyOneConsumer) {
  std::vector<std::string> ran;
  for (const Mechanism* m : mechanisms()) {
    if (!m->supports(Pattern::compete)) continue;
    const PairResult r = run_clean(compete_spec(*m, kConsumers));
    ASSERT_EQ(r.outcome, Outcome::ok)
        << m->name << ": " << r.message << " (" << r.verify.describe() << ")";
    EXPECT_EQ(r.processes, kConsumers + 1);
    // Every message once (the ledgers: no loss, no duplicate), each consumer's in
    // order; the end markers are verified too, one a consumer.
    EXPECT_EQ(r.verify.errors(), 0u) << m->name << ": " << r.verify.describe();
    EXPECT_EQ(r.verify.verified, kWarmupMsgs + kMsgs + kConsumers) << m->name;
    EXPECT_EQ(r.measured_msgs, kMsgs) << m->name;
    EXPECT_GT(r.measured_seconds, 0) << m->name;
    EXPECT_LE(r.share_min, r.share_max) << m->name;
    EXPECT_LE(r.share_max, 1.0) << m->name;
    EXPECT_GE(r.share_max, 1.0 / kConsumers - 1e-9) << m->name;
    ran.push_back(std::string(m->name));
  }
  for (const char* must : {"pipe", "fifo", "posix_mq", "sysv_msg", "unix_dgram", "shm_mpmc"})
    EXPECT_NE(std::find(ran.begin(), ran.end(), must), ran.end()) << must << " did not run";
}

TEST(Compete, OneConsumerTakesEverything) {
  const PairResult r = run_clean(compete_spec(*find_mechanism("shm_mpmc"), 1));
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.verify.errors(), 0u) << r.verify.describe();
  EXPECT_DOUBLE_EQ(r.share_min, 1.0);
  EXPECT_DOUBLE_EQ(r.share_max, 1.0);
}

TEST(Compete, LedgersCountALostAndADuplicatedMessage) {
  constexpr std::uint64_t kBits = 256;
  std::vector<std::uint64_t> a(kBits / 64), b(kBits / 64);
  const Ledger ledgers[] = {{.words = a.data(), .bits = kBits}, {.words = b.data(), .bits = kBits}};
  auto take = [](std::vector<std::uint64_t>& w, std::uint64_t seq) {
    w[seq / 64] |= std::uint64_t{1} << (seq % 64);
  };
  constexpr std::uint64_t kTotal = 130;  // spans three words, the last one partly
  for (std::uint64_t s = 0; s < kTotal; ++s) take(s % 2 == 0 ? a : b, s);
  EXPECT_EQ(check_ledgers(ledgers, kTotal).errors(), 0u);
  a[100 / 64] &= ~(std::uint64_t{1} << (100 % 64));  // 100 was a's: now nobody's
  take(b, 64);                                       // 64 is a's: now taken twice
  take(a, 200);                                      // past the total: not counted
  const VerifyCounts c = check_ledgers(ledgers, kTotal);
  EXPECT_EQ(c.lost, 1u);
  EXPECT_EQ(c.duplicated, 1u);
  EXPECT_EQ(c.errors(), 2u);
}

TEST(Compete, KilledConsumerFailsTheCaseNamedAndLeavesNothing) {
  for (const char* name : {"shm_mpmc", "posix_mq", "sysv_msg", "fifo", "pipe", "unix_dgram"}) {
    PairSpec spec = compete_spec(*find_mechanism(name), kConsumers);
    spec.fixed_msgs = 0;
    spec.target_seconds = 20;  // far longer than the kill takes to land
    std::atomic<bool> done{false};
    std::thread killer = kill_child_when_up("ipcb-consumer-1", done);
    const auto start = std::chrono::steady_clock::now();
    const PairResult r = run_clean(spec);
    done = true;
    killer.join();
    EXPECT_EQ(r.outcome, Outcome::failed) << name;
    EXPECT_NE(r.message.find("consumer 1 killed by signal 9"), std::string::npos)
        << name << ": " << r.message;
    // Ended by the death watch, not by the deadline.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10)) << name;
  }
}

TEST(Compete, PipeAndFifoRefuseMessagesOverPipeBuf) {
  for (const char* name : {"pipe", "fifo"}) {
    PairSpec spec = compete_spec(*find_mechanism(name), 2);
    spec.config.msg_bytes = 2 * PIPE_BUF;
    const PairResult r = run_clean(spec);
    EXPECT_EQ(r.outcome, Outcome::not_runnable) << name;
    EXPECT_NE(r.message.find("PIPE_BUF"), std::string::npos) << name << ": " << r.message;
  }
}

TEST(Compete, PollingOversubscribedIsRefusedSleepingIsMarked) {
  const auto cpus = static_cast<unsigned>(usable_cpus().size());
  if (cpus > kMaxFan) GTEST_SKIP() << "more CPUs than a group can oversubscribe";
  PairSpec spec = compete_spec(*find_mechanism("shm_mpmc"), cpus);  // cpus + 1 processes
  spec.fixed_msgs = 200;
  spec.config.wait = WaitMode::spin;
  const PairResult spinning = run_pair(spec);
  EXPECT_EQ(spinning.outcome, Outcome::not_runnable);
  EXPECT_NE(spinning.message.find("oversubscribed"), std::string::npos) << spinning.message;
  spec.config.wait = WaitMode::block;
  const PairResult sleeping = run_clean(spec);
  ASSERT_EQ(sleeping.outcome, Outcome::ok) << sleeping.message;
  EXPECT_TRUE(sleeping.oversubscribed);
  EXPECT_EQ(sleeping.verify.errors(), 0u) << sleeping.verify.describe();
}

TEST(Compete, TakesItsFlagAndMessagesOfFourBytes) {
  EXPECT_FALSE(find_mechanism("tcp")->supports(Pattern::compete));
  EXPECT_FALSE(find_mechanism("shm_mpsc")->supports(Pattern::compete));
  EXPECT_TRUE(find_mechanism("shm_mpmc")->supports(Pattern::fanin));
  PairSpec spec = compete_spec(*find_mechanism("posix_mq"), 2);
  spec.config.msg_bytes = 2;
  const PairResult r = run_pair(spec);
  EXPECT_EQ(r.outcome, Outcome::not_runnable);
  EXPECT_NE(r.message.find("4 bytes"), std::string::npos) << r.message;
}

}  // namespace
}  // namespace ipcbench
