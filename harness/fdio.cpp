#include "harness/fdio.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <vector>

#include "harness/error.hpp"

namespace ipcbench {

void set_nonblocking(int fd, bool on) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) throw SysError("fcntl F_GETFL", "fd " + std::to_string(fd));
  const int want = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (want != flags && ::fcntl(fd, F_SETFL, want) < 0) {
    throw SysError("fcntl F_SETFL", "fd " + std::to_string(fd));
  }
}

void write_all(int fd, std::span<const std::byte> msg) {
  const std::byte* p = msg.data();
  std::size_t left = msg.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n > 0) {
      p += n;
      left -= static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      if (errno == EPIPE || errno == ECONNRESET) throw PeerError("peer closed its end (write)");
      throw SysError("write", "fd " + std::to_string(fd));
    }
  }
}

void read_exact(int fd, std::span<std::byte> buf) {
  std::byte* p = buf.data();
  std::size_t left = buf.size();
  while (left > 0) {
    const ssize_t n = ::read(fd, p, left);
    if (n > 0) {
      p += n;
      left -= static_cast<std::size_t>(n);
    } else if (n == 0) {
      throw PeerError("peer closed its end (read returned EOF)");
    } else if (errno != EAGAIN && errno != EINTR) {
      if (errno == ECONNRESET) throw PeerError("peer closed its end (read)");
      throw SysError("read", "fd " + std::to_string(fd));
    }
  }
}

std::uint64_t requested_channel_bytes(const ChannelConfig& cfg) {
  const std::uint64_t bytes = std::uint64_t{cfg.capacity_msgs} * cfg.msg_bytes;
  if (cfg.capacity_msgs != 0 && bytes / cfg.capacity_msgs != cfg.msg_bytes) {
    throw NotRunnable("capacity x size overflows");
  }
  if (bytes > kMaxChannelBytes) {
    throw NotRunnable("capacity " + std::to_string(cfg.capacity_msgs) + " x " +
                      std::to_string(cfg.msg_bytes) + " B = " + std::to_string(bytes >> 20) +
                      " MiB exceeds ipcbench's per-channel limit of " +
                      std::to_string(kMaxChannelBytes >> 20) + " MiB (lower --capacities)");
  }
  return bytes;
}

std::uint64_t probe_capacity_msgs(int write_fd, int read_fd, std::size_t msg_bytes) {
  constexpr std::uint64_t kMaxProbe = 1u << 20;
  constexpr int kProbeDrainTimeoutMs = 5000;
  set_nonblocking(write_fd, true);
  set_nonblocking(read_fd, true);
  std::vector<std::byte> buf(msg_bytes);
  std::uint64_t whole = 0, written = 0;
  while (whole < kMaxProbe) {
    const ssize_t n = ::write(write_fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      throw SysError("write (capacity probe)", "fd " + std::to_string(write_fd));
    }
    written += static_cast<std::uint64_t>(n);
    if (static_cast<std::size_t>(n) < buf.size()) break;  // a partial write: it is full
    ++whole;
  }
  std::vector<std::byte> sink(64 * 1024);
  while (written > 0) {
    const ssize_t n = ::read(read_fd, sink.data(), std::min<std::uint64_t>(sink.size(), written));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {  // still in flight (TCP: in the sender's queue)
      pollfd p{.fd = read_fd, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, kProbeDrainTimeoutMs) > 0) continue;
    }
    if (n <= 0) throw SysError("read (capacity probe)", "fd " + std::to_string(read_fd));
    written -= static_cast<std::uint64_t>(n);
  }
  set_nonblocking(write_fd, false);
  set_nonblocking(read_fd, false);
  return whole;
}

Granted fit_capacity(const ChannelConfig& cfg, const std::function<std::uint64_t(std::uint64_t)>& set_bytes,
                     int write_fd, int read_fd) {
  constexpr int kMaxAttempts = 6;
  std::uint64_t request = requested_channel_bytes(cfg);
  Granted best;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    try {
      best.capacity_bytes = set_bytes(request);
    } catch (const NotRunnable&) {
      if (attempt == 0) throw;
      break;  // grew into a limit: keep the last grant, which is what was measured
    }
    best.capacity_msgs = probe_capacity_msgs(write_fd, read_fd, cfg.msg_bytes);
    if (best.capacity_msgs >= cfg.capacity_msgs) break;
    // Grow from what was granted (kernels raise small requests to a floor, e.g.
    // SOCK_MIN_SNDBUF) at the per-message cost just measured; at least double.
    const std::uint64_t fit = std::max<std::uint64_t>(best.capacity_msgs, 1);
    const std::uint64_t next = std::max(request * 2, best.capacity_bytes / fit * cfg.capacity_msgs);
    if (next > kMaxChannelBytes) break;
    request = next;
  }
  return best;
}

StreamFdEndpoint::StreamFdEndpoint(UniqueFd tx, UniqueFd rx, WaitMode wait)
    : tx_(std::move(tx)), rx_(std::move(rx)), tx_fd_(tx_.get()), rx_fd_(rx_.get()) {
  // A socket is one descriptor for both directions: then only tx_ owns it.
  if (tx_fd_ < 0) tx_fd_ = rx_fd_;
  if (rx_fd_ < 0) rx_fd_ = tx_fd_;
  for (int fd : {tx_fd_, rx_fd_}) {
    if (fd >= 0) set_nonblocking(fd, wait == WaitMode::spin);
  }
}

}  // namespace ipcbench
