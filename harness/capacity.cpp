#include "harness/capacity.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/sysctl.hpp"

namespace ipcbench {

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

std::uint64_t max_capacity_msgs(std::size_t msg_bytes) noexcept {
  if (msg_bytes > kMaxChannelBytes - kMaxFramingBytes) return 0;
  return std::min<std::uint64_t>(kMaxCapacityMsgs,
                                 kMaxChannelBytes / (msg_bytes + kMaxFramingBytes));
}

std::string capacity_text(std::size_t capacity_msgs) {
  return capacity_msgs == kCapacityMax ? "max" : std::to_string(capacity_msgs);
}

namespace {
// The orchestrator makes one channel at a time, on its one thread: a scope's state.
struct BoundState {
  bool active = false;
  bool clamp = false;
  std::string bound;
};
BoundState& bound_state() {
  static BoundState state;
  return state;
}
}  // namespace

CapacityBoundScope::CapacityBoundScope(bool clamp) { bound_state() = {true, clamp, {}}; }
CapacityBoundScope::~CapacityBoundScope() { bound_state() = {}; }
const std::string& CapacityBoundScope::bound() const noexcept { return bound_state().bound; }

bool capacity_clamps() noexcept { return bound_state().clamp; }

void note_capacity_bound(std::string bound) {
  if (bound_state().active) bound_state().bound = std::move(bound);
}

std::uint64_t probe_capacity_msgs(int write_fd, int read_fd, std::size_t msg_bytes,
                                  std::uint64_t* accepted_bytes) {
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
        throw NotRunnable(
            "a " + std::to_string(msg_bytes) +
            "-byte message does not fit in one send on this socket (" + std::strerror(err) +
            "): a datagram must fit the send buffer, at most 2 x net.core.wmem_max = " +
            std::to_string(2 * read_sysctl("/proc/sys/net/core/wmem_max", 0)) + " B");
      }
      throw SysError("write (capacity probe)", "fd " + std::to_string(write_fd));
    }
    written += static_cast<std::uint64_t>(n);
    if (static_cast<std::size_t>(n) < buf.size()) break;  // a partial write: it is full
    ++whole;
  }
  if (accepted_bytes != nullptr) *accepted_bytes = written;
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
    throw SysError("read (capacity probe)", "fd " + std::to_string(read_fd),
                   n == 0 ? EPIPE : errno);
  }
  set_nonblocking(write_fd, false);
  set_nonblocking(read_fd, false);
  return whole;
}

Granted fit_capacity(const ChannelConfig& cfg,
                     const std::function<std::uint64_t(std::uint64_t)>& set_bytes, int write_fd,
                     int read_fd) {
  return fit_capacity(cfg, set_bytes,
                      [&] { return probe_capacity_msgs(write_fd, read_fd, cfg.msg_bytes); });
}

Granted fit_capacity(const ChannelConfig& cfg,
                     const std::function<std::uint64_t(std::uint64_t)>& set_bytes,
                     const std::function<std::uint64_t()>& probe) {
  constexpr int kMaxAttempts = 6;
  std::uint64_t request = requested_channel_bytes(cfg);
  Granted best;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    std::uint64_t granted = 0;
    try {
      granted = set_bytes(request);
    } catch (const NotRunnable&) {
      if (attempt == 0) throw;
      break;  // grew into a limit: keep the last grant, which is what was measured
    }
    // A knob clamped at its bound grants the same again: the last probe stands.
    if (attempt > 0 && granted <= best.capacity_bytes) break;
    best.capacity_bytes = granted;
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

std::uint64_t set_pipe_size(int fd, std::uint64_t bytes) {
  if (bytes > INT_MAX)
    throw NotRunnable("pipe size " + std::to_string(bytes) + " B exceeds INT_MAX");
  if (::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(std::max<std::uint64_t>(bytes, 1))) < 0) {
    const int err = errno;
    // Past fs.pipe-max-size without CAP_SYS_RESOURCE: the largest pipe the kernel allows
    // instead, as the message queues clamp their depth. The grant is what gets probed and
    // recorded (capacity_effective), so the clamp is never hidden.
    const std::uint64_t max_bytes = read_sysctl("/proc/sys/fs/pipe-max-size");
    if (err == EPERM && max_bytes > 0 && max_bytes < bytes) {
      note_capacity_bound("fs.pipe-max-size = " + std::to_string(max_bytes) +
                          " B (CAP_SYS_RESOURCE goes past it)");
      return set_pipe_size(fd, max_bytes);
    }
    if (err == EPERM || err == ENOMEM) {
      throw NotRunnable("F_SETPIPE_SZ " + std::to_string(bytes) + " B refused (" +
                        std::strerror(err) + "): above fs.pipe-max-size = " +
                        std::to_string(read_sysctl("/proc/sys/fs/pipe-max-size")) +
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

void set_socket_buffer(int fd, int opt, int force_opt, const char* limit_path,
                       std::uint64_t bytes) {
  if (bytes > INT_MAX / 2)
    throw NotRunnable("socket buffer " + std::to_string(bytes) + " B exceeds INT_MAX/2");
  const int val = static_cast<int>(bytes);
  const std::uint64_t limit = read_sysctl(limit_path, UINT64_MAX);
  if (bytes <= limit) {
    if (::setsockopt(fd, SOL_SOCKET, opt, &val, sizeof val) < 0)
      throw SysError("setsockopt", "SO_*BUF");
    return;
  }
  if (::setsockopt(fd, SOL_SOCKET, force_opt, &val, sizeof val) < 0) {
    if (bound_state().clamp && limit <= INT_MAX / 2) {
      // Capacity `max`: as much as an unprivileged socket may have.
      std::string name(limit_path + std::strlen("/proc/sys/"));
      std::replace(name.begin(), name.end(), '/', '.');
      note_capacity_bound(name + " = " + std::to_string(limit) +
                          " B (SO_SNDBUFFORCE/SO_RCVBUFFORCE need CAP_NET_ADMIN)");
      const int capped = static_cast<int>(limit);
      if (::setsockopt(fd, SOL_SOCKET, opt, &capped, sizeof capped) < 0)
        throw SysError("setsockopt", "SO_*BUF");
      return;
    }
    throw NotRunnable("socket buffer of " + std::to_string(bytes) + " B exceeds " + limit_path +
                      " (" + std::to_string(limit) +
                      ") and SO_*BUFFORCE needs CAP_NET_ADMIN: raise it with sysctl");
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
  if (::getsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &granted, &len) < 0)
    throw SysError("getsockopt", "SO_SNDBUF");
  return static_cast<std::uint64_t>(granted);
}

std::uint64_t mq_maxmsg_within(std::uint64_t capacity_msgs, std::uint64_t msg_max) {
  if (capacity_msgs <= msg_max || msg_max == 0) return 0;
  note_capacity_bound("fs.mqueue.msg_max = " + std::to_string(msg_max) +
                      " (CAP_SYS_RESOURCE goes to 65536, within RLIMIT_MSGQUEUE)");
  return msg_max;
}

std::uint64_t msg_qbytes_within(std::uint64_t capacity_msgs, std::uint64_t msg_bytes,
                                std::uint64_t msgmnb) {
  const std::uint64_t want = capacity_msgs * msg_bytes;
  if (want <= msgmnb) return want;
  if (msg_bytes > msgmnb) return 0;
  note_capacity_bound("kernel.msgmnb = " + std::to_string(msgmnb) +
                      " B (CAP_SYS_RESOURCE goes past it)");
  return msgmnb;
}

}  // namespace ipcbench
