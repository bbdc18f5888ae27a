// unix_stream: a connected pair of AF_UNIX SOCK_STREAM sockets (socketpair), one
// socket per side, used in both directions for pingpong.
//
// Capacity: SO_SNDBUF and SO_RCVBUF on both sockets, starting at capacity x size bytes
// (AF_UNIX stream flow control is the sender's SO_SNDBUF). Past net.core.wmem_max/rmem_max the
// kernel would cap the request silently, so ipcbench uses SO_SNDBUFFORCE/SO_RCVBUFFORCE
// (CAP_NET_ADMIN) there and reports the case not runnable without the privilege. The
// kernel doubles the value for bookkeeping and charges each skb's overhead (~800 B for
// a small message), so fit_capacity() probes the fresh socket and grows the buffer
// until `capacity` messages fit; capacity_effective is the probed count.
// Wait: block = blocking read/write; spin = O_NONBLOCK, retrying EAGAIN.
// Nothing named: nothing to leak.
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <fstream>

#include "harness/error.hpp"
#include "harness/fdio.hpp"

namespace ipcbench {
namespace {

std::uint64_t read_sysctl(const char* path) {
  std::ifstream in(path);
  std::uint64_t v = 0;
  in >> v;
  return v;
}

void set_buffer(int fd, int opt, int force_opt, const char* limit_path, std::uint64_t bytes) {
  if (bytes > INT_MAX / 2) throw NotRunnable("socket buffer " + std::to_string(bytes) + " B exceeds INT_MAX/2");
  const int val = static_cast<int>(bytes);
  const std::uint64_t limit = read_sysctl(limit_path);
  if (bytes <= limit) {
    if (::setsockopt(fd, SOL_SOCKET, opt, &val, sizeof val) < 0) throw SysError("setsockopt", "SO_*BUF");
    return;
  }
  if (::setsockopt(fd, SOL_SOCKET, force_opt, &val, sizeof val) < 0) {
    throw NotRunnable("socket buffer of " + std::to_string(bytes) + " B exceeds " + limit_path +
                      " (" + std::to_string(limit) +
                      ") and SO_*BUFFORCE needs CAP_NET_ADMIN: raise it with sysctl");
  }
}

class UnixStreamChannel final : public Channel {
 public:
  explicit UnixStreamChannel(const ChannelConfig& cfg) : wait_(cfg.wait) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw SysError("socketpair", "AF_UNIX SOCK_STREAM");
    a_.reset(fds[0]);
    b_.reset(fds[1]);
    granted_ = fit_capacity(
        cfg,
        [&](std::uint64_t bytes) {
          for (int fd : {a_.get(), b_.get()}) {
            set_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, "/proc/sys/net/core/wmem_max", bytes);
            set_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, "/proc/sys/net/core/rmem_max", bytes);
          }
          int granted = 0;
          socklen_t len = sizeof granted;
          if (::getsockopt(a_.get(), SOL_SOCKET, SO_SNDBUF, &granted, &len) < 0) throw SysError("getsockopt", "SO_SNDBUF");
          return static_cast<std::uint64_t>(granted);
        },
        a_.get(), b_.get());
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    UniqueFd mine = std::move(side == Side::a ? a_ : b_);
    forked();
    return std::make_unique<StreamFdEndpoint>(std::move(mine), UniqueFd(), wait_);
  }

  void forked() override {
    a_.reset();
    b_.reset();
  }

 private:
  WaitMode wait_;
  UniqueFd a_, b_;
};

}  // namespace

extern const Mechanism kUnixStream{
    .name = "unix_stream",
    .summary = "AF_UNIX SOCK_STREAM socketpair",
    .capacity_knob = "SO_SNDBUF = SO_RCVBUF = capacity x size bytes (kernel doubles it)",
    .create = [](const ChannelConfig& cfg) -> std::unique_ptr<Channel> {
      return std::make_unique<UnixStreamChannel>(cfg);
    },
};

}  // namespace ipcbench
