// Capacity 0 is a rendezvous, and capacity `max` reaches a named bound.
//
// Rendezvous: a producer and a consumer over a real channel, made as the harness makes
// a case's (open_case_channel), acknowledging through the harness's own Rendezvous
// calls, as produce() and consume() do. The producer publishes how many sends have
// completed; the consumer reads it at every message it receives and keeps the furthest
// the producer ran ahead. At capacity 0 that is at most one message; at capacity 16,
// with a consumer that pauses now and then, the same check sees the producer run
// ahead: the check can fail.
#include "harness/rendezvous.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "harness/capacity.hpp"
#include "harness/case_channel.hpp"
#include "harness/error.hpp"
#include "harness/pair.hpp"
#include "harness/registry.hpp"
#include "tests/children.hpp"
#include "tests/leaks.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kMsgBytes = 64;
constexpr std::uint64_t kMsgs = 400;
constexpr std::uint64_t kPauseEvery = 50;  // the consumer naps 2 ms every 50 messages
constexpr auto kDeadline = std::chrono::seconds(20);

struct Shared {
  std::atomic<std::uint64_t> sent{0};       // producer: sends completed
  std::atomic<std::uint64_t> max_ahead{0};  // consumer: the most sent - received seen
  std::atomic<std::uint32_t> consumer_done{0};
  Rendezvous rendezvous;
};

// Both children's exit statuses, or -1 for one killed at the deadline.
std::vector<int> reap(const std::vector<pid_t>& pids) {
  std::vector<int> statuses(pids.size(), -1);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  for (std::size_t i = 0; i < pids.size(); ++i) {
    int status = 0;
    while (::waitpid(pids[i], &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        for (pid_t p : pids) ::kill(p, SIGKILL);
        ::waitpid(pids[i], &status, 0);
        status = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    statuses[i] = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  return statuses;
}

int produce(Channel& ch, Shared& sh, const ChannelConfig& cfg) {
  auto ep = ch.open(Side::a);
  std::vector<std::byte> msg(kMsgBytes);
  Rendezvous* const rv = rendezvous_for(cfg.capacity_msgs, sh.rendezvous);
  for (std::uint64_t i = 0; i < kMsgs; ++i) {
    std::memcpy(msg.data(), &i, sizeof i);
    ep->send(msg);
    sh.sent.store(i + 1, std::memory_order_seq_cst);
    if (rv != nullptr) rendezvous_wait(*rv, static_cast<std::uint32_t>(i + 1), cfg.wait);
  }
  while (sh.consumer_done.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return 0;
}

int consume(Channel& ch, Shared& sh, const ChannelConfig& cfg) {
  auto ep = ch.open(Side::b);
  std::vector<std::byte> buf(kMsgBytes);
  Rendezvous* const rv = rendezvous_for(cfg.capacity_msgs, sh.rendezvous);
  for (std::uint64_t received = 1; received <= kMsgs; ++received) {
    if (ep->recv(buf) != kMsgBytes) return 4;
    // Read before acknowledging: the producer cannot have completed send received + 1.
    const std::uint64_t sent = sh.sent.load(std::memory_order_seq_cst);
    if (rv != nullptr) rendezvous_taken(*rv);
    std::uint64_t seq = 0;
    std::memcpy(&seq, buf.data(), sizeof seq);
    if (seq + 1 != received) return 5;
    const std::uint64_t ahead = sent > received ? sent - received : 0;
    if (ahead > sh.max_ahead.load()) sh.max_ahead.store(ahead);
    if (received % kPauseEvery == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  sh.consumer_done.store(1);
  return 0;
}

// The furthest the producer ran ahead of the consumer over kMsgs messages.
std::uint64_t furthest_ahead(const char* mechanism, std::size_t capacity, WaitMode wait) {
  const Mechanism* m = find_mechanism(mechanism);
  if (m == nullptr) throw std::runtime_error(std::string("no mechanism ") + mechanism);
  const ChannelConfig cfg{
      .pattern = Pattern::stream, .msg_bytes = kMsgBytes, .capacity_msgs = capacity, .wait = wait};
  void* p =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw SysError("mmap", "shared");
  auto* sh = new (p) Shared{};
  Granted granted;
  std::unique_ptr<Channel> ch = open_case_channel(*m, cfg, granted);
  const pid_t consumer = spawn([&] { return consume(*ch, *sh, cfg); });
  const pid_t producer = spawn([&] { return produce(*ch, *sh, cfg); });
  ch->forked();
  const std::vector<int> statuses = reap({producer, consumer});
  ch.reset();
  const std::uint64_t ahead = sh->max_ahead.load();
  ::munmap(p, sizeof(Shared));
  EXPECT_EQ(statuses, (std::vector<int>{0, 0})) << mechanism << " capacity " << capacity;
  return ahead;
}

class Rendezvous0 : public ::testing::TestWithParam<std::tuple<const char*, WaitMode>> {};

TEST_P(Rendezvous0, ProducerNeverRunsAheadAtCapacity0ButDoesAt16) {
  const auto [mechanism, wait] = GetParam();
  const auto before = own_named_objects();
  EXPECT_LE(furthest_ahead(mechanism, 0, wait), 1u) << mechanism << ": not a rendezvous";
  EXPECT_GE(furthest_ahead(mechanism, 16, wait), 2u)
      << mechanism << ": at capacity 16 the check should see the producer run ahead";
  EXPECT_EQ(own_named_objects(), before);
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, Rendezvous0,
                         ::testing::Combine(::testing::Values("pipe", "unix_stream", "posix_mq",
                                                              "shm_ring"),
                                            ::testing::Values(WaitMode::block, WaitMode::spin)));

PairSpec capacity_spec(const char* mechanism, Pattern pattern, std::size_t capacity) {
  PairSpec spec;
  spec.mechanism = find_mechanism(mechanism);
  spec.config = {.pattern = pattern, .msg_bytes = kMsgBytes, .capacity_msgs = capacity};
  spec.fixed_msgs = 500;
  spec.timeout_seconds = 30;
  return spec;
}

// The harness's own stream and pingpong at capacity 0: they run, verified, and record
// capacity_effective 0, the channel's bytes and how each message was acknowledged.
TEST(Rendezvous0Case, StreamAndPingpongRunAndSayHow) {
  for (Pattern pattern : {Pattern::stream, Pattern::pingpong}) {
    const PairResult r = run_pair(capacity_spec("pipe", pattern, 0));
    ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
    EXPECT_EQ(r.granted.capacity_msgs, 0u);
    EXPECT_GT(r.granted.capacity_bytes, 0u);
    EXPECT_NE(r.granted.detail.find("rendezvous"), std::string::npos) << r.granted.detail;
  }
  const PairResult r = run_pair(capacity_spec("pipe", Pattern::stream, 0));
  EXPECT_NE(r.granted.detail.find("futex"), std::string::npos) << r.granted.detail;
}

// Fan-out: the producer waits for every consumer; fan-in cannot rendezvous.
TEST(Rendezvous0Case, FanoutRunsAndFaninIsNotRunnable) {
  PairSpec fanout = capacity_spec("pipe", Pattern::fanout, 0);
  fanout.config.consumers = 2;
  const PairResult out = run_pair(fanout);
  ASSERT_EQ(out.outcome, Outcome::ok) << out.message;
  EXPECT_EQ(out.granted.capacity_msgs, 0u);
  EXPECT_NE(out.granted.detail.find("rendezvous"), std::string::npos) << out.granted.detail;
  PairSpec fanin = capacity_spec("pipe", Pattern::fanin, 0);
  fanin.config.producers = 2;
  const PairResult in = run_pair(fanin);
  EXPECT_EQ(in.outcome, Outcome::not_runnable);
  EXPECT_NE(in.message.find("capacity 0"), std::string::npos) << in.message;
}

TEST(Rendezvous0Case, LossyMechanismIsNotRunnableWithTheReason) {
  const PairResult r = run_pair(capacity_spec("udp", Pattern::stream, 0));
  EXPECT_EQ(r.outcome, Outcome::not_runnable);
  EXPECT_NE(r.message.find("may lose messages"), std::string::npos) << r.message;
}

// Capacity max: at least what the largest fixed point of the sweep got, and the bound
// that stopped it named in the detail.
TEST(CapacityMax, ReachesTheLargestFixedPointAndNamesItsBound) {
  const auto before = own_named_objects();
  for (const char* mechanism : {"pipe", "unix_stream", "posix_mq", "sysv_msg", "shm_ring"}) {
    const Mechanism* m = find_mechanism(mechanism);
    ASSERT_NE(m, nullptr) << mechanism;
    ChannelConfig cfg{.pattern = Pattern::stream, .msg_bytes = kMsgBytes, .capacity_msgs = 1024};
    Granted fixed, max;
    open_case_channel(*m, cfg, fixed).reset();
    cfg.capacity_msgs = kCapacityMax;
    const auto start = std::chrono::steady_clock::now();
    open_case_channel(*m, cfg, max).reset();
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(max.capacity_msgs, fixed.capacity_msgs) << mechanism;
    EXPECT_NE(max.detail.find("bounded by "), std::string::npos) << mechanism << ": " << max.detail;
    EXPECT_LT(took, std::chrono::seconds(10)) << mechanism << ": max took too long to fit";
  }
  EXPECT_EQ(own_named_objects(), before);
}

// A real-time signal's queue is bounded by RLIMIT_SIGPENDING, not by a sysctl: `max`
// takes what the limit leaves (instead of refusing 1M messages) and names it.
TEST(CapacityMax, SignalStopsAtRlimitSigpending) {
  const Mechanism* m = find_mechanism("signal");
  ASSERT_NE(m, nullptr);
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_SIGPENDING, &limit), 0);
  if (limit.rlim_cur == RLIM_INFINITY) GTEST_SKIP() << "RLIMIT_SIGPENDING is unlimited here";
  ChannelConfig cfg{.pattern = Pattern::stream, .msg_bytes = 8, .capacity_msgs = kCapacityMax};
  Granted max;
  open_case_channel(*m, cfg, max).reset();
  EXPECT_GT(max.capacity_msgs, 0u);
  EXPECT_LE(max.capacity_msgs, limit.rlim_cur);
  EXPECT_NE(max.detail.find("bounded by RLIMIT_SIGPENDING = " + std::to_string(limit.rlim_cur)),
            std::string::npos)
      << max.detail;
}

TEST(CapacityMax, NameIsStable) {
  EXPECT_EQ(capacity_text(kCapacityMax), "max");
  EXPECT_EQ(capacity_text(0), "0");
  EXPECT_EQ(max_capacity_msgs(64), kMaxCapacityMsgs);
  EXPECT_EQ(max_capacity_msgs(kMaxChannelBytes), 0u);
}

}  // namespace
}  // namespace ipcbench
