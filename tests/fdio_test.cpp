#include "harness/fdio.hpp"

#include <gtest/gtest.h>
#include <pty.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "harness/error.hpp"

namespace ipcbench {
namespace {

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
  UniqueFd a, b;
};

TEST(FramedStream, CorruptLengthIsRefusedNotOverflowed) {
  SocketPair s;
  FramedStreamEndpoint rx(std::move(s.b), WaitMode::block);
  const std::uint32_t huge = 1u << 30;  // a peer claiming a 1 GiB frame
  ASSERT_EQ(::write(s.a.get(), &huge, sizeof huge), 4);
  std::vector<std::byte> buf(64);
  EXPECT_THROW(rx.recv(buf), PeerError);
}

TEST(FramedStream, FramesSplitAcrossReadsAreReassembled) {
  SocketPair s;
  FramedStreamEndpoint rx(std::move(s.b), WaitMode::block);
  // Two frames written in awkward pieces: length split, payload split.
  std::vector<std::byte> wire;
  for (std::uint32_t len : {5u, 3u}) {
    const auto* p = reinterpret_cast<const std::byte*>(&len);
    wire.insert(wire.end(), p, p + 4);
    for (std::uint32_t i = 0; i < len; ++i) wire.push_back(std::byte(0x40 + len + i));
  }
  std::size_t from = 0;
  for (std::size_t at : {std::size_t{2}, std::size_t{7}, std::size_t{11}, wire.size()}) {
    ASSERT_EQ(::write(s.a.get(), wire.data() + from, at - from), static_cast<ssize_t>(at - from));
    from = at;
  }
  std::vector<std::byte> buf(16);
  ASSERT_EQ(rx.recv(buf), 5u);
  EXPECT_EQ(buf[4], std::byte(0x40 + 5 + 4));
  ASSERT_EQ(rx.recv(buf), 3u);
  EXPECT_EQ(buf[0], std::byte(0x40 + 3));
}

TEST(FramedStream, PeerCloseIsReported) {
  SocketPair s;
  FramedStreamEndpoint rx(std::move(s.b), WaitMode::spin);
  s.a.reset();
  std::vector<std::byte> buf(8);
  EXPECT_THROW(rx.recv(buf), PeerError);
}

// The errnos that mean "the peer is gone", and none that means a real failure.
TEST(PeerGone, OneListForEveryMechanism) {
  for (int err : {EPIPE, ECONNRESET, ECONNREFUSED, ENOTCONN, EIO}) {
    EXPECT_TRUE(is_peer_gone(err)) << err;
  }
  for (int err : {0, EAGAIN, EINTR, EBADF, EFAULT, EINVAL, ENOMEM}) {
    EXPECT_FALSE(is_peer_gone(err)) << err;
  }
  EXPECT_THROW(throw_io_error("read", "fd 3", EIO), PeerError);
  EXPECT_THROW(throw_io_error("read", "fd 3", EBADF), SysError);
}

// A pty reports its peer's close with EIO (a master's read; the slave's write) or EOF
// (the slave's read): each is "peer closed its end", in both wait modes. (A master's
// write after the slave closed is still taken until the buffer fills: the reads and
// the orchestrator, which sees the death, report it.)
TEST(PeerGone, PtyEndsSeeTheOtherClose) {
  for (WaitMode wait : {WaitMode::block, WaitMode::spin}) {
    for (bool close_slave : {true, false}) {
      termios raw{};
      ::cfmakeraw(&raw);
      int master = -1, slave = -1;
      ASSERT_EQ(::openpty(&master, &slave, nullptr, &raw, nullptr), 0);
      UniqueFd m(master), s(slave);
      (close_slave ? s : m).reset();
      StreamFdEndpoint left(std::move(close_slave ? m : s), UniqueFd(), wait);
      std::vector<std::byte> buf(8);
      try {
        left.recv(buf);
        ADD_FAILURE() << "recv after the peer closed returned";
      } catch (const PeerError& e) {
        EXPECT_NE(std::string(e.what()).find("peer closed its end"), std::string::npos) << e.what();
      }
      if (!close_slave) {
        EXPECT_THROW(left.send(buf), PeerError);
      }
    }
  }
}

}  // namespace
}  // namespace ipcbench
