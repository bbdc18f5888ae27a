#pragma once
// Descriptor I/O shared by every descriptor-based mechanism (pipe, fifo, unix_stream,
// unix_dgram, pty, ...): the read and write loops, the endpoints built on them, and
// the channel of two descriptors. Capacity fitting is harness/capacity.hpp's.
// `spin` is not a separate code path: a spinning endpoint's descriptors are
// O_NONBLOCK, so the same loops retry EAGAIN instead of sleeping in the kernel.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "harness/capacity.hpp"
#include "harness/channel.hpp"
#include "harness/owners.hpp"

namespace ipcbench {

void set_nonblocking(int fd, bool on);

// Writes all of msg, retrying partial writes, EINTR and (non-blocking) EAGAIN.
// PeerError when the peer is gone (is_peer_gone, harness/error.hpp).
void write_all(int fd, std::span<const std::byte> msg);
// Reads exactly buf.size() bytes; PeerError on EOF or when the peer is gone.
void read_exact(int fd, std::span<std::byte> buf);

// Several writers (cfg.producers > 1) may share a pipe or FIFO only while every message
// is one atomic write: POSIX makes a write of up to PIPE_BUF (4096) bytes atomic, and a
// larger one may be split and interleaved with another writer's. Several readers
// (cfg.consumers > 1, compete) likewise: a message written in pieces could be read in
// pieces by different readers. Throws NotRunnable, with the reason, for a larger message.
void require_atomic_writes(const ChannelConfig& cfg, std::string_view mechanism);

// An end over byte-stream descriptors: fixed-size messages are written whole and
// read exactly (the receiver knows the size, so no framing is needed). tx and rx may
// be the same descriptor (a socket, a pty end).
class StreamFdEndpoint final : public Endpoint {
 public:
  StreamFdEndpoint(UniqueFd tx, UniqueFd rx, WaitMode wait);
  void send(std::span<const std::byte> msg) override { write_all(tx_fd_, msg); }
  std::size_t recv(std::span<std::byte> buf) override {
    read_exact(rx_fd_, buf);
    return buf.size();
  }

 private:
  UniqueFd tx_, rx_;
  int tx_fd_, rx_fd_;
};

// An end over one stream socket carrying length-prefixed frames ([u32 length][payload]),
// as a TCP user frames messages. send() is one writev of length and payload; recv()
// reads through a staging buffer, so one read can deliver many small frames, while a
// payload larger than what is staged is read straight into the caller's buffer. A
// length larger than the caller's buffer is a corrupt peer (PeerError), never an
// overflow.
class FramedStreamEndpoint final : public Endpoint {
 public:
  FramedStreamEndpoint(UniqueFd fd, WaitMode wait);
  void send(std::span<const std::byte> msg) override;
  std::size_t recv(std::span<std::byte> buf) override;

 private:
  void fill();  // reads what the socket has into the staging buffer (at least 1 byte)
  UniqueFd fd_;
  std::vector<std::byte> staging_;
  std::size_t begin_ = 0, end_ = 0;  // staged, unread bytes
};

// An end over one message-preserving socket (SOCK_DGRAM, SOCK_SEQPACKET): one send()
// per message, one recv() per message; the kernel keeps the boundaries, and a partial
// send cannot happen for these types. recv() passes MSG_TRUNC, so a message longer
// than buf is detected: it returns the real length (the verifier counts it as
// truncated) and never writes past buf. Spin adds MSG_DONTWAIT and retries EAGAIN.
class MessageFdEndpoint final : public Endpoint {
 public:
  MessageFdEndpoint(UniqueFd fd, WaitMode wait);
  void send(std::span<const std::byte> msg) override;
  std::size_t recv(std::span<std::byte> buf) override;

 private:
  UniqueFd fd_;
  int flags_;         // MSG_DONTWAIT when spinning
  bool zero_is_eof_;  // SOCK_SEQPACKET: 0 means the peer closed; SOCK_DGRAM: an empty datagram
};

// A channel that is a connected pair of descriptors, one per side, each used in both
// directions: a socket pair (unix_stream, unix_dgram, unix_seqpacket, tcp, udp) or a
// pseudo-terminal's master and slave (pty). A mechanism sets a_ and b_ up in its
// constructor and says which endpoint wraps a descriptor.
class FdPairChannel : public Channel {
 public:
  std::unique_ptr<Endpoint> open(Side side) final {
    UniqueFd mine = std::move(side == Side::a ? a_ : b_);
    forked();  // the other side's descriptor
    return make_endpoint(std::move(mine));
  }
  void forked() final {
    a_.reset();
    b_.reset();
  }

 protected:
  explicit FdPairChannel(WaitMode wait) : wait_(wait) {}
  virtual std::unique_ptr<Endpoint> make_endpoint(UniqueFd fd) = 0;
  // The usual capacity mapping for sockets: SO_SNDBUF and SO_RCVBUF on both, grown until
  // cfg.capacity_msgs messages of cfg.msg_bytes fit (fit_capacity, probed).
  Granted fit_socket_buffers(const ChannelConfig& cfg) {
    return fit_capacity(
        cfg,
        [&](std::uint64_t bytes) {
          const int both[] = {a_.get(), b_.get()};
          return set_socket_buffers(both, bytes);
        },
        a_.get(), b_.get());
  }

  WaitMode wait_;
  UniqueFd a_, b_;  // side a's and side b's descriptor
};

}  // namespace ipcbench
