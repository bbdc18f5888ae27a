#pragma once
// Descriptor I/O shared by every descriptor-based mechanism (pipe, fifo, unix_stream,
// unix_dgram, ...).
// `spin` is not a separate code path: a spinning endpoint's descriptors are
// O_NONBLOCK, so the same loops retry EAGAIN instead of sleeping in the kernel.
#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "harness/channel.hpp"
#include "harness/owners.hpp"

namespace ipcbench {

void set_nonblocking(int fd, bool on);

// A number from /proc/sys (a kernel limit), or `if_unreadable` when the file is missing
// or holds no number: callers say what an unknown limit means (0: report nothing;
// UINT64_MAX: let the kernel's own call decide).
std::uint64_t read_sysctl(const char* path, std::uint64_t if_unreadable = 0);

// Sets a pipe's (or FIFO's) buffer with F_SETPIPE_SZ; returns what the kernel granted
// (rounded up to pages). NotRunnable past fs.pipe-max-size, naming it.
std::uint64_t set_pipe_size(int fd, std::uint64_t bytes);

// Sets SO_SNDBUF and SO_RCVBUF to `bytes` on every socket in fds; returns fds[0]'s
// granted SO_SNDBUF (the kernel doubles the request for bookkeeping). Past
// net.core.wmem_max/rmem_max the kernel would cap silently, so SO_*BUFFORCE is used
// there (CAP_NET_ADMIN), and without the privilege the case is NotRunnable.
std::uint64_t set_socket_buffers(std::span<const int> fds, std::uint64_t bytes);

// Binds an AF_UNIX socket to `path` with the socket file owner-only (0600) whatever
// the process's umask, and returns the address (for connect). Linux gives the new
// file the socket inode's mode masked by the umask (unix_bind, net/unix/af_unix.c),
// so an fchmod of the still unbound socket sets the file's mode as bind creates it:
// never a moment wider, and the process-wide umask is left alone (a scoped umask would
// narrow files another thread creates meanwhile). Anything already at `path` makes
// bind fail (EADDRINUSE): nothing is replaced or followed. NotRunnable when the path
// does not fit sun_path; SysError when a call fails.
sockaddr_un bind_unix_owner_only(int fd, const std::string& path);

// Writes all of msg, retrying partial writes, EINTR and (non-blocking) EAGAIN.
// PeerError when the peer is gone (is_peer_gone, harness/error.hpp).
void write_all(int fd, std::span<const std::byte> msg);
// Reads exactly buf.size() bytes; PeerError on EOF or when the peer is gone.
void read_exact(int fd, std::span<std::byte> buf);

// Counts the whole messages of msg_bytes that write_fd accepts before it would block,
// then reads them back out of read_fd, leaving the channel empty. This measures the
// granted capacity in messages instead of estimating it from byte counts: kernels
// account per-buffer overhead (pipe pages, socket skbs) that byte counts hide.
std::uint64_t probe_capacity_msgs(int write_fd, int read_fd, std::size_t msg_bytes);

// Sets a kernel buffer knob so that at least cfg.capacity_msgs whole messages fit:
// starts at capacity x size bytes, probes, and grows the request by the shortfall
// (kernels charge per-buffer overhead that byte counts hide: a 64-byte message costs
// a unix socket ~800 bytes of SO_SNDBUF). `set_bytes(request)` applies the knob and
// returns the granted bytes; it may throw NotRunnable. When growing hits a limit, the
// best grant is kept and its real message count recorded, never inflated.
Granted fit_capacity(const ChannelConfig& cfg, const std::function<std::uint64_t(std::uint64_t)>& set_bytes,
                     int write_fd, int read_fd);
// The same with a mechanism's own probe (returns whole messages the channel holds).
Granted fit_capacity(const ChannelConfig& cfg, const std::function<std::uint64_t(std::uint64_t)>& set_bytes,
                     const std::function<std::uint64_t()>& probe);

// Largest kernel buffer ipcbench asks for on one channel; beyond it the case is not
// runnable (filling it to probe the capacity would take seconds and the memory).
inline constexpr std::uint64_t kMaxChannelBytes = 256ull << 20;
// capacity_msgs * msg_bytes, or NotRunnable past kMaxChannelBytes.
std::uint64_t requested_channel_bytes(const ChannelConfig& cfg);

// An end over byte-stream descriptors: fixed-size messages are written whole and
// read exactly (the receiver knows the size, so no framing is needed). tx and rx may
// be the same descriptor (a socket).
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

// A channel that is a connected pair of sockets, one per side, each used in both
// directions (unix_stream, unix_dgram, unix_seqpacket, tcp, udp). A mechanism sets a_
// and b_ up in its constructor and says which endpoint wraps a socket.
class SocketPairChannel : public Channel {
 public:
  std::unique_ptr<Endpoint> open(Side side) final {
    UniqueFd mine = std::move(side == Side::a ? a_ : b_);
    forked();  // the other side's socket
    return make_endpoint(std::move(mine));
  }
  void forked() final {
    a_.reset();
    b_.reset();
  }

 protected:
  explicit SocketPairChannel(WaitMode wait) : wait_(wait) {}
  virtual std::unique_ptr<Endpoint> make_endpoint(UniqueFd socket) = 0;
  // The usual capacity mapping: SO_SNDBUF and SO_RCVBUF on both sockets, grown until
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
  UniqueFd a_, b_;  // side a's and side b's socket
};

}  // namespace ipcbench
