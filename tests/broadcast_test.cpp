// The broadcast mechanisms (Mechanism::broadcast) on their own channel, before any
// pattern: one producer and three consumers forked by hand over one channel, every
// consumer checking that it sees every message in order, intact. One consumer is slow,
// so the producer of a lossless ring must wait for it (and must never overwrite a slot
// it has not read); a lossy one (udp_mcast) may drop, but never reorder or corrupt.
// The udp_mcast tests check its two promises that the harness cannot see: the first
// message reaches every member at once (the join is effective in open()), and a
// datagram from another sender to the group is not delivered.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "harness/channel.hpp"
#include "harness/registry.hpp"
#include "tests/leaks.hpp"

namespace ipcbench {
namespace {

constexpr unsigned kConsumers = 3;
constexpr std::size_t kMaxMsgBytes = 256;

// Message i: its index in the first 8 bytes, then bytes that depend on i and their
// place; its length varies with i (8 to kMaxMsgBytes), so the slots' lengths are tested.
std::size_t fill(std::vector<std::byte>& buf, std::uint64_t i) {
  const std::size_t len = 8 + (i * 37) % (kMaxMsgBytes - 7);
  std::memcpy(buf.data(), &i, sizeof i);
  for (std::size_t k = 8; k < len; ++k) buf[k] = static_cast<std::byte>(i * 131 + k);
  return len;
}

bool intact(const std::vector<std::byte>& buf, std::size_t len, std::uint64_t& index) {
  std::memcpy(&index, buf.data(), sizeof index);
  std::vector<std::byte> want(kMaxMsgBytes);
  return len == fill(want, index) && std::memcmp(buf.data(), want.data(), len) == 0;
}

// Each child's deadline: a consumer that a broken ring lapped waits for a sequence
// number that never comes, and SIGALRM turns that hang into a failure.
constexpr unsigned kChildDeadlineS = 10;

// A consumer: receives until message `last`, checking order and contents. Its exit
// status: 0 all well, 1 out of order or corrupt, 2 an exception; the count of messages
// received goes to `report`.
[[noreturn]] void consume(Channel& ch, std::uint64_t last, bool lossy, bool slow, int report) {
  ::alarm(kChildDeadlineS);
  int status = 0;
  std::uint64_t received = 0;
  try {
    auto end = ch.open(Side::b);
    std::vector<std::byte> buf(kMaxMsgBytes);
    std::uint64_t expect = 0;
    for (;;) {
      const std::size_t len = end->recv(buf);
      std::uint64_t index = 0;
      if (!intact(buf, len, index) || index < expect || (!lossy && index != expect)) {
        status = 1;
        break;
      }
      ++received;
      expect = index + 1;
      if (slow && received % 64 == 0) ::usleep(200);
      if (index == last) break;
    }
  } catch (const std::exception&) {
    status = 2;
  }
  (void)!::write(report, &received, sizeof received);
  ::_exit(status);
}

// The producer: sends messages 0..last, then (lossy) repeats the last one, paced, until
// the parent kills it, so that a consumer that lost it still ends.
[[noreturn]] void produce(Channel& ch, std::uint64_t last, bool lossy) {
  ::alarm(kChildDeadlineS);
  int status = 0;
  try {
    auto end = ch.open(Side::a);
    std::vector<std::byte> buf(kMaxMsgBytes);
    for (std::uint64_t i = 0; i <= last; ++i) {
      end->send({buf.data(), fill(buf, i)});
      if (lossy && i % 32 == 0) ::usleep(50);  // give the consumers a chance to keep up
    }
    while (lossy) {
      ::usleep(1000);
      end->send({buf.data(), fill(buf, last)});
    }
  } catch (const std::exception&) {
    status = 2;
  }
  ::_exit(status);
}

int exit_status(pid_t pid) {
  int st = 0;
  if (::waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

struct Param {
  const Mechanism* mechanism;
  WaitMode wait;
  std::size_t capacity;  // 1: every message waits for the slowest reader's last release
};
void PrintTo(const Param& p, std::ostream* os) {
  *os << p.mechanism->name << "/" << to_string(p.wait) << "/" << p.capacity;
}

std::vector<Param> broadcast_params() {
  std::vector<Param> out;
  for (const Mechanism* m : mechanisms()) {
    if (!m->broadcast) continue;
    for (WaitMode w : {WaitMode::block, WaitMode::spin}) {
      if (!m->supports(w)) continue;
      // Spin at capacity 1 is left out: 4 polling processes on 2 CPUs hand each message
      // over a scheduler tick at a time (the harness refuses such a case as oversubscribed).
      for (std::size_t capacity : {1, 16})
        if (w != WaitMode::spin || capacity > 1) out.push_back({m, w, capacity});
    }
  }
  return out;
}

class BroadcastByHand : public ::testing::TestWithParam<Param> {};

TEST_P(BroadcastByHand, EveryConsumerGetsEveryMessageInOrderAndTheSlowestHoldsTheProducer) {
  const auto [m, wait, capacity] = GetParam();
  const auto before = own_named_objects();
  // Spinning sides outnumber the 2 CPUs this runs on, and capacity 1 hands every
  // message over alone: fewer messages keep those short.
  const std::uint64_t last = wait == WaitMode::spin || capacity == 1 ? 1'000 : 20'000;
  const bool lossy = m->may_lose;
  auto ch = m->create({.pattern = Pattern::stream,
                       .msg_bytes = kMaxMsgBytes,
                       .capacity_msgs = capacity,
                       .wait = wait,
                       .consumers = kConsumers});
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  std::vector<pid_t> consumers;
  for (unsigned c = 0; c < kConsumers; ++c) {
    const pid_t pid = ::fork();
    if (pid == 0) consume(*ch, last, lossy, /*slow=*/c == 1, report[1]);
    consumers.push_back(pid);
  }
  const pid_t producer = ::fork();
  if (producer == 0) produce(*ch, last, lossy);
  ch->forked();
  ::close(report[1]);
  for (pid_t pid : consumers) EXPECT_EQ(exit_status(pid), 0) << "consumer " << pid;
  if (lossy) ::kill(producer, SIGKILL);
  const int producer_status = exit_status(producer);
  EXPECT_EQ(producer_status, lossy ? 100 + SIGKILL : 0);
  for (unsigned c = 0; c < kConsumers; ++c) {
    std::uint64_t received = 0;
    ASSERT_EQ(::read(report[0], &received, sizeof received), ssize_t{sizeof received});
    // A lossless channel delivers all; a lossy one at least the message that ends it.
    if (lossy) {
      EXPECT_GE(received, 1u);
    } else {
      EXPECT_EQ(received, last + 1);
    }
  }
  ::close(report[0]);
  ch.reset();
  EXPECT_EQ(own_named_objects(), before);
}

INSTANTIATE_TEST_SUITE_P(Registry, BroadcastByHand, ::testing::ValuesIn(broadcast_params()),
                         [](const auto& info) {
                           return std::string(info.param.mechanism->name) + "_" +
                                  std::string(to_string(info.param.wait)) + "_" +
                                  std::to_string(info.param.capacity);
                         });

TEST(ShmBroadcast, RefusesAConsumerBeyondItsCount) {
  const Mechanism* m = find_mechanism("shm_broadcast");
  ASSERT_NE(m, nullptr);
  auto ch =
      m->create({.pattern = Pattern::stream, .msg_bytes = 64, .capacity_msgs = 4, .consumers = 1});
  // Two consumers open a channel made for one, one after the other: the second claims
  // a cursor that does not exist. Exit status 0: opened; 1: refused, naming why.
  std::vector<int> statuses;
  for (int c = 0; c < 2; ++c) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      int status = 2;
      try {
        auto end = ch->open(Side::b);
        status = 0;
      } catch (const std::exception& e) {
        status = std::string(e.what()).find("more consumers") != std::string::npos ? 1 : 3;
      }
      ::_exit(status);
    }
    statuses.push_back(exit_status(pid));
  }
  ch->forked();
  EXPECT_EQ(statuses, (std::vector<int>{0, 1}));
}

// udp_mcast, in this process: three members open, then the producer; its very first
// datagram reaches each of them, and a datagram another socket sends to the same
// group and port reaches none.
TEST(UdpMcast, FirstMessageReachesEveryMemberAndStrangersAreFiltered) {
  const Mechanism* m = find_mechanism("udp_mcast");
  ASSERT_NE(m, nullptr);
  auto ch = m->create(
      {.pattern = Pattern::stream, .msg_bytes = 64, .capacity_msgs = 16, .consumers = kConsumers});
  auto producer = ch->open(Side::a);
  std::vector<std::unique_ptr<Endpoint>> members;
  for (unsigned c = 0; c < kConsumers; ++c) members.push_back(ch->open(Side::b));
  ch->forked();
  // The members' sockets: this process's IPv4 sockets bound to a multicast address
  // (the port's reservation is closed by now).
  sockaddr_in group{};
  std::vector<pollfd> member_fds;
  for (int fd = 3; fd < 1024; ++fd) {
    sockaddr_in a{};
    socklen_t n = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0 && a.sin_family == AF_INET &&
        IN_MULTICAST(ntohl(a.sin_addr.s_addr))) {
      group = a;
      member_fds.push_back({fd, POLLIN, 0});
    }
  }
  ASSERT_EQ(member_fds.size(), kConsumers) << "sockets bound to a group";
  const int stranger = ::socket(AF_INET, SOCK_DGRAM, 0);
  const in_addr lo{htonl(INADDR_LOOPBACK)};
  ASSERT_EQ(::setsockopt(stranger, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo), 0);
  const char stray[] = "stray datagram";
  ASSERT_GT(
      ::sendto(stranger, stray, sizeof stray, 0, reinterpret_cast<sockaddr*>(&group), sizeof group),
      0);
  ::close(stranger);
  std::vector<std::byte> msg(64, std::byte{0x5a});
  producer->send(msg);
  for (pollfd& p : member_fds) {
    ASSERT_EQ(::poll(&p, 1, 2000), 1) << "a member never got the first message";
  }
  for (auto& member : members) {
    std::vector<std::byte> buf(64);
    ASSERT_EQ(member->recv(buf), 64u);
    EXPECT_EQ(buf, msg) << "a member got the stranger's datagram, or a corrupt one";
  }
  // Nothing more: the stranger's datagram was not queued behind it.
  for (pollfd& p : member_fds) EXPECT_EQ(::poll(&p, 1, 50), 0);
}

}  // namespace
}  // namespace ipcbench
