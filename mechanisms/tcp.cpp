// tcp: a loopback TCP connection, length-prefixed frames, one connection used in both
// directions for pingpong.
//
// Setup: the orchestrator listens on 127.0.0.1 with an ephemeral port, connects,
// accepts and closes the listener before any child exists: nothing listens during a
// run, and nothing is bound to any address but loopback. TCP_NODELAY on both ends, so
// a small message leaves at once instead of waiting for Nagle's timer.
// Framing: [u32 length][payload] (FramedStreamEndpoint): one writev per message; the
// receiver reads through a 64 KiB staging buffer, so one read may deliver many small
// frames, as a real framed protocol does.
// Capacity: SO_SNDBUF and SO_RCVBUF on both sockets, starting at capacity x frame bytes
// (setting them turns off the kernel's buffer autotuning). Data in flight sits in the
// sender's and the receiver's buffers; fit_capacity() probes how many frames fit and
// grows the buffers until `capacity` do. capacity_bytes is the sender's SO_SNDBUF.
// Wait: block = blocking read/write; spin = O_NONBLOCK, retrying EAGAIN.
// Nothing named: nothing to leak.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

UniqueFd tcp_socket() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw SysError("socket", "AF_INET SOCK_STREAM");
  return fd;
}

class TcpChannel final : public FdPairChannel {
 public:
  explicit TcpChannel(const ChannelConfig& cfg) : FdPairChannel(cfg.wait) {
    UniqueFd listener = tcp_socket();
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only
    addr.sin_port = 0;                              // ephemeral
    socklen_t addr_len = sizeof addr;
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
      throw SysError("bind", "127.0.0.1:0");
    if (::listen(listener.get(), 1) < 0) throw SysError("listen", "127.0.0.1");
    if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &addr_len) < 0)
      throw SysError("getsockname", "");
    a_ = tcp_socket();
    // Loopback connect completes through the listen backlog without an accept.
    if (::connect(a_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
      throw SysError("connect", "127.0.0.1");
    b_.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!b_) throw SysError("accept4", "127.0.0.1");
    listener.reset();
    const int one = 1;
    for (int fd : {a_.get(), b_.get()}) {
      if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        throw SysError("setsockopt", "TCP_NODELAY");
    }
    // Probe with whole frames: the 4-byte length travels with every message.
    ChannelConfig framed = cfg;
    framed.msg_bytes += 4;
    granted_ = fit_socket_buffers(framed);
  }

 private:
  std::unique_ptr<Endpoint> make_endpoint(UniqueFd socket) override {
    return std::make_unique<FramedStreamEndpoint>(std::move(socket), wait_);
  }
};

}  // namespace

const Mechanism kTcp{
    .name = "tcp",
    .summary = "loopback TCP (127.0.0.1, TCP_NODELAY), length-prefixed frames",
    .capacity_knob = "SO_SNDBUF = SO_RCVBUF, grown until capacity frames fit (probed)",
    .order = 400,
    .family = kFamilyNetwork,
    .create = create_channel<TcpChannel>,
};
const Registration kTcpRegistration{kTcp};

}  // namespace ipcbench
