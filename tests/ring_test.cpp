// The ring's single-process behaviour (full, empty, wrap-around, variable sizes), a
// two-process transfer of 1,000,000 verified messages through the whole harness in
// every wait mode, each wait mode against a slow peer and a dead one, and the CPU
// counters.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ostream>
#include <tuple>
#include <vector>

#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/message.hpp"
#include "harness/owners.hpp"
#include "harness/pair.hpp"
#include "harness/patterns.hpp"
#include "harness/registry.hpp"
#include "mechanisms/shm_ring.hpp"

namespace ipcbench {
namespace {

struct LocalRing {
  LocalRing(std::uint32_t slots, std::size_t max_msg)
      : map(map_shared(ring::ring_bytes(slots, max_msg))) {
    ring::init_ring(map.get(), slots, max_msg);
    ctl = ring::attach_ring(map.get());
  }
  Mapping map;
  ring::RingControl* ctl;
};

std::vector<std::byte> bytes(std::size_t n, int fill) {
  return std::vector<std::byte>(n, std::byte(fill));
}

TEST(ShmRing, LayoutKeepsWritersApart) {
  EXPECT_EQ(offsetof(ring::RingControl, head) % ring::kSeparation, 0u);
  EXPECT_GE(offsetof(ring::RingControl, data_epoch) - offsetof(ring::RingControl, head),
            ring::kSeparation);
  EXPECT_GE(offsetof(ring::RingControl, space_epoch) - offsetof(ring::RingControl, data_epoch),
            ring::kSeparation);
  EXPECT_GE(offsetof(ring::RingControl, slots_begin) - offsetof(ring::RingControl, space_epoch),
            ring::kSeparation);
}

TEST(ShmRing, FullAndEmpty) {
  LocalRing r(4, 64);
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  std::vector<std::byte> out(64);
  std::size_t len = 0;
  EXPECT_FALSE(c.try_recv(out, len));  // empty
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(p.try_send(bytes(10, i)));
  EXPECT_FALSE(p.try_send(bytes(10, 9)));  // full at exactly capacity
  ASSERT_TRUE(c.try_recv(out, len));
  EXPECT_EQ(len, 10u);
  EXPECT_EQ(out[0], std::byte(0));
  EXPECT_TRUE(p.try_send(bytes(10, 4)));  // one slot freed
  EXPECT_FALSE(p.try_send(bytes(10, 9)));
}

TEST(ShmRing, WrapsAroundWithVariableSizesInOrder) {
  LocalRing r(3, 100);  // odd slot count: wrap points move through the sequence
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  std::vector<std::byte> out(100);
  std::uint64_t sent = 0, received = 0;
  while (received < 10'000) {
    while (sent < 10'000 && p.try_send(bytes(1 + sent % 100, static_cast<int>(sent & 0xff))))
      ++sent;
    std::size_t len = 0;
    while (c.try_recv(out, len)) {
      ASSERT_EQ(len, 1 + received % 100);
      ASSERT_EQ(out[len - 1], std::byte(received & 0xff));
      ++received;
    }
  }
}

TEST(ShmRing, CapacityOneAndLargestMessage) {
  const std::size_t big = 1 << 20;
  LocalRing r(1, big);
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  std::vector<std::byte> out(big);
  std::size_t len = 0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(p.try_send(bytes(big, i)));
    ASSERT_FALSE(p.try_send(bytes(1, 0)));
    ASSERT_TRUE(c.try_recv(out, len));
    EXPECT_EQ(len, big);
    EXPECT_EQ(out[big / 2], std::byte(i));
  }
}

TEST(ShmRing, RejectsALengthLargerThanTheBuffer) {
  LocalRing r(2, 64);
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  ASSERT_TRUE(p.try_send(bytes(64, 1)));
  std::vector<std::byte> small(16);
  std::size_t len = 0;
  EXPECT_THROW(c.try_recv(small, len), PeerError);
}

// Spin mode publishes the consumer's head once per quarter ring: freed slots reach the
// producer in groups, and never more than a quarter late.
TEST(ShmRing, SpinPublishesHeadOncePerQuarterRing) {
  LocalRing r(16, 8);
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(p.try_send(bytes(8, i)));
  std::vector<std::byte> out(8);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.recv(out, WaitMode::spin), 8u);
  EXPECT_FALSE(p.try_send(bytes(8, 0)));  // three released, none published yet
  EXPECT_EQ(c.recv(out, WaitMode::spin), 8u);
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(p.try_send(bytes(8, i))) << i;  // the fourth publishes all four
  EXPECT_FALSE(p.try_send(bytes(8, 0)));
}

// Zero-copy: the producer's room and the consumer's view are the slot itself, and a
// slot is reusable only once released.
TEST(ShmRing, LoansAndViewsAreTheSlotItself) {
  LocalRing r(2, 64);
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  const std::span<std::byte> room = p.claim(WaitMode::spin);
  ASSERT_EQ(room.size(), 64u);  // the whole slot, whatever will be published
  std::memset(room.data(), 0x5a, 20);
  p.commit(20, WaitMode::spin);
  const std::span<const std::byte> view = c.peek(WaitMode::spin);
  EXPECT_EQ(view.data(), room.data());  // in place: no copy on either side
  ASSERT_EQ(view.size(), 20u);
  EXPECT_EQ(view[19], std::byte{0x5a});
  EXPECT_TRUE(p.try_send(bytes(8, 1)));
  EXPECT_FALSE(p.try_send(bytes(8, 2)));  // full: the peeked slot is not free yet
  c.release(WaitMode::spin);
  EXPECT_TRUE(p.try_send(bytes(8, 2)));  // released: the producer may reuse it
  std::vector<std::byte> out(64);
  std::size_t len = 0;
  ASSERT_TRUE(c.try_recv(out, len));  // copy and zero-copy paths share the ring
  EXPECT_EQ(len, 8u);
  EXPECT_EQ(out[0], std::byte{1});
}

TEST(ShmRing, PeekRejectsALengthLargerThanTheSlot) {
  LocalRing r(2, 64);
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  p.claim(WaitMode::spin);
  p.commit(65, WaitMode::spin);  // what a corrupt peer could publish
  EXPECT_THROW(c.peek(WaitMode::spin), PeerError);
}

TEST(ShmRing, RefusesAForeignMapping) {
  Mapping m = map_shared(4096);
  EXPECT_THROW(ring::attach_ring(m.get()), PeerError);
}

// Two processes, the whole harness path: 1,000,000 messages, every one verified: the
// ring in every wait mode, and the zero-copy ring (read in place) in two.
struct StressCase {
  const char* mechanism;
  WaitMode wait;
};

void PrintTo(const StressCase& c, std::ostream* os) {
  *os << c.mechanism << "/" << to_string(c.wait);
}

std::vector<StressCase> stress_cases() {
  std::vector<StressCase> out;
  for (WaitMode w : kWaitModes) {
    if (find_mechanism("shm_ring")->supports(w)) out.push_back({"shm_ring", w});
  }
  for (WaitMode w : {WaitMode::spin, WaitMode::sem}) out.push_back({"shm_ring_zc", w});
  return out;
}

class RingStress : public ::testing::TestWithParam<StressCase> {};

TEST_P(RingStress, MillionMessagesAcrossProcesses) {
  PairSpec spec;
  spec.mechanism = find_mechanism(GetParam().mechanism);
  ASSERT_NE(spec.mechanism, nullptr);
  spec.config = {
      .pattern = Pattern::stream, .msg_bytes = 64, .capacity_msgs = 64, .wait = GetParam().wait};
  spec.cpus = {-1, -1};
  spec.fixed_msgs = 1'000'000;
  spec.timeout_seconds = 120;
  const PairResult r = run_pair(spec);
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.verify.errors(), 0u);
  // Warm-up messages are verified too: at least the measured million.
  EXPECT_GE(r.verify.verified, 1'000'000u);
}

INSTANTIATE_TEST_SUITE_P(Wait, RingStress, ::testing::ValuesIn(stress_cases()),
                         [](const auto& info) {
                           // shm_ring cases keep their old names (the wait mode alone).
                           const std::string wait(to_string(info.param.wait));
                           return std::string(info.param.mechanism) == "shm_ring"
                                      ? wait
                                      : std::string(info.param.mechanism) + "_" + wait;
                         });

// Zero-copy at the sizes it is for: 16 MiB messages in place, both patterns, every
// byte verified where it lies.
class ZeroCopyLarge : public ::testing::TestWithParam<Pattern> {};

TEST_P(ZeroCopyLarge, SixteenMiBMessagesVerifiedInPlace) {
  PairSpec spec;
  spec.mechanism = find_mechanism("shm_ring_zc");
  spec.config = {
      .pattern = GetParam(), .msg_bytes = 16u << 20, .capacity_msgs = 2, .wait = WaitMode::block};
  spec.fixed_msgs = 20;
  spec.timeout_seconds = 120;
  const PairResult r = run_pair(spec);
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.verify.errors(), 0u);
  EXPECT_GE(r.verify.verified, 20u);
}

INSTANTIATE_TEST_SUITE_P(Pattern, ZeroCopyLarge,
                         ::testing::Values(Pattern::pingpong, Pattern::stream),
                         [](const auto& info) { return std::string(to_string(info.param)); });

// The ring has every wait mode but io_uring's sqpoll; the others keep block and spin
// (the ONC RPC and D-Bus ones: block only), and uring_unix adds sqpoll.
TEST(ShmRing, SupportsEveryWaitModeButSqpoll) {
  const Mechanism* m = find_mechanism("shm_ring");
  for (WaitMode w : kWaitModes) EXPECT_EQ(m->supports(w), w != WaitMode::sqpoll) << to_string(w);
  for (const Mechanism* other : mechanisms()) {
    if (other->name.starts_with("shm_ring")) continue;  // shm_ring_zc is the same ring
    for (WaitMode w : kWaitModes) {
      const bool own = w == WaitMode::sqpoll && other->name == "uring_unix";
      if (w != WaitMode::block && w != WaitMode::spin && !own) {
        EXPECT_FALSE(other->supports(w)) << other->name << " " << to_string(w);
      }
    }
    EXPECT_TRUE(other->supports(WaitMode::block)) << other->name;
  }
  EXPECT_TRUE(find_mechanism("uring_unix")->supports(WaitMode::sqpoll));
}

struct WaitCase {
  WaitMode wait;
  Pattern pattern;
  std::size_t capacity;
};

void PrintTo(const WaitCase& c, std::ostream* os) {
  *os << to_string(c.wait) << "/" << to_string(c.pattern) << "/capacity " << c.capacity;
}

std::vector<WaitCase> wait_cases() {
  std::vector<WaitCase> out;
  for (WaitMode w : kWaitModes) {
    if (!find_mechanism("shm_ring")->supports(w)) continue;
    for (Pattern p : {Pattern::pingpong, Pattern::stream}) {
      for (std::size_t c : {1, 16}) out.push_back({w, p, c});
    }
  }
  return out;
}

std::string wait_case_name(const ::testing::TestParamInfo<WaitCase>& info) {
  return std::string(to_string(info.param.wait)) + "_" +
         std::string(to_string(info.param.pattern)) + "_cap" + std::to_string(info.param.capacity);
}

// Through the harness: every message verified, and both CPU counters present.
class RingWait : public ::testing::TestWithParam<WaitCase> {};

TEST_P(RingWait, DeliversAndReportsCpuPerSide) {
  const WaitCase& c = GetParam();
  PairSpec spec;
  spec.mechanism = find_mechanism("shm_ring");
  spec.config = {
      .pattern = c.pattern, .msg_bytes = 64, .capacity_msgs = c.capacity, .wait = c.wait};
  spec.fixed_msgs = 5000;
  spec.timeout_seconds = 60;
  const PairResult r = run_pair(spec);
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.verify.errors(), 0u);
  EXPECT_GE(r.verify.verified, spec.fixed_msgs);
  // Side a's window is its measured loop (pingpong: then the batch-timed trips); side
  // b's runs from its first measured receipt to its last, one message fewer.
  const std::uint64_t batched_trips =
      c.pattern == Pattern::pingpong ? batch_count(spec.fixed_msgs) * kBatchTrips : 0;
  EXPECT_EQ(r.cpu[0].msgs, spec.fixed_msgs + batched_trips);
  EXPECT_EQ(r.cpu[1].msgs, spec.fixed_msgs + batched_trips - 1);
  for (int side = 0; side < 2; ++side) {
    const double per_msg = r.cpu[side].ns_per_msg();
    EXPECT_TRUE(std::isfinite(per_msg) && per_msg > 0) << "side " << side << ": " << per_msg;
    EXPECT_LE(r.cpu[side].sys_ns, r.cpu[side].user_ns + r.cpu[side].sys_ns);
  }
}

INSTANTIATE_TEST_SUITE_P(Wait, RingWait, ::testing::ValuesIn(wait_cases()), wait_case_name);

// A slow peer, so that the other side really waits: it sleeps (block, adaptive,
// eventfd, sem) or polls (spin, spin_yield) for a pause of kPauseNs per message.
// Run outside the harness, to put the pause on one side: two forked children over
// one channel, the parent only creates, forks and reaps.
constexpr std::uint64_t kSlowMsgs = 100;
constexpr long kPauseNs = 500'000;

struct SlowResult {
  std::uint64_t verified = 0, errors = 0;
  // The waiting side's own account of its run.
  std::uint64_t cpu_ns = 0, wall_ns = 0, voluntary_switches = 0;
  int failed = 0;  // a child threw
};

void pause_a_little() {
  const timespec t{0, kPauseNs};
  ::nanosleep(&t, nullptr);
}

std::uint64_t rusage_cpu_ns(const rusage& ru) {
  auto ns = [](const timeval& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(t.tv_usec) * 1000u;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

// Child: side `side` of `cfg` over `ep`; pauses before each message when `slow`.
// The side that is not slow records its CPU and wall time and its sleeps.
void slow_side(Side side, const ChannelConfig& cfg, Endpoint& ep, bool slow, SlowResult& out) {
  PayloadPool pool(cfg.msg_bytes, 7);
  Verifier verifier(pool, true);
  AlignedBuffer rx(cfg.msg_bytes);
  auto receive = [&] { return rx.span().first(ep.recv(rx.span())); };
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  const std::uint64_t t0 = now_ns();
  for (std::uint64_t seq = 0; seq < kSlowMsgs; ++seq) {
    if (slow) pause_a_little();
    if (cfg.pattern == Pattern::stream) {
      if (side == Side::a)
        ep.send(pool.message(seq));
      else
        verifier.check(receive());
    } else if (side == Side::a) {
      ep.send(pool.message(seq));
      verifier.check(receive());
    } else {
      const std::span<const std::byte> request = receive();
      ep.send(request);
      verifier.check(request);
    }
  }
  const std::uint64_t t1 = now_ns();
  ::getrusage(RUSAGE_SELF, &after);
  if (side == Side::b || cfg.pattern == Pattern::pingpong) {
    out.verified += verifier.counts().verified;
    out.errors += verifier.counts().errors();
  }
  if (!slow) {
    out.cpu_ns = rusage_cpu_ns(after) - rusage_cpu_ns(before);
    out.wall_ns = t1 - t0;
    out.voluntary_switches = static_cast<std::uint64_t>(after.ru_nvcsw - before.ru_nvcsw);
  }
}

SlowResult run_with_slow_peer(const ChannelConfig& cfg, Side slow) {
  std::unique_ptr<Channel> channel = find_mechanism("shm_ring")->create(cfg);
  Mapping shared = map_shared(sizeof(SlowResult) * 2);
  auto* results = new (shared.get()) SlowResult[2]{};
  pid_t pids[2];
  for (int i = 0; i < 2; ++i) {
    const Side side = i == 0 ? Side::a : Side::b;
    pids[i] = ::fork();
    if (pids[i] == 0) {
      ::alarm(30);  // a hang fails the test (SIGALRM) instead of stalling it
      try {
        std::unique_ptr<Endpoint> ep = channel->open(side);
        slow_side(side, cfg, *ep, side == slow, results[i]);
      } catch (...) {
        results[i].failed = 1;
      }
      ::_exit(results[i].failed);
    }
  }
  channel->forked();
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  SlowResult sum;
  for (const SlowResult& r : {results[0], results[1]}) {
    sum.verified += r.verified;
    sum.errors += r.errors;
    sum.failed += r.failed;
    sum.cpu_ns += r.cpu_ns;
    sum.wall_ns += r.wall_ns;
    sum.voluntary_switches += r.voluntary_switches;
  }
  return sum;
}

class RingSlowPeer : public ::testing::TestWithParam<WaitCase> {};

TEST_P(RingSlowPeer, WaitingSideWaitsItsWayAndLosesNothing) {
  const WaitCase& c = GetParam();
  const ChannelConfig cfg{
      .pattern = c.pattern, .msg_bytes = 64, .capacity_msgs = c.capacity, .wait = c.wait};
  for (Side slow : {Side::a, Side::b}) {
    SCOPED_TRACE(slow == Side::a ? "slow side a" : "slow side b");
    const SlowResult r = run_with_slow_peer(cfg, slow);
    EXPECT_EQ(r.failed, 0);
    EXPECT_EQ(r.errors, 0u);
    EXPECT_EQ(r.verified,
              kSlowMsgs * (c.pattern == Pattern::pingpong ? 2 : 1));  // requests + echoes
    if (c.wait == WaitMode::spin || c.wait == WaitMode::spin_yield) continue;
    // A sleeping mode really slept, and so used far less CPU than the wall time it
    // waited (each wait is kPauseNs; a wake costs tens of us at most). A busier
    // machine only lowers the CPU share, so this holds anywhere.
    EXPECT_GT(r.voluntary_switches, 0u);
    EXPECT_LT(static_cast<double>(r.cpu_ns), 0.5 * static_cast<double>(r.wall_ns))
        << "cpu " << r.cpu_ns << " ns over " << r.wall_ns << " ns";
  }
}

INSTANTIATE_TEST_SUITE_P(Wait, RingSlowPeer, ::testing::ValuesIn(wait_cases()), wait_case_name);

// A peer that dies mid-run: the survivor, asleep in a futex, an eventfd read or a
// sem_wait (or polling), is not woken by anything, so the harness's watch of the
// children must see the death, kill the survivor and report the case as failed,
// long before the deadline.
std::unique_ptr<Channel> create_dying(const ChannelConfig& cfg);

const Mechanism kDyingRing{
    .name = "dying_ring",
    .summary = "shm_ring whose side a (or b, for an odd capacity) is SIGKILLed after 1000 messages",
    .capacity_knob = "as shm_ring",
    .waits = WaitModes{WaitMode::block, WaitMode::spin, WaitMode::spin_yield, WaitMode::adaptive,
                       WaitMode::eventfd, WaitMode::sem},
    .create = create_dying,
};

class DyingEndpoint final : public Endpoint {
 public:
  explicit DyingEndpoint(std::unique_ptr<Endpoint> inner) : inner_(std::move(inner)) {}
  void send(std::span<const std::byte> msg) override {
    if (++messages_ > 1000) ::raise(SIGKILL);
    inner_->send(msg);
  }
  std::size_t recv(std::span<std::byte> buf) override {
    if (++messages_ > 1000) ::raise(SIGKILL);
    return inner_->recv(buf);
  }

 private:
  std::unique_ptr<Endpoint> inner_;
  std::uint64_t messages_ = 0;  // sent and received
};

class DyingChannel final : public Channel {
 public:
  DyingChannel(std::unique_ptr<Channel> inner, Side dies) : inner_(std::move(inner)), dies_(dies) {
    granted_ = inner_->granted();
  }
  std::unique_ptr<Endpoint> open(Side side) override {
    std::unique_ptr<Endpoint> ep = inner_->open(side);
    if (side == dies_) return std::make_unique<DyingEndpoint>(std::move(ep));
    return ep;
  }
  void forked() override { inner_->forked(); }

 private:
  std::unique_ptr<Channel> inner_;
  Side dies_;
};

// Odd capacity: side b dies (a stream producer then waits for space, a pingpong
// client for data); even: side a (the consumer or server waits for data).
std::unique_ptr<Channel> create_dying(const ChannelConfig& cfg) {
  return std::make_unique<DyingChannel>(find_mechanism("shm_ring")->create(cfg),
                                        cfg.capacity_msgs % 2 == 1 ? Side::b : Side::a);
}

class RingDeadPeer : public ::testing::TestWithParam<WaitCase> {};

TEST_P(RingDeadPeer, IsAFailureSeenBeforeTheDeadline) {
  const WaitCase& c = GetParam();
  PairSpec spec;
  spec.mechanism = &kDyingRing;
  spec.config = {.pattern = c.pattern,
                 .msg_bytes = 64,
                 .capacity_msgs = c.capacity == 1 ? 1u : 2u,
                 .wait = c.wait};
  spec.fixed_msgs = 1'000'000'000ull;
  spec.timeout_seconds = 30;
  const std::uint64_t t0 = now_ns();
  const PairResult r = run_pair(spec);
  const double seconds = static_cast<double>(now_ns() - t0) * 1e-9;
  EXPECT_EQ(r.outcome, Outcome::failed);
  EXPECT_NE(r.message.find("killed by signal 9"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("timed out"), std::string::npos) << r.message;
  EXPECT_LT(seconds, 10.0);
}

INSTANTIATE_TEST_SUITE_P(Wait, RingDeadPeer, ::testing::ValuesIn(wait_cases()), wait_case_name);

// Spinning burns the CPU: a spinning consumer's CPU time per message is about its
// wall time per message. Asserted as >= half, unless another task took its CPU
// (an involuntary switch), which makes CPU time fall below wall time on any
// machine. Robust facts only: no speed is asserted.
TEST(RingCpu, SpinningConsumerBurnsItsWallTime) {
  PairSpec spec;
  spec.mechanism = find_mechanism("shm_ring");
  spec.config = {
      .pattern = Pattern::stream, .msg_bytes = 64, .capacity_msgs = 16, .wait = WaitMode::spin};
  spec.target_seconds = 0.1;
  const PairResult r = run_pair(spec);
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  const double wall_ns_per_msg = r.measured_seconds * 1e9 / static_cast<double>(r.measured_msgs);
  const double cpu_ns_per_msg = r.cpu[1].ns_per_msg();
  ASSERT_TRUE(std::isfinite(cpu_ns_per_msg) && cpu_ns_per_msg > 0) << cpu_ns_per_msg;
  ASSERT_TRUE(std::isfinite(r.cpu[0].ns_per_msg()) && r.cpu[0].ns_per_msg() > 0);
  if (cpu_ns_per_msg < 0.5 * wall_ns_per_msg) {
    EXPECT_GT(r.cpu[1].involuntary_switches, 0u)
        << "a spinning consumer used " << cpu_ns_per_msg << " ns of CPU per " << wall_ns_per_msg
        << " ns message without being preempted";
  }
}

}  // namespace
}  // namespace ipcbench
