// A corrupt peer: a length field larger than the receiver's buffer (or the slot it
// describes) is detected and reported as a PeerError, and nothing past the buffer is
// read or written. Guard bytes after each buffer prove the latter here; the ASan build
// in CI checks every access. Covered: the ring's copy path (its zero-copy peek is in
// ring_test), length-prefixed frames (tcp), and datagrams longer than the buffer.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/owners.hpp"
#include "mechanisms/shm_ring.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kBuf = 64;
constexpr std::size_t kGuard = 4096;

// A receive buffer of kBuf bytes followed by guard bytes that must stay untouched.
struct GuardedBuffer {
  std::vector<std::byte> bytes = std::vector<std::byte>(kBuf + kGuard, std::byte{0xAB});
  std::span<std::byte> span() { return std::span(bytes).first(kBuf); }
  bool guard_intact() const {
    for (std::size_t i = kBuf; i < bytes.size(); ++i) {
      if (bytes[i] != std::byte{0xAB}) return false;
    }
    return true;
  }
};

TEST(CorruptPeer, RingLengthPastTheBufferIsRefused) {
  for (const std::size_t bad_len : {kBuf + 1, std::size_t{1} << 20, std::size_t{UINT32_MAX}}) {
    Mapping map = map_shared(ring::ring_bytes(4, kBuf));
    ring::init_ring(map.get(), 4, kBuf);
    ring::RingControl* ctl = ring::attach_ring(map.get());
    ring::Producer p(ctl);
    ring::Consumer c(ctl);
    p.claim(WaitMode::spin);
    p.commit(bad_len, WaitMode::spin);  // what a corrupt peer could publish
    GuardedBuffer buf;
    std::size_t len = 0;
    EXPECT_THROW(c.try_recv(buf.span(), len), PeerError) << bad_len;
    EXPECT_TRUE(buf.guard_intact()) << bad_len;
  }
}

TEST(CorruptPeer, FrameLengthPastTheBufferIsRefused) {
  for (const std::uint32_t bad_len :
       {std::uint32_t{kBuf + 1}, std::uint32_t{1} << 30, UINT32_MAX}) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    UniqueFd peer(fds[0]);
    FramedStreamEndpoint rx(UniqueFd(fds[1]), WaitMode::block);
    std::vector<std::byte> frame(sizeof bad_len + 2 * kBuf, std::byte{0x5A});
    std::memcpy(frame.data(), &bad_len, sizeof bad_len);
    ASSERT_EQ(::write(peer.get(), frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
    GuardedBuffer buf;
    EXPECT_THROW(rx.recv(buf.span()), PeerError) << bad_len;
    EXPECT_TRUE(buf.guard_intact()) << bad_len;
  }
}

TEST(CorruptPeer, DatagramLongerThanTheBufferIsReportedNotWrittenPast) {
  for (const int type : {SOCK_DGRAM, SOCK_SEQPACKET}) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds), 0);
    UniqueFd peer(fds[0]);
    MessageFdEndpoint rx(UniqueFd(fds[1]), WaitMode::block);
    const std::vector<std::byte> big(kBuf * 3, std::byte{0x5A});
    ASSERT_EQ(::send(peer.get(), big.data(), big.size(), 0), static_cast<ssize_t>(big.size()));
    GuardedBuffer buf;
    // The real length comes back, so the verifier counts the message as truncated.
    EXPECT_EQ(rx.recv(buf.span()), big.size()) << type;
    EXPECT_TRUE(buf.guard_intact()) << type;
  }
}

}  // namespace
}  // namespace ipcbench
