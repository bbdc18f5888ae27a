// udp: two loopback UDP sockets (127.0.0.1, ephemeral ports), each connect()ed to the
// other, used in both directions for pingpong. One datagram per message.
//
// Semantics: UDP may drop. When the receiver's buffer is full, the kernel discards the
// datagram and the sender never knows, so a stream faster than its consumer loses
// messages. The mechanism declares may_lose: loss is counted and reported (lost_msgs,
// loss_ratio, and a label in the result), not counted as a harness error, and a
// stream still ends when its last message is lost (the producer repeats it).
// Reordering, duplication and corruption remain errors. Pingpong has one message in
// flight and does not retransmit: a lost request or reply would end the case at the
// watchdog's deadline (not seen on loopback).
// Size: at most 65,507 bytes per datagram (IPv4: 65,535 minus the IP and UDP headers);
// larger messages are not runnable. Fragmentation on loopback is invisible here.
// Capacity: SO_RCVBUF (and SO_SNDBUF) on both sockets, grown until the receiver holds
// `capacity` datagrams of the case's size (probed by sending a burst and counting what
// can be read back: a full UDP receiver drops instead of blocking the sender).
// Wait: block = blocking send/recv; spin = MSG_DONTWAIT, retrying EAGAIN.
// Nothing named; nothing listens: both sockets are bound and connected before fork.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

constexpr std::size_t kMaxDatagramBytes = 65'507;

UniqueFd bound_udp_socket(sockaddr_in& addr) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) throw SysError("socket", "AF_INET SOCK_DGRAM");
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only
  socklen_t len = sizeof addr;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    throw SysError("bind", "127.0.0.1:0");
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) < 0)
    throw SysError("getsockname", "");
  return fd;
}

// Datagrams of msg_bytes the receiver holds: send a burst larger than the request
// without reading, then count what can be read back.
std::uint64_t probe_datagrams(int tx, int rx, std::size_t msg_bytes, std::uint64_t burst) {
  std::vector<std::byte> buf(msg_bytes);
  for (std::uint64_t i = 0; i < burst; ++i) {
    if (::send(tx, buf.data(), buf.size(), MSG_DONTWAIT) < 0) {
      if (errno == EAGAIN || errno == ENOBUFS) break;  // the send queue itself is full
      throw SysError("send (capacity probe)", "udp");
    }
  }
  std::uint64_t held = 0;
  while (::recv(rx, buf.data(), buf.size(), MSG_DONTWAIT) >= 0) ++held;
  if (errno != EAGAIN) throw SysError("recv (capacity probe)", "udp");
  return held;
}

class UdpChannel final : public FdPairChannel {
 public:
  explicit UdpChannel(const ChannelConfig& cfg) : FdPairChannel(cfg.wait) {
    if (cfg.msg_bytes > kMaxDatagramBytes) {
      throw NotRunnable("a UDP datagram carries at most 65,507 bytes (IPv4); this case needs " +
                        std::to_string(cfg.msg_bytes));
    }
    sockaddr_in a_addr{}, b_addr{};
    a_ = bound_udp_socket(a_addr);
    b_ = bound_udp_socket(b_addr);
    if (::connect(a_.get(), reinterpret_cast<sockaddr*>(&b_addr), sizeof b_addr) < 0)
      throw SysError("connect", "udp a->b");
    if (::connect(b_.get(), reinterpret_cast<sockaddr*>(&a_addr), sizeof a_addr) < 0)
      throw SysError("connect", "udp b->a");
    const std::uint64_t burst = cfg.capacity_msgs * 2 + 64;
    granted_ = fit_capacity(
        cfg,
        [&](std::uint64_t bytes) {
          const int fds[] = {a_.get(), b_.get()};
          set_socket_buffers(fds, bytes);
          int granted = 0;  // what limits a UDP channel is the receiver's buffer
          socklen_t len = sizeof granted;
          if (::getsockopt(b_.get(), SOL_SOCKET, SO_RCVBUF, &granted, &len) < 0)
            throw SysError("getsockopt", "SO_RCVBUF");
          return static_cast<std::uint64_t>(granted);
        },
        [&] { return probe_datagrams(a_.get(), b_.get(), cfg.msg_bytes, burst); });
  }

 private:
  std::unique_ptr<Endpoint> make_endpoint(UniqueFd socket) override {
    return std::make_unique<MessageFdEndpoint>(std::move(socket), wait_);
  }
};

}  // namespace

const Mechanism kUdp{
    .name = "udp",
    .summary = "loopback UDP (127.0.0.1), one datagram per message, loss counted not failed",
    .capacity_knob = "SO_RCVBUF (and SO_SNDBUF), grown until capacity datagrams fit (probed)",
    .order = 410,
    .family = kFamilyNetwork,
    .may_lose = true,
    .many_writers = true,
    .create = create_channel<UdpChannel>,
};
const Registration kUdpRegistration{kUdp};

}  // namespace ipcbench
