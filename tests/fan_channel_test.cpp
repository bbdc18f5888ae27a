// Conformance of the shared channels behind fanin and fanout, for every registered
// mechanism that claims them:
//   many_writers  3 producer processes open side a of one channel and send at once; one
//                 consumer checks each producer's messages arrive whole, in order, intact
//                 and (unless the mechanism may lose) all of them.
//   broadcast     one producer; 3 consumer processes open side b and each receives every
//                 message, in order.
// and that a producer killed mid-run neither hangs the consumer nor leaves anything
// behind. Children report through their exit status and one line on stderr; the test
// process enforces a deadline on every run and kills what is still alive at it.
//
// Message format (64 B, and PIPE_BUF = 4096 B for byte streams, whose several writers
// stay apart only through atomic writes): [0..4) producer id, [4..12) seq, then bytes
// derived from (id, seq), so a message that is torn, interleaved with another or
// delivered to the wrong place fails the comparison.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "harness/error.hpp"
#include "harness/registry.hpp"
#include "tests/children.hpp"
#include "tests/leaks.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kMsgBytes = 64;
constexpr std::size_t kHeaderBytes = 12;
constexpr std::size_t kCapacityMsgs = 16;
constexpr unsigned kFanCount = 3;  // producers (fanin) or consumers (broadcast)
// Spinning runs put 4 pollers on what may be 2 CPUs, where each message can cost a
// scheduler time slice: they send fewer.
constexpr std::uint64_t kBlockMsgsPerProducer = 3000;
constexpr std::uint64_t kSpinMsgsPerProducer = 300;
// The killed producer stops after this fraction of the others' messages.
constexpr std::uint64_t kVictimShare = 10;
// Only a hang comes near it: the slowest run takes under a second.
constexpr auto kDeadline = std::chrono::seconds(8);
// A producer on a mechanism that may lose keeps at most this many messages unread, so
// the test checks loss the channel causes, not loss a consumer outrun by 3 producers
// causes (the suite measures that). The channel holds kCapacityMsgs.
constexpr std::uint64_t kLossyWindowMsgs = kCapacityMsgs / kFanCount;
constexpr auto kLossyWindowWait = std::chrono::milliseconds(2);

std::uint64_t msgs_per_producer(WaitMode wait) {
  return wait == WaitMode::spin ? kSpinMsgsPerProducer : kBlockMsgsPerProducer;
}

struct Param {
  const Mechanism* mechanism;
  WaitMode wait;
  std::size_t msg_bytes = kMsgBytes;
};

void PrintTo(const Param& p, std::ostream* os) {
  *os << p.mechanism->name << "/" << to_string(p.wait) << "/" << p.msg_bytes;
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  return std::string(info.param.mechanism->name) + "_" + std::string(to_string(info.param.wait)) +
         "_" + std::to_string(info.param.msg_bytes);
}

// Mechanisms with `flag`, in block and (where supported) spin; byte streams also with
// messages of PIPE_BUF, the largest their writers keep whole.
std::vector<Param> params(bool Mechanism::*flag) {
  std::vector<Param> out;
  for (const Mechanism* m : mechanisms()) {
    if (!(m->*flag) || !m->stream) continue;
    for (WaitMode w : {WaitMode::block, WaitMode::spin}) {
      if (m->supports(w)) out.push_back({m, w});
    }
    if (m->family == kFamilyByteStream) out.push_back({m, WaitMode::block, PIPE_BUF});
  }
  return out;
}

// The bytes of message (id, seq) past the header: splitmix64 of both.
void fill_payload(std::span<std::byte> msg, std::uint32_t id, std::uint64_t seq) {
  std::uint64_t x = (std::uint64_t{id} << 56) ^ seq;
  for (std::size_t off = kHeaderBytes; off < msg.size(); off += 8) {
    x += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::memcpy(msg.data() + off, &z, std::min<std::size_t>(8, msg.size() - off));
  }
}

void make_message(std::span<std::byte> msg, std::uint32_t id, std::uint64_t seq) {
  std::memcpy(msg.data(), &id, 4);
  std::memcpy(msg.data() + 4, &seq, 8);
  fill_payload(msg, id, seq);
}

// State the children share (an anonymous shared mapping made before fork).
struct Shared {
  std::atomic<std::uint32_t> consumers_done{0};
  std::atomic<bool> victim_sent{false};  // the victim has sent all it will and stops
  // [consumer][producer]: the next seq the consumer waits for (may_lose only).
  std::atomic<std::uint64_t> next[kFanCount][kFanCount] = {};
};

class SharedState {
 public:
  SharedState() {
    void* p =
        ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw SysError("mmap", "shared test state");
    shared_ = new (p) Shared{};
  }
  ~SharedState() { ::munmap(shared_, sizeof(Shared)); }
  Shared* operator->() const noexcept { return shared_; }

 private:
  Shared* shared_;
};

// may_lose: waits (for kLossyWindowWait at most, in case the rest was lost) until
// every consumer is within kLossyWindowMsgs of message `seq` of producer `id`.
void await_window(const Shared& shared, std::uint32_t id, std::uint64_t seq, unsigned consumers) {
  auto behind = [&] {
    for (unsigned c = 0; c < consumers; ++c) {
      if (seq >= shared.next[c][id].load() + kLossyWindowMsgs) return true;
    }
    return false;
  };
  const auto give_up = std::chrono::steady_clock::now() + kLossyWindowWait;
  while (behind() && std::chrono::steady_clock::now() < give_up) ::sched_yield();
}

// Producer `id`: messages 0 .. count-1. A victim stops itself after them (SIGSTOP) and
// is killed by the test there. Where the mechanism may lose, the last message is sent
// again until every consumer is done, so a lost last message cannot hang them.
int produce(Channel& ch, const Mechanism& m, std::size_t msg_bytes, Shared& shared,
            std::uint32_t id, std::uint64_t count, bool victim, unsigned consumers) {
  auto ep = ch.open(Side::a);
  std::vector<std::byte> msg(msg_bytes);
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    if (m.may_lose) await_window(shared, id, seq, consumers);
    make_message(msg, id, seq);
    ep->send(msg);
  }
  if (victim) {
    shared.victim_sent.store(true);
    ::raise(SIGSTOP);  // killed here
  }
  // A repeat that races a consumer's exit may find its socket gone: that is the end.
  while (m.may_lose && shared.consumers_done.load() < consumers) {
    try {
      ep->send(msg);
    } catch (const PeerError&) {
      if (shared.consumers_done.load() < consumers) throw;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return 0;
}

// What one consumer expects from each producer.
struct Expect {
  std::uint64_t count = 0;  // messages 0 .. count-1
  // false: the consumer does not wait for all of them (a lossy victim's), only until
  // their producer has sent them (Shared::victim_sent)
  bool wait_for_all = true;
};

// One consumer: every producer's messages whole and in order, all of them unless the
// mechanism may lose (then at least half). Returns the exit status: 0 if all is well.
int consume(Channel& ch, const Mechanism& m, std::size_t msg_bytes, Shared& shared, unsigned index,
            const std::vector<Expect>& expect) {
  auto ep = ch.open(Side::b);
  std::vector<std::uint64_t> next(expect.size(), 0), got(expect.size(), 0);
  std::vector<std::byte> buf(msg_bytes), want(msg_bytes);
  auto complete = [&] {
    for (std::size_t i = 0; i < expect.size(); ++i) {
      if (expect[i].wait_for_all ? next[i] < expect[i].count : !shared.victim_sent.load())
        return false;
    }
    return true;
  };
  int status = 0;
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "consumer %d (%.*s): %s\n", ::getpid(), int(m.name.size()), m.name.data(),
                 why.c_str());
    status = 1;
  };
  while (status == 0 && !complete()) {
    const std::size_t n = ep->recv(buf);
    std::uint32_t id = 0;
    std::uint64_t seq = 0;
    std::memcpy(&id, buf.data(), 4);
    std::memcpy(&seq, buf.data() + 4, 8);
    if (n != msg_bytes || id >= expect.size() || seq >= expect[id].count) {
      fail("a message of " + std::to_string(n) + " B from producer " + std::to_string(id) +
           " seq " + std::to_string(seq) + ": torn or interleaved");
      break;
    }
    make_message(want, id, seq);
    if (buf != want) {
      fail("producer " + std::to_string(id) + " seq " + std::to_string(seq) + " corrupted");
    } else if (seq < next[id]) {
      // The last message repeated after the end (may_lose) is the one allowed repeat.
      if (!(m.may_lose && seq + 1 == expect[id].count && next[id] == expect[id].count))
        fail("producer " + std::to_string(id) + " seq " + std::to_string(seq) + " after " +
             std::to_string(next[id] - 1) + ": reordered or duplicated");
    } else if (seq > next[id] && !m.may_lose) {
      fail("producer " + std::to_string(id) + ": messages " + std::to_string(next[id]) + ".." +
           std::to_string(seq - 1) + " lost");
    } else {
      next[id] = seq + 1;
      ++got[id];
      if (m.may_lose) shared.next[index][id].store(next[id]);
    }
  }
  shared.consumers_done.fetch_add(1);
  for (std::size_t i = 0; status == 0 && i < expect.size(); ++i) {
    if (expect[i].wait_for_all && got[i] * 2 < expect[i].count)
      fail("producer " + std::to_string(i) + ": only " + std::to_string(got[i]) + " of " +
           std::to_string(expect[i].count) + " delivered");
  }
  return status;
}

struct Reaped {
  std::vector<int> statuses;  // per child, in spawn order
  bool timed_out = false;
};

// Waits for every child until the deadline, then SIGKILLs and reaps what is left.
Reaped reap_all(const std::vector<pid_t>& pids) {
  Reaped r{std::vector<int>(pids.size(), -1), false};
  std::vector<bool> done(pids.size(), false);
  const auto give_up = std::chrono::steady_clock::now() + kDeadline;
  std::size_t left = pids.size();
  while (left > 0) {
    for (std::size_t i = 0; i < pids.size(); ++i) {
      if (!done[i] && ::waitpid(pids[i], &r.statuses[i], WNOHANG) == pids[i]) {
        done[i] = true;
        --left;
      }
    }
    if (left == 0) break;
    if (std::chrono::steady_clock::now() > give_up) {
      r.timed_out = true;
      for (std::size_t i = 0; i < pids.size(); ++i) {
        if (done[i]) continue;
        ::kill(pids[i], SIGKILL);
        ::waitpid(pids[i], &r.statuses[i], 0);
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return r;
}

bool exited_zero(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::unique_ptr<Channel> make_channel(const Param& p, unsigned producers, unsigned consumers) {
  const ChannelConfig cfg{.pattern = Pattern::stream,
                          .msg_bytes = p.msg_bytes,
                          .capacity_msgs = kCapacityMsgs,
                          .wait = p.wait,
                          .consumers = consumers,
                          .producers = producers};
  return open_channel(*p.mechanism, cfg);
}

// Everything a run must leave as it found: named objects and SysV objects.
class LeakCheck {
 public:
  ~LeakCheck() {
    EXPECT_EQ(own_named_objects(), named_) << "left named objects behind";
    EXPECT_EQ(sysv_objects(), sysv_) << "left SysV objects behind (ipcs)";
  }

 private:
  std::set<std::string> named_ = own_named_objects();
  std::set<std::string> sysv_ = sysv_objects();
};

class ManyWriters : public ::testing::TestWithParam<Param> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ManyWriters);

// 3 producers, one consumer: every producer's messages whole, in order, intact.
TEST_P(ManyWriters, EveryProducersMessagesArriveWholeAndInOrder) {
  const Param& p = GetParam();
  LeakCheck leaks;
  SharedState shared;
  std::unique_ptr<Channel> ch;
  try {
    ch = make_channel(p, kFanCount, 1);
  } catch (const NotRunnable& e) {
    GTEST_SKIP() << e.what();
  }
  const std::uint64_t count = msgs_per_producer(p.wait);
  std::vector<pid_t> pids;
  for (std::uint32_t id = 0; id < kFanCount; ++id) {
    pids.push_back(spawn([&] {
      return produce(*ch, *p.mechanism, p.msg_bytes, *shared.operator->(), id, count, false, 1);
    }));
  }
  pids.push_back(spawn([&] {
    return consume(*ch, *p.mechanism, p.msg_bytes, *shared.operator->(), 0,
                   std::vector<Expect>(kFanCount, {count, true}));
  }));
  ch->forked();
  const Reaped r = reap_all(pids);
  ch.reset();
  EXPECT_FALSE(r.timed_out) << "a child was still running at the deadline";
  for (std::size_t i = 0; i < pids.size(); ++i)
    EXPECT_TRUE(exited_zero(r.statuses[i])) << "child " << i << " status " << r.statuses[i];
}

// Producer 0 stops after a tenth of its messages and is SIGKILLed while the other two go
// on. The consumer must not hang: either it receives everything the survivors send
// (and, where nothing is lost, the victim's messages) and exits, or the channel tells
// it that a peer ended (PeerError: a mechanism that watches its peers may end the case
// there, as zmq's do); then the survivors, which may wait on a full channel that no one
// reads, are killed. Either way nothing is left behind. The victim is killed between
// sends, not inside one: a producer killed inside a send may stall a shared-memory
// queue's consumer by design (shm_mpsc documents it), and the harness's watchdog, not
// the channel, ends such a case.
TEST_P(ManyWriters, KilledProducerNeitherHangsTheConsumerNorLeaks) {
  const Param& p = GetParam();
  LeakCheck leaks;
  SharedState shared;
  std::unique_ptr<Channel> ch;
  try {
    ch = make_channel(p, kFanCount, 1);
  } catch (const NotRunnable& e) {
    GTEST_SKIP() << e.what();
  }
  const std::uint64_t count = msgs_per_producer(p.wait);
  std::vector<Expect> expect(kFanCount, {count, true});
  expect[0] = {count / kVictimShare, !p.mechanism->may_lose};
  std::vector<pid_t> pids;
  for (std::uint32_t id = 0; id < kFanCount; ++id) {
    pids.push_back(spawn([&] {
      return produce(*ch, *p.mechanism, p.msg_bytes, *shared.operator->(), id, expect[id].count,
                     id == 0, 1);
    }));
  }
  pids.push_back(spawn(
      [&] { return consume(*ch, *p.mechanism, p.msg_bytes, *shared.operator->(), 0, expect); }));
  ch->forked();
  int victim_status = 0;
  ASSERT_EQ(::waitpid(pids[0], &victim_status, WUNTRACED), pids[0]);
  if (WIFSTOPPED(victim_status)) {
    ::kill(pids[0], SIGKILL);
    ::waitpid(pids[0], &victim_status, 0);
  }
  EXPECT_TRUE(WIFSIGNALED(victim_status)) << "the victim ended before its kill: " << victim_status;
  const Reaped consumer = reap_all({pids.back()});
  pids.pop_back();
  const int status = consumer.statuses[0];
  const bool told = WIFEXITED(status) && WEXITSTATUS(status) == kPeerGoneStatus;
  if (told) {
    for (std::size_t i = 1; i < pids.size(); ++i) ::kill(pids[i], SIGKILL);
  }
  const Reaped survivors = reap_all({pids.begin() + 1, pids.end()});
  ch.reset();
  EXPECT_FALSE(consumer.timed_out) << "the consumer hung after the kill";
  EXPECT_TRUE(exited_zero(status) || told) << "consumer status " << status;
  if (told) return;
  EXPECT_FALSE(survivors.timed_out) << "a surviving producer hung";
  for (std::size_t i = 0; i < survivors.statuses.size(); ++i) {
    EXPECT_TRUE(exited_zero(survivors.statuses[i]))
        << "producer " << i + 1 << " status " << survivors.statuses[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, ManyWriters,
                         ::testing::ValuesIn(params(&Mechanism::many_writers)), param_name);

class Broadcast : public ::testing::TestWithParam<Param> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Broadcast);

// One producer, 3 consumers on one channel: each receives every message, in order.
TEST_P(Broadcast, EveryConsumerReceivesEveryMessageInOrder) {
  const Param& p = GetParam();
  LeakCheck leaks;
  SharedState shared;
  std::unique_ptr<Channel> ch;
  try {
    ch = make_channel(p, 1, kFanCount);
  } catch (const NotRunnable& e) {
    GTEST_SKIP() << e.what();
  }
  const std::uint64_t count = msgs_per_producer(p.wait);
  std::vector<pid_t> pids;
  pids.push_back(spawn([&] {
    return produce(*ch, *p.mechanism, p.msg_bytes, *shared.operator->(), 0, count, false,
                   kFanCount);
  }));
  for (unsigned c = 0; c < kFanCount; ++c) {
    pids.push_back(spawn([&] {
      return consume(*ch, *p.mechanism, p.msg_bytes, *shared.operator->(), c,
                     std::vector<Expect>(1, {count, true}));
    }));
  }
  ch->forked();
  const Reaped r = reap_all(pids);
  ch.reset();
  EXPECT_FALSE(r.timed_out) << "a child was still running at the deadline";
  for (std::size_t i = 0; i < pids.size(); ++i)
    EXPECT_TRUE(exited_zero(r.statuses[i])) << "child " << i << " status " << r.statuses[i];
}

INSTANTIATE_TEST_SUITE_P(Registry, Broadcast, ::testing::ValuesIn(params(&Mechanism::broadcast)),
                         param_name);

// Says which mechanisms the suites above cover, so an empty list is visible rather
// than a silent pass.
TEST(FanChannels, ListsWhatIsCovered) {
  std::string writers, broadcasters;
  for (const Mechanism* m : mechanisms()) {
    if (m->many_writers) writers += std::string(writers.empty() ? "" : ", ") + std::string(m->name);
    if (m->broadcast)
      broadcasters += std::string(broadcasters.empty() ? "" : ", ") + std::string(m->name);
  }
  std::printf("many_writers: %s\nbroadcast: %s\n", writers.empty() ? "(none)" : writers.c_str(),
              broadcasters.empty() ? "(none)" : broadcasters.c_str());
  if (broadcasters.empty()) GTEST_SKIP() << "no mechanism has broadcast: Broadcast.* has no cases";
}

// A byte stream keeps several writers' messages apart only while each write is atomic
// (PIPE_BUF bytes): past it, a shared channel must refuse, saying why.
TEST(FanChannels, ByteStreamsRefuseManyWritersPastAtomicWrites) {
  for (const Mechanism* m : mechanisms()) {
    if (!m->many_writers || m->family != kFamilyByteStream) continue;
    const ChannelConfig cfg{.pattern = Pattern::stream,
                            .msg_bytes = PIPE_BUF + 1,
                            .capacity_msgs = 4,
                            .wait = WaitMode::block,
                            .producers = 2};
    LeakCheck leaks;
    try {
      open_channel(*m, cfg);
      ADD_FAILURE() << m->name << " accepted " << cfg.msg_bytes << " B messages from 2 writers";
    } catch (const NotRunnable& e) {
      EXPECT_NE(std::string(e.what()).find("PIPE_BUF"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace ipcbench
