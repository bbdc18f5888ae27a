#pragma once
// Descriptor I/O shared by every descriptor-based mechanism (pipe, unix_stream, ...).
// `spin` is not a separate code path: a spinning endpoint's descriptors are
// O_NONBLOCK, so the same loops retry EAGAIN instead of sleeping in the kernel.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <vector>

#include "harness/channel.hpp"
#include "harness/owners.hpp"

namespace ipcbench {

void set_nonblocking(int fd, bool on);

// Writes all of msg, retrying partial writes, EINTR and (non-blocking) EAGAIN.
void write_all(int fd, std::span<const std::byte> msg);
// Reads exactly buf.size() bytes; PeerError on EOF.
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

// Sets SO_SNDBUF and SO_RCVBUF to `bytes` on each socket; returns the first socket's
// granted SO_SNDBUF. Past net.core.wmem_max/rmem_max the kernel would cap the request
// silently, so the *BUFFORCE options (CAP_NET_ADMIN) are used there, and without the
// privilege the case is NotRunnable with the sysctl to raise.
std::uint64_t set_socket_buffers(std::initializer_list<int> fds, std::uint64_t bytes);

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

}  // namespace ipcbench
