#include "harness/inet.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "harness/error.hpp"
#include "harness/sockets.hpp"

namespace ipcbench {
namespace {

std::string text(const sockaddr_in& addr) {
  char ip[INET_ADDRSTRLEN] = "?";
  ::inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(addr.sin_port));
}

// Binds fd to `ip` on an ephemeral port and returns the address it got.
sockaddr_in bind_ephemeral(int fd, in_addr ip) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr = ip;
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    throw SysError("bind", text(addr));
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0)
    throw SysError("getsockname", text(addr));
  return addr;
}

void connect_to(int fd, const sockaddr_in& addr) {
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0)
    throw SysError("connect", text(addr));
}

class TcpChannel final : public FdPairChannel {
 public:
  TcpChannel(const ChannelConfig& cfg, const InetSides& sides) : FdPairChannel(cfg.wait) {
    UniqueFd listener = sides.socket_b(SOCK_STREAM);
    const sockaddr_in addr = bind_ephemeral(listener.get(), sides.addr_b);
    if (::listen(listener.get(), 1) < 0) throw SysError("listen", text(addr));
    a_ = sides.socket_a(SOCK_STREAM);
    // The connect completes through the listen backlog without an accept.
    connect_to(a_.get(), addr);
    b_.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!b_) throw SysError("accept4", text(addr));
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

class UdpChannel final : public FdPairChannel {
 public:
  UdpChannel(const ChannelConfig& cfg, const InetSides& sides) : FdPairChannel(cfg.wait) {
    check_datagram_fits(cfg.msg_bytes);
    a_ = sides.socket_a(SOCK_DGRAM);
    b_ = sides.socket_b(SOCK_DGRAM);
    const sockaddr_in a_addr = bind_ephemeral(a_.get(), sides.addr_a);
    const sockaddr_in b_addr = bind_ephemeral(b_.get(), sides.addr_b);
    connect_to(a_.get(), b_addr);
    connect_to(b_.get(), a_addr);
    const std::uint64_t burst = cfg.capacity_msgs * 2 + 64;
    granted_ = fit_capacity(
        cfg,
        [&](std::uint64_t bytes) {
          const int fds[] = {a_.get(), b_.get()};
          set_socket_buffers(fds, bytes);
          return receive_buffer_bytes(b_.get());  // what limits a UDP channel
        },
        [&] { return probe_datagrams(a_.get(), b_.get(), cfg.msg_bytes, burst); });
  }

 private:
  std::unique_ptr<Endpoint> make_endpoint(UniqueFd socket) override {
    return std::make_unique<MessageFdEndpoint>(std::move(socket), wait_);
  }
};

UniqueFd loopback_socket(int type) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!fd)
    throw SysError("socket", type == SOCK_STREAM ? "AF_INET SOCK_STREAM" : "AF_INET SOCK_DGRAM");
  return fd;
}

}  // namespace

InetSides loopback_sides() {
  InetSides sides{.socket_a = loopback_socket, .socket_b = loopback_socket};
  sides.addr_a.s_addr = htonl(INADDR_LOOPBACK);  // loopback only
  sides.addr_b.s_addr = htonl(INADDR_LOOPBACK);
  return sides;
}

std::unique_ptr<Channel> make_tcp_channel(const ChannelConfig& cfg, const InetSides& sides) {
  return std::make_unique<TcpChannel>(cfg, sides);
}

std::unique_ptr<Channel> make_udp_channel(const ChannelConfig& cfg, const InetSides& sides) {
  return std::make_unique<UdpChannel>(cfg, sides);
}

}  // namespace ipcbench
