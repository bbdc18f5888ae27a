// signal (mechanisms/signal.cpp): what the conformance suite cannot see. Its sizes
// above 8 bytes are not runnable, so the cases here run every runnable kind of
// message (1, 4 and 8 bytes) in both patterns and waits; a capacity past
// RLIMIT_SIGPENDING is refused naming it; a full queue makes the sender wait (asleep in
// block) and loses nothing; a stranger's signal is never taken as a message; and the
// test process's own signal mask, handlers and limit are left as they were.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>
#include <thread>

#include "harness/error.hpp"
#include "harness/message.hpp"
#include "harness/owners.hpp"
#include "harness/pair.hpp"
#include "harness/registry.hpp"
#include "tests/children.hpp"

namespace ipcbench {
namespace {

// The signal a -> b uses (mechanisms/signal.cpp, kAtoBOffset): what a stranger sends.
int a_to_b_signal() { return SIGRTMIN + 4; }

const Mechanism& signal_mechanism() {
  const Mechanism* m = find_mechanism("signal");
  if (m == nullptr) throw std::logic_error("no mechanism named signal");
  return *m;
}

// This process's state that the mechanism must never change.
struct OwnSignalState {
  sigset_t mask;
  struct sigaction action[2];
  rlimit limit;
  static OwnSignalState now() {
    OwnSignalState s{};
    ::sigprocmask(SIG_BLOCK, nullptr, &s.mask);
    ::sigaction(SIGRTMIN + 4, nullptr, &s.action[0]);
    ::sigaction(SIGRTMIN + 5, nullptr, &s.action[1]);
    ::getrlimit(RLIMIT_SIGPENDING, &s.limit);
    return s;
  }
  bool operator==(const OwnSignalState& o) const {
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sigismember(&mask, sig) != sigismember(&o.mask, sig)) return false;
    }
    for (int i = 0; i < 2; ++i) {
      if (action[i].sa_handler != o.action[i].sa_handler) return false;
    }
    return limit.rlim_cur == o.limit.rlim_cur && limit.rlim_max == o.limit.rlim_max;
  }
};

TEST(Signal, LargerThanASigvalIsNotRunnableWithTheReason) {
  try {
    signal_mechanism().create({.pattern = Pattern::stream, .msg_bytes = 64});
    FAIL() << "64 B was accepted";
  } catch (const NotRunnable& e) {
    EXPECT_STREQ(e.what(),
                 "signal: a real-time signal carries 8 bytes (union sigval); 64 B does not fit");
  }
  try {
    signal_mechanism().create({.pattern = Pattern::stream, .msg_bytes = 9});
    FAIL() << "9 B was accepted";
  } catch (const NotRunnable& e) {
    EXPECT_NE(std::string(e.what()).find("9 B does not fit"), std::string::npos) << e.what();
  }
}

TEST(Signal, CapacityPastRlimitSigpendingIsNotRunnableNamingIt) {
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_SIGPENDING, &rl), 0);
  if (rl.rlim_cur == RLIM_INFINITY) GTEST_SKIP() << "RLIMIT_SIGPENDING is unlimited here";
  PairSpec spec;
  spec.mechanism = &signal_mechanism();
  spec.config = {.pattern = Pattern::stream,
                 .msg_bytes = 8,
                 .capacity_msgs = rl.rlim_cur + 1,
                 .wait = WaitMode::block};
  spec.fixed_msgs = 10;
  const PairResult r = run_pair(spec);
  EXPECT_EQ(r.outcome, Outcome::not_runnable) << r.message;
  EXPECT_NE(r.message.find("RLIMIT_SIGPENDING " + std::to_string(rl.rlim_cur)), std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("ulimit -i"), std::string::npos) << r.message;
}

TEST(Signal, GrantedCapacityAndTheLimitAreRecorded) {
  const auto channel = signal_mechanism().create(
      {.pattern = Pattern::stream, .msg_bytes = 8, .capacity_msgs = 16, .wait = WaitMode::block});
  EXPECT_EQ(channel->granted().capacity_msgs, 16u);
  EXPECT_EQ(channel->granted().capacity_bytes, 16u * 8);
  EXPECT_TRUE(channel->granted().detail.starts_with("RLIMIT_SIGPENDING "))
      << channel->granted().detail;
}

struct RunParam {
  Pattern pattern;
  WaitMode wait;
  std::size_t size;
};

std::string run_param_name(const ::testing::TestParamInfo<RunParam>& info) {
  return std::string(to_string(info.param.pattern)) + "_" +
         std::string(to_string(info.param.wait)) + "_" + std::to_string(info.param.size);
}

class SignalRuns : public ::testing::TestWithParam<RunParam> {};

// As the conformance suite's case, at the sizes a signal carries.
TEST_P(SignalRuns, EveryMessageIsVerifiedAndNothingOfOursChanges) {
  const RunParam& p = GetParam();
  const OwnSignalState before = OwnSignalState::now();
  PairSpec spec;
  spec.mechanism = &signal_mechanism();
  spec.config = {.pattern = p.pattern, .msg_bytes = p.size, .capacity_msgs = 4, .wait = p.wait};
  spec.fixed_msgs = 2000;
  spec.timeout_seconds = 60;
  const PairResult r = run_pair(spec);
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  const std::uint64_t per_msg = p.pattern == Pattern::pingpong ? 2 : 1;
  EXPECT_EQ(r.verify.errors(), 0u) << r.verify.describe();
  EXPECT_GE(r.verify.verified, spec.fixed_msgs * per_msg);
  EXPECT_EQ(r.measured_msgs + (p.pattern == Pattern::stream ? 1 : 0), spec.fixed_msgs);
  if (p.pattern == Pattern::pingpong || p.size >= kMinStampedBytes) {
    EXPECT_GT(r.latency_ns.count(), 0u);
  }
  EXPECT_TRUE(OwnSignalState::now() == before) << "the test process's signal state changed";
  for (const char* role : {"ipcb-client", "ipcb-server", "ipcb-producer", "ipcb-consumer"})
    EXPECT_EQ(find_child(role), -1) << role << " outlived its case";
}

std::vector<RunParam> run_params() {
  std::vector<RunParam> out;
  for (Pattern p : {Pattern::pingpong, Pattern::stream}) {
    for (WaitMode w : {WaitMode::block, WaitMode::spin}) {
      for (std::size_t s : {1, 4, 8}) out.push_back({p, w, s});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Sizes, SignalRuns, ::testing::ValuesIn(run_params()), run_param_name);

// What the two hand-forked sides of a stream tell the test, in shared memory.
struct Board {
  std::atomic<std::uint64_t> sent{0};      // producer: messages sent so far
  std::atomic<std::uint32_t> consume{0};   // test: the consumer may start taking
  std::atomic<std::uint64_t> verified{0};  // consumer: what its verifier counted
  std::atomic<std::uint64_t> errors{0};
};

constexpr std::size_t kBoardMsgBytes = 8;
constexpr std::uint64_t kSeed = 1234;

[[noreturn]] void run_producer(Channel& channel, Board& board, std::uint64_t msgs) {
  try {
    const auto ep = channel.open(Side::a);
    PayloadPool pool(kBoardMsgBytes, kSeed);
    for (std::uint64_t s = 0; s < msgs; ++s) {
      ep->send(pool.message(s));
      board.sent.fetch_add(1, std::memory_order_release);
    }
  } catch (...) {
    ::_exit(1);
  }
  ::_exit(0);
}

[[noreturn]] void run_consumer(Channel& channel, Board& board, std::uint64_t msgs) {
  try {
    const auto ep = channel.open(Side::b);
    while (board.consume.load(std::memory_order_acquire) == 0) ::usleep(1000);
    PayloadPool pool(kBoardMsgBytes, kSeed);
    Verifier verifier(pool, true);
    AlignedBuffer buf(kBoardMsgBytes);
    for (std::uint64_t i = 0; i < msgs; ++i) verifier.check(buf.span().first(ep->recv(buf.span())));
    board.verified = verifier.counts().verified;
    board.errors = verifier.counts().errors();
  } catch (...) {
    ::_exit(1);
  }
  ::_exit(0);
}

// The user's pending signals over all of its processes (SigQ's first number).
long user_pending_signals() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("SigQ:", 0) == 0) return std::stol(line.substr(5));
  }
  return -1;
}

char process_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const std::size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() ? line[close + 2] : '?';
}

// Whether process pid blocks signal sig (SigBlk in its status).
bool blocks(pid_t pid, int sig) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("SigBlk:", 0) == 0)
      return (std::stoull(line.substr(7), nullptr, 16) >> (sig - 1)) & 1;
  }
  return false;
}

bool exited_ok(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

template <typename Pred>
bool within_seconds(double s, Pred pred) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(s);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class SignalFull : public ::testing::TestWithParam<WaitMode> {};

// The consumer takes nothing until the test says so: the producer sends exactly the
// capacity and then waits (asleep in block, on the CPU in spin); then everything
// arrives, in order, verified.
TEST_P(SignalFull, AFullQueueStopsTheSenderAndLosesNothing) {
  constexpr std::uint64_t kCapacity = 4, kMsgs = 500;
  const long others_before = user_pending_signals();
  const auto channel = signal_mechanism().create({.pattern = Pattern::stream,
                                                  .msg_bytes = kBoardMsgBytes,
                                                  .capacity_msgs = kCapacity,
                                                  .wait = GetParam()});
  Mapping map = map_shared(sizeof(Board));
  auto* board = new (map.get()) Board{};
  const pid_t consumer = ::fork();
  if (consumer == 0) run_consumer(*channel, *board, kMsgs);
  const pid_t producer = ::fork();
  if (producer == 0) run_producer(*channel, *board, kMsgs);
  channel->forked();
  EXPECT_TRUE(within_seconds(10, [&] { return board->sent.load() >= kCapacity; }))
      << "sent " << board->sent.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // time to overrun, if it could
  // Exactly the capacity while the user's other pending signals stay as they were;
  // each one more or fewer since create() shifts it by one (taken as given).
  const long sent = static_cast<long>(board->sent.load());
  const long drift = others_before - (user_pending_signals() - sent);
  EXPECT_LE(std::labs(sent - static_cast<long>(kCapacity)), std::labs(drift))
      << "sent " << sent << " with capacity " << kCapacity << ", other pending signals "
      << others_before << " at create and " << others_before - drift << " now";
  if (GetParam() == WaitMode::block) {
    // Its futex sleep ends every millisecond to try again (another process's signals
    // may be what fills the queue), so a single look may catch it awake: most looks
    // must find it asleep.
    int asleep = 0;
    for (int look = 0; look < 20; ++look) {
      asleep += process_state(producer) == 'S' ? 1 : 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GE(asleep, 15) << "a blocking sender must sleep while the queue is full";
  } else {
    EXPECT_EQ(process_state(producer), 'R') << "a spinning sender stays on the CPU";
  }
  board->consume.store(1);
  EXPECT_TRUE(exited_ok(consumer));
  EXPECT_TRUE(exited_ok(producer));
  EXPECT_EQ(board->verified.load(), kMsgs);
  EXPECT_EQ(board->errors.load(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Waits, SignalFull, ::testing::Values(WaitMode::block, WaitMode::spin),
                         [](const auto& info) { return std::string(to_string(info.param)); });

// Before the producer exists, this process (a stranger to the consumer) queues the
// consumer's own signal carrying a well-formed message 0, and kills it with the signal
// as well. Taken as a message, either would be a duplicate or corrupt message 0.
TEST(Signal, AStrangersSignalIsNotTakenAsAMessage) {
  constexpr std::uint64_t kMsgs = 100;
  const auto channel = signal_mechanism().create({.pattern = Pattern::stream,
                                                  .msg_bytes = kBoardMsgBytes,
                                                  .capacity_msgs = 16,
                                                  .wait = WaitMode::block});
  Mapping map = map_shared(sizeof(Board));
  auto* board = new (map.get()) Board{};
  board->consume.store(1);
  const pid_t consumer = ::fork();
  if (consumer == 0) run_consumer(*channel, *board, kMsgs);
  // The consumer blocks its signal in open(), before it publishes its pid; until then
  // the signal would kill it.
  ASSERT_TRUE(within_seconds(10, [&] { return blocks(consumer, a_to_b_signal()); }));
  PayloadPool pool(kBoardMsgBytes, kSeed);
  sigval forged{};
  std::memcpy(&forged, pool.message(0).data(), kBoardMsgBytes);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(::sigqueue(consumer, a_to_b_signal(), forged), 0);
  EXPECT_EQ(::kill(consumer, a_to_b_signal()), 0);
  const pid_t producer = ::fork();
  if (producer == 0) run_producer(*channel, *board, kMsgs);
  channel->forked();
  EXPECT_TRUE(exited_ok(consumer)) << "the consumer failed or died";
  EXPECT_TRUE(exited_ok(producer));
  EXPECT_EQ(board->verified.load(), kMsgs);
  EXPECT_EQ(board->errors.load(), 0u);
}

}  // namespace
}  // namespace ipcbench
