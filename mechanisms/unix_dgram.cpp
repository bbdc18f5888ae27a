// unix_dgram and unix_seqpacket: a connected pair of AF_UNIX SOCK_DGRAM or
// SOCK_SEQPACKET sockets (socketpair), one socket per side, used in both directions
// for pingpong. The two differ only in the socket type, so they share this file.
//
// The kernel keeps message boundaries: one send() and one recv() per message
// (MessageFdEndpoint). recv() passes MSG_TRUNC, so a longer message returns its real
// length and the verifier counts it as truncated. Timed: send() on one side, recv()
// on the other.
//
// Capacity: SO_SNDBUF and SO_RCVBUF on both sockets, starting at capacity x size bytes.
// A queued AF_UNIX message is charged (with its skb overhead, ~770 B) to the sender's
// SO_SNDBUF until it is read, so fit_capacity() probes the fresh socket and grows the
// buffer until `capacity` messages fit. One message must fit too: the kernel refuses a
// message above sk_sndbuf - 32 B (EMSGSIZE), and since the kernel doubles the request,
// capacity x size always holds one; a larger need hits the buffer limits, named.
// A shortfall is not runnable, never silently fewer messages.
// net.unix.max_dgram_qlen (receive-queue length in messages) does NOT limit this
// channel: the kernel applies it only when the receiver is not connected back to the
// sender, and socketpair peers are connected to each other. The probe confirms it
// (2731 messages of 64 B queued with max_dgram_qlen = 10; an unconnected sender stops
// at 11). Should a kernel apply it, a probed shortfall at that count names the sysctl.
// Compete (unix_dgram): every consumer inherits side b's socket and calls recv on it;
// each datagram is dequeued whole by one receiver.
// Wait: block = blocking send/recv; spin = MSG_DONTWAIT, retrying EAGAIN.
// Nothing named: nothing to leak.
#include <sys/socket.h>

#include <tuple>

#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/registry.hpp"
#include "harness/sockets.hpp"
#include "harness/sysctl.hpp"

namespace ipcbench {
namespace {

constexpr const char* kQlenPath = "/proc/sys/net/unix/max_dgram_qlen";
// AF_UNIX datagram and seqpacket sends fail above sk_sndbuf minus this (EMSGSIZE).
constexpr std::uint64_t kSndbufReserveBytes = 32;

std::string shortfall_reason(int type, const ChannelConfig& cfg, const Granted& granted) {
  const std::string want = "capacity " + std::to_string(cfg.capacity_msgs) + " x " +
                           std::to_string(cfg.msg_bytes) + " B";
  const std::string got =
      ": the probe fit only " + std::to_string(granted.capacity_msgs) + " messages";
  const std::uint64_t qlen = read_sysctl(kQlenPath);
  if (type == SOCK_DGRAM && granted.capacity_msgs <= qlen + 1) {
    return want + got +
           ", the receive queue limit net.unix.max_dgram_qlen = " + std::to_string(qlen) +
           "; raise it with sysctl -w net.unix.max_dgram_qlen=" + std::to_string(cfg.capacity_msgs);
  }
  return want + got + " in the largest socket buffer tried (SO_SNDBUF " +
         std::to_string(granted.capacity_bytes) + " B); lower --capacities";
}

class UnixMessageChannel final : public FdPairChannel {
 public:
  UnixMessageChannel(const ChannelConfig& cfg, int type) : FdPairChannel(cfg.wait) {
    std::tie(a_, b_) = unix_socket_pair(type);
    granted_ = fit_capacity(
        cfg,
        [&](std::uint64_t bytes) {
          const int both[] = {a_.get(), b_.get()};
          const std::uint64_t granted = set_socket_buffers(both, bytes);
          if (granted < cfg.msg_bytes + kSndbufReserveBytes) {
            throw NotRunnable("one " + std::to_string(cfg.msg_bytes) +
                              " B message exceeds the AF_UNIX limit of SO_SNDBUF - 32 = " +
                              std::to_string(granted - std::min(granted, kSndbufReserveBytes)) +
                              " B");
          }
          return granted;
        },
        a_.get(), b_.get());
    if (granted_.capacity_msgs < cfg.capacity_msgs) {
      if (!capacity_clamps()) throw NotRunnable(shortfall_reason(type, cfg, granted_));
      const std::uint64_t qlen = read_sysctl(kQlenPath);  // capacity max: keep what fit
      if (type == SOCK_DGRAM && granted_.capacity_msgs <= qlen + 1)
        note_capacity_bound("net.unix.max_dgram_qlen = " + std::to_string(qlen));
    }
  }

 private:
  std::unique_ptr<Endpoint> make_endpoint(UniqueFd socket) override {
    return std::make_unique<MessageFdEndpoint>(std::move(socket), wait_);
  }
};

}  // namespace

const Mechanism kUnixDgram{
    .name = "unix_dgram",
    .summary = "AF_UNIX SOCK_DGRAM socketpair (kernel keeps message boundaries)",
    .capacity_knob =
        "SO_SNDBUF = SO_RCVBUF >= capacity x size bytes (grown until capacity messages fit)",
    .order = 310,
    .family = kFamilyMessage,
    .many_writers = true,
    .many_readers = true,
    .create = create_channel<UnixMessageChannel, SOCK_DGRAM>,
};
const Registration kUnixDgramRegistration{kUnixDgram};

const Mechanism kUnixSeqpacket{
    .name = "unix_seqpacket",
    .summary = "AF_UNIX SOCK_SEQPACKET socketpair (connected, ordered messages)",
    .capacity_knob =
        "SO_SNDBUF = SO_RCVBUF >= capacity x size bytes (grown until capacity messages fit)",
    .order = 300,
    .family = kFamilyMessage,
    .create = create_channel<UnixMessageChannel, SOCK_SEQPACKET>,
};
const Registration kUnixSeqpacketRegistration{kUnixSeqpacket};

}  // namespace ipcbench
