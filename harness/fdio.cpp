#include "harness/fdio.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
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

std::uint64_t read_sysctl(const char* path, std::uint64_t if_unreadable) {
  std::ifstream in(path);
  std::uint64_t v = 0;
  return (in >> v) ? v : if_unreadable;
}

std::uint64_t set_pipe_size(int fd, std::uint64_t bytes) {
  if (bytes > INT_MAX) throw NotRunnable("pipe size " + std::to_string(bytes) + " B exceeds INT_MAX");
  if (::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(std::max<std::uint64_t>(bytes, 1))) < 0) {
    const int err = errno;
    if (err == EPERM || err == ENOMEM) {
      throw NotRunnable("F_SETPIPE_SZ " + std::to_string(bytes) + " B refused (" + std::strerror(err) +
                        "): above fs.pipe-max-size = " + std::to_string(read_sysctl("/proc/sys/fs/pipe-max-size")) +
                        " B without CAP_SYS_RESOURCE; raise it with sysctl -w fs.pipe-max-size=" +
                        std::to_string(bytes) + " or lower --capacities");
    }
    throw SysError("fcntl F_SETPIPE_SZ", std::to_string(bytes) + " B", err);
  }
  const int granted = ::fcntl(fd, F_GETPIPE_SZ);
  if (granted < 0) throw SysError("fcntl F_GETPIPE_SZ", "");
  return static_cast<std::uint64_t>(granted);
}

namespace {

void set_socket_buffer(int fd, int opt, int force_opt, const char* limit_path, std::uint64_t bytes) {
  if (bytes > INT_MAX / 2) throw NotRunnable("socket buffer " + std::to_string(bytes) + " B exceeds INT_MAX/2");
  const int val = static_cast<int>(bytes);
  const std::uint64_t limit = read_sysctl(limit_path, UINT64_MAX);
  if (bytes <= limit) {
    if (::setsockopt(fd, SOL_SOCKET, opt, &val, sizeof val) < 0) throw SysError("setsockopt", "SO_*BUF");
    return;
  }
  if (::setsockopt(fd, SOL_SOCKET, force_opt, &val, sizeof val) < 0) {
    throw NotRunnable("socket buffer of " + std::to_string(bytes) + " B exceeds " + limit_path + " (" +
                      std::to_string(limit) + ") and SO_*BUFFORCE needs CAP_NET_ADMIN: raise it with sysctl");
  }
}

}  // namespace

std::uint64_t set_socket_buffers(std::span<const int> fds, std::uint64_t bytes) {
  for (int fd : fds) {
    set_socket_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, "/proc/sys/net/core/wmem_max", bytes);
    set_socket_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, "/proc/sys/net/core/rmem_max", bytes);
  }
  int granted = 0;
  socklen_t len = sizeof granted;
  if (::getsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &granted, &len) < 0) throw SysError("getsockopt", "SO_SNDBUF");
  return static_cast<std::uint64_t>(granted);
}

sockaddr_un bind_unix_owner_only(int fd, const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw NotRunnable("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::fchmod(fd, 0600) < 0) throw SysError("fchmod 0600", "AF_UNIX socket for " + path);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) throw SysError("bind", path);
  // The kernel's rule above is Linux's, not POSIX's: should a kernel not follow it, the
  // promise would break silently, so check what bind made.
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) throw SysError("lstat", path);
  if ((st.st_mode & 0077) != 0) {
    ::unlink(path.c_str());
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error("bind " + path + ": the socket file was created with mode " + mode +
                             ", not owner-only");
  }
  return addr;
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
      const int err = errno;
      throw_io_error("write", "fd " + std::to_string(fd), err);
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
      throw peer_gone_at_eof("read");
    } else if (errno != EAGAIN && errno != EINTR) {
      const int err = errno;
      throw_io_error("read", "fd " + std::to_string(fd), err);
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
  set_nonblocking(write_fd, true);
  set_nonblocking(read_fd, true);
  std::vector<std::byte> buf(msg_bytes);
  std::uint64_t whole = 0, written = 0;
  while (whole < kMaxProbe) {
    const ssize_t n = ::write(write_fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      // A message socket refuses, even when empty, a datagram larger than its send
      // buffer can ever hold: that size is not runnable here, not a failure.
      if (whole == 0 && (errno == EMSGSIZE || errno == ENOBUFS)) {
        const int err = errno;
        throw NotRunnable("a " + std::to_string(msg_bytes) + "-byte message does not fit in one send on this socket (" +
                          std::strerror(err) + "): a datagram must fit the send buffer, at most 2 x net.core.wmem_max = " +
                          std::to_string(2 * read_sysctl("/proc/sys/net/core/wmem_max", 0)) + " B");
      }
      throw SysError("write (capacity probe)", "fd " + std::to_string(write_fd));
    }
    written += static_cast<std::uint64_t>(n);
    if (static_cast<std::size_t>(n) < buf.size()) break;  // a partial write: it is full
    ++whole;
  }
  // Drain it all, into a buffer of at least one whole message (a datagram socket's
  // read takes one message and discards what does not fit). Some bytes may still be
  // on their way (loopback TCP delivers the sender's queue as the receiver's window
  // opens): wait for them, within a bound.
  std::vector<std::byte> sink(std::max<std::size_t>(64 * 1024, msg_bytes));
  while (written > 0) {
    const ssize_t n = ::read(read_fd, sink.data(), std::min<std::uint64_t>(sink.size(), written));
    if (n > 0) {
      written -= static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    pollfd p{read_fd, POLLIN, 0};
    if (n < 0 && errno == EAGAIN && ::poll(&p, 1, 5000) > 0) continue;
    throw SysError("read (capacity probe)", "fd " + std::to_string(read_fd), n == 0 ? EPIPE : errno);
  }
  set_nonblocking(write_fd, false);
  set_nonblocking(read_fd, false);
  return whole;
}

Granted fit_capacity(const ChannelConfig& cfg, const std::function<std::uint64_t(std::uint64_t)>& set_bytes,
                     int write_fd, int read_fd) {
  return fit_capacity(cfg, set_bytes, [&] { return probe_capacity_msgs(write_fd, read_fd, cfg.msg_bytes); });
}

Granted fit_capacity(const ChannelConfig& cfg, const std::function<std::uint64_t(std::uint64_t)>& set_bytes,
                     const std::function<std::uint64_t()>& probe) {
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
    best.capacity_msgs = probe();
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

MessageFdEndpoint::MessageFdEndpoint(UniqueFd fd, WaitMode wait)
    : fd_(std::move(fd)), flags_(wait == WaitMode::spin ? MSG_DONTWAIT : 0) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd_.get(), SOL_SOCKET, SO_TYPE, &type, &len) < 0) throw SysError("getsockopt", "SO_TYPE");
  zero_is_eof_ = type != SOCK_DGRAM;
  set_nonblocking(fd_.get(), false);  // the wait mode is the per-call flag
}

void MessageFdEndpoint::send(std::span<const std::byte> msg) {
  for (;;) {
    const ssize_t n = ::send(fd_.get(), msg.data(), msg.size(), MSG_NOSIGNAL | flags_);
    if (n >= 0) {
      if (static_cast<std::size_t>(n) != msg.size()) throw SysError("send (partial message)", "fd " + std::to_string(fd_.get()), EMSGSIZE);
      return;
    }
    if (errno == EAGAIN || errno == EINTR) continue;
    const int err = errno;
    throw_io_error("send", std::to_string(msg.size()) + " B message", err);
  }
}

std::size_t MessageFdEndpoint::recv(std::span<std::byte> buf) {
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), MSG_TRUNC | flags_);
    if (n > 0 || (n == 0 && !zero_is_eof_)) return static_cast<std::size_t>(n);
    if (n == 0) throw peer_gone_at_eof("recv");
    if (errno == EAGAIN || errno == EINTR) continue;
    const int err = errno;
    throw_io_error("recv", "fd " + std::to_string(fd_.get()), err);
  }
}

}  // namespace ipcbench

namespace ipcbench {

namespace {
constexpr std::size_t kStagingBytes = 64 * 1024;
constexpr std::size_t kFrameHeaderBytes = 4;
}  // namespace

FramedStreamEndpoint::FramedStreamEndpoint(UniqueFd fd, WaitMode wait)
    : fd_(std::move(fd)), staging_(kStagingBytes) {
  set_nonblocking(fd_.get(), wait == WaitMode::spin);
  std::fill(staging_.begin(), staging_.end(), std::byte{0});  // touched before measuring
}

void FramedStreamEndpoint::send(std::span<const std::byte> msg) {
  auto len = static_cast<std::uint32_t>(msg.size());
  iovec iov[2] = {{&len, kFrameHeaderBytes}, {const_cast<std::byte*>(msg.data()), msg.size()}};
  iovec* next = iov;
  int count = 2;
  while (count > 0) {
    const ssize_t n = ::writev(fd_.get(), next, count);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      const int err = errno;
      throw_io_error("writev", "fd " + std::to_string(fd_.get()), err);
    }
    // Advance past what was written: a partial write may end inside either part.
    auto done = static_cast<std::size_t>(n);
    while (count > 0 && done >= next->iov_len) {
      done -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<std::byte*>(next->iov_base) + done;
      next->iov_len -= done;
    }
  }
}

void FramedStreamEndpoint::fill() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (end_ == staging_.size()) {  // keep the unread tail, make room after it
    std::memmove(staging_.data(), staging_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  for (;;) {
    const ssize_t n = ::read(fd_.get(), staging_.data() + end_, staging_.size() - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return;
    }
    if (n == 0) throw peer_gone_at_eof("read");
    if (errno != EAGAIN && errno != EINTR) {
      const int err = errno;
      throw_io_error("read", "fd " + std::to_string(fd_.get()), err);
    }
  }
}

std::size_t FramedStreamEndpoint::recv(std::span<std::byte> buf) {
  while (end_ - begin_ < kFrameHeaderBytes) fill();
  std::uint32_t len = 0;
  std::memcpy(&len, staging_.data() + begin_, kFrameHeaderBytes);
  begin_ += kFrameHeaderBytes;
  if (len > buf.size()) {
    throw PeerError("frame length " + std::to_string(len) + " exceeds the " + std::to_string(buf.size()) +
                    "-byte buffer (corrupt peer?)");
  }
  const std::size_t staged = std::min<std::size_t>(len, end_ - begin_);
  std::memcpy(buf.data(), staging_.data() + begin_, staged);
  begin_ += staged;
  if (staged < len) read_exact(fd_.get(), buf.subspan(staged, len - staged));
  return len;
}

}  // namespace ipcbench
