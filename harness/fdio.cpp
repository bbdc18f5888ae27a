#include "harness/fdio.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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

void require_atomic_writes(const ChannelConfig& cfg, std::string_view mechanism) {
  if (cfg.msg_bytes <= PIPE_BUF || (cfg.producers <= 1 && cfg.consumers <= 1)) return;
  if (cfg.producers <= 1) {
    throw NotRunnable(
        std::string(mechanism) + ": " + std::to_string(cfg.consumers) +
        " readers share it only with messages of at most PIPE_BUF = " + std::to_string(PIPE_BUF) +
        " B (atomic writes); this case sends " + std::to_string(cfg.msg_bytes) +
        " B, which could be written in pieces and read by different readers");
  }
  throw NotRunnable(std::string(mechanism) + ": " + std::to_string(cfg.producers) +
                    " writers share it only with messages of at most PIPE_BUF = " +
                    std::to_string(PIPE_BUF) + " B (atomic writes); this case sends " +
                    std::to_string(cfg.msg_bytes) + " B, which could be split and interleaved");
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
  if (::getsockopt(fd_.get(), SOL_SOCKET, SO_TYPE, &type, &len) < 0)
    throw SysError("getsockopt", "SO_TYPE");
  zero_is_eof_ = type != SOCK_DGRAM;
  set_nonblocking(fd_.get(), false);  // the wait mode is the per-call flag
}

void MessageFdEndpoint::send(std::span<const std::byte> msg) {
  for (;;) {
    const ssize_t n = ::send(fd_.get(), msg.data(), msg.size(), MSG_NOSIGNAL | flags_);
    if (n >= 0) {
      if (static_cast<std::size_t>(n) != msg.size())
        throw SysError("send (partial message)", "fd " + std::to_string(fd_.get()), EMSGSIZE);
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
    throw PeerError("frame length " + std::to_string(len) + " exceeds the " +
                    std::to_string(buf.size()) + "-byte buffer (corrupt peer?)");
  }
  const std::size_t staged = std::min<std::size_t>(len, end_ - begin_);
  std::memcpy(buf.data(), staging_.data() + begin_, staged);
  begin_ += staged;
  if (staged < len) read_exact(fd_.get(), buf.subspan(staged, len - staged));
  return len;
}

}  // namespace ipcbench
