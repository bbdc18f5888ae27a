// A broadcast channel's producer must not send before every consumer can receive (the
// slow joiner: a subscriber that connects after a publish misses it). For every
// `broadcast` mechanism: two consumers, one of which opens its end 300 ms after the
// other; each must still receive every message from the first, in order.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
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
constexpr std::uint64_t kMsgs = 200;
constexpr unsigned kConsumers = 2;
constexpr auto kLateJoin = std::chrono::milliseconds(300);
constexpr auto kDeadline = std::chrono::seconds(5);

// Consumers done, shared by the children: the producer stays until they are (as the
// harness's producers do), so no mechanism needs to outlive its sender.
class DoneCount {
 public:
  DoneCount() {
    void* p = ::mmap(nullptr, sizeof(std::atomic<unsigned>), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw SysError("mmap", "done count");
    done_ = new (p) std::atomic<unsigned>(0);
  }
  ~DoneCount() { ::munmap(done_, sizeof *done_); }
  std::atomic<unsigned>& operator*() const noexcept { return *done_; }

 private:
  std::atomic<unsigned>* done_;
};

int produce(Channel& ch, std::atomic<unsigned>& done) {
  auto ep = ch.open(Side::a);
  std::array<std::byte, kMsgBytes> msg{};
  for (std::uint64_t seq = 0; seq < kMsgs; ++seq) {
    std::memcpy(msg.data(), &seq, sizeof seq);
    ep->send(msg);
  }
  while (done.load() < kConsumers) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return 0;
}

int consume(Channel& ch, std::atomic<unsigned>& done, bool late) {
  if (late) std::this_thread::sleep_for(kLateJoin);
  auto ep = ch.open(Side::b);
  std::array<std::byte, kMsgBytes> buf{};
  for (std::uint64_t want = 0; want < kMsgs; ++want) {
    const std::size_t n = ep->recv(buf);
    std::uint64_t seq = 0;
    std::memcpy(&seq, buf.data(), sizeof seq);
    if (n != kMsgBytes || seq != want) {
      std::fprintf(stderr, "%s consumer: got message %llu (%zu B), expected %llu\n",
                   late ? "late" : "early", static_cast<unsigned long long>(seq), n,
                   static_cast<unsigned long long>(want));
      done.fetch_add(1);
      return 1;
    }
  }
  done.fetch_add(1);
  return 0;
}

// Not a mechanism that may lose (udp_mcast): it promises no message to a member that
// has not joined yet, nor to one whose buffer is full, and its producer waits for no
// one (the harness's start barrier has every consumer joined before the first send).
std::vector<const Mechanism*> broadcasters() {
  std::vector<const Mechanism*> out;
  for (const Mechanism* m : mechanisms()) {
    if (m->broadcast && m->stream && !m->may_lose) out.push_back(m);
  }
  return out;
}

class LateConsumer : public ::testing::TestWithParam<const Mechanism*> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(LateConsumer);

TEST_P(LateConsumer, ReceivesEveryMessageFromTheFirst) {
  const Mechanism& m = *GetParam();
  const auto named_before = own_named_objects();
  DoneCount done;
  std::unique_ptr<Channel> ch;
  try {
    ch = open_channel(m, {.pattern = Pattern::stream,
                          .msg_bytes = kMsgBytes,
                          .capacity_msgs = 4,
                          .wait = WaitMode::block,
                          .consumers = kConsumers});
  } catch (const NotRunnable& e) {
    GTEST_SKIP() << e.what();
  }
  std::vector<pid_t> pids{spawn([&] { return produce(*ch, *done); }),
                          spawn([&] { return consume(*ch, *done, false); }),
                          spawn([&] { return consume(*ch, *done, true); })};
  ch->forked();
  const auto give_up = std::chrono::steady_clock::now() + kDeadline;
  for (pid_t pid : pids) {
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > give_up) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        ADD_FAILURE() << "child " << pid << " still running at the deadline";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  ch.reset();
  EXPECT_EQ(own_named_objects(), named_before) << "left named objects behind";
}

INSTANTIATE_TEST_SUITE_P(Registry, LateConsumer, ::testing::ValuesIn(broadcasters()),
                         [](const ::testing::TestParamInfo<const Mechanism*>& info) {
                           return std::string(info.param->name);
                         });

}  // namespace
}  // namespace ipcbench
