// unix_memfd's slot protocol: a large message's slot is written again only after the
// receiver has acknowledged the message in it, and a receiver that dies while the
// sender waits for that acknowledgement ends the wait with PeerError. The test process
// is side a; a forked child is side b.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "harness/error.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kSlots = 2;

// Past the 256 B inline limit, so in slots: 4 KiB slots are taken round-robin, 1 MiB
// ones (2 MiB a direction, past 1 MiB) last-freed-first.
class UnixMemfd : public ::testing::TestWithParam<std::size_t> {
 protected:
  std::size_t bytes() const { return GetParam(); }
  std::vector<std::byte> message(int n) const {
    return std::vector<std::byte>(bytes(), std::byte(n));
  }
  std::unique_ptr<Channel> make_channel() const;
  [[noreturn]] void consumer(Channel& channel, int go, int count) const;
};

std::unique_ptr<Channel> UnixMemfd::make_channel() const {
  const Mechanism* m = find_mechanism("unix_memfd");
  if (m == nullptr) return nullptr;
  return m->create({.pattern = Pattern::stream,
                    .msg_bytes = bytes(),
                    .capacity_msgs = kSlots,
                    .wait = WaitMode::block});
}

// Side b: waits for a byte on `go`, then receives `count` messages and checks that
// message i is all byte i + 1. Exit status 0 when every one was intact.
void UnixMemfd::consumer(Channel& channel, int go, int count) const {
  int status = 1;
  try {
    std::unique_ptr<Endpoint> ep = channel.open(Side::b);
    char c;
    if (::read(go, &c, 1) != 1) ::_exit(2);
    std::vector<std::byte> buf(bytes());
    status = 0;
    for (int i = 0; i < count; ++i) {
      if (ep->recv(buf) != bytes() || buf != message(i + 1)) status = 3 + i;
    }
  } catch (...) {
    status = 1;
  }
  ::_exit(status);
}

TEST_P(UnixMemfd, SlotIsWrittenAgainOnlyAfterItsMessageIsAcknowledged) {
  std::unique_ptr<Channel> channel = make_channel();
  ASSERT_NE(channel, nullptr);
  EXPECT_EQ(channel->granted().capacity_msgs, kSlots);
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) consumer(*channel, go[0], kSlots + 1);
  ::close(go[0]);
  std::unique_ptr<Endpoint> ep = channel->open(Side::a);
  for (int i = 1; i <= static_cast<int>(kSlots); ++i) ep->send(message(i));  // every slot taken
  std::atomic<bool> sent{false};
  std::thread third([&] {
    ep->send(message(kSlots + 1));  // slot 0 again: must wait for message 1's ack
    sent = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(sent) << "the sender reused a slot whose message was not acknowledged";
  ASSERT_EQ(::write(go[1], "g", 1), 1);  // the consumer reads (and acks) from now on
  third.join();
  EXPECT_TRUE(sent);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ::close(go[1]);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "message " << WEXITSTATUS(status) - 2 << " was overwritten";
}

TEST_P(UnixMemfd, ReceiverDeadWhileTheSenderWaitsForAnAckIsPeerError) {
  std::unique_ptr<Channel> channel = make_channel();
  ASSERT_NE(channel, nullptr);
  int die[2];
  ASSERT_EQ(::pipe(die), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      std::unique_ptr<Endpoint> ep = channel->open(Side::b);
      char c;
      if (::read(die[0], &c, 1) != 1) ::_exit(2);  // then dies without reading a message
    } catch (...) {
    }
    ::_exit(0);
  }
  ::close(die[0]);
  std::unique_ptr<Endpoint> ep = channel->open(Side::a);
  for (int i = 1; i <= static_cast<int>(kSlots); ++i) ep->send(message(i));  // every slot taken
  ASSERT_EQ(::write(die[1], "d", 1), 1);
  EXPECT_THROW(ep->send(message(kSlots + 1)), PeerError);
  ::close(die[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
}

INSTANTIATE_TEST_SUITE_P(Sizes, UnixMemfd, ::testing::Values(4096, 1 << 20));

}  // namespace
}  // namespace ipcbench
