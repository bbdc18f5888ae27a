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

#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/registry.hpp"
#include "harness/sockets.hpp"

namespace ipcbench {
namespace {

class UdpChannel final : public FdPairChannel {
 public:
  explicit UdpChannel(const ChannelConfig& cfg) : FdPairChannel(cfg.wait) {
    check_datagram_fits(cfg.msg_bytes);
    sockaddr_in a_addr{}, b_addr{};
    a_ = bound_loopback_udp_socket(a_addr);
    b_ = bound_loopback_udp_socket(b_addr);
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
          return receive_buffer_bytes(b_.get());
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
    .create = create_channel<UdpChannel>,
};
const Registration kUdpRegistration{kUdp};

}  // namespace ipcbench
