// udp_mcast: UDP multicast on the loopback interface. The producer sends each message
// once, as one datagram to a multicast group; the kernel hands a copy to every
// consumer's socket that joined the group (Mechanism::broadcast).
//
// Where it goes: the group is a random address in 239.255.0.0/16 (administratively
// scoped, RFC 2365) and the port one the kernel picked, so concurrent runs never
// share a group. The producer's socket is bound to 127.0.0.1 and sends with
// IP_MULTICAST_IF = 127.0.0.1 (out of lo), IP_MULTICAST_LOOP = 1 (local members get a
// copy) and IP_MULTICAST_TTL = 0: Linux loops a copy back to the local members and
// then drops every datagram whose TTL is 0 before it reaches a device
// (ip_mc_output), so nothing leaves the host, and no member gets a second copy from
// lo's own receive path. Each consumer, in open(Side::b), makes its own socket
// (SO_REUSEADDR, so all N can bind the same group and port), binds the group address
// (a bind to a group receives only datagrams sent to that group: not a wildcard),
// joins the group on lo (IP_ADD_MEMBERSHIP, interface 127.0.0.1) and connect()s to the
// producer's address, so a datagram from any other sender is dropped by the kernel.
// lo carries no MULTICAST flag on a stock Linux, and none is needed: the join only
// adds the group to lo's list, the send names its interface, and the copy loops back
// in software. No route and no host change.
// Membership takes effect in the join call itself (the group is on lo's list when
// setsockopt returns), and every consumer joins in open(), before the start barrier:
// the first message already reaches all of them.
// The port: create() binds a reservation socket to the group on port 0 (the kernel
// picks a port no socket holds) and keeps it until every child has opened its end (each child
// drops its inherited copy only after binding its own socket), so no one else can take
// the port meanwhile. It never joins and has IP_MULTICAST_ALL off, so it receives
// nothing.
// Semantics: udp's. A consumer whose buffer is full loses the datagram (may_lose:
// counted and reported, not an error); the producer never waits for a consumer.
// Capacity: SO_RCVBUF (and SO_SNDBUF), fitted in create() on a probe member of the
// group as udp does; each consumer's socket gets the same request.
// Wait: block = blocking send/recv; spin = MSG_DONTWAIT, retrying EAGAIN.
// Nothing named; the sockets close with their processes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/registry.hpp"
#include "harness/sockets.hpp"

namespace ipcbench {
namespace {

// 239.255.0.0/16, the IPv4 local scope (RFC 2365): a random address in it, its two
// low bytes never all zeros or all ones.
sockaddr_in random_group() {
  std::uint16_t low = 0;
  while (low == 0 || low == 0xffff) {
    if (::getrandom(&low, sizeof low, 0) != sizeof low) throw SysError("getrandom", "");
  }
  sockaddr_in group{};
  group.sin_family = AF_INET;
  group.sin_addr.s_addr = htonl((239u << 24) | (255u << 16) | low);
  return group;
}

std::string describe(const sockaddr_in& addr) {
  char text[INET_ADDRSTRLEN] = "?";
  ::inet_ntop(AF_INET, &addr.sin_addr, text, sizeof text);
  return std::string(text) + ":" + std::to_string(ntohs(addr.sin_port));
}

void set_ip_option(int fd, int option, const void* value, socklen_t len, const char* what) {
  if (::setsockopt(fd, IPPROTO_IP, option, value, len) < 0) throw SysError("setsockopt", what);
}
void set_ip_int(int fd, int option, int value, const char* what) {
  set_ip_option(fd, option, &value, sizeof value, what);
}

void set_reuseaddr(int fd) {
  const int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
    throw SysError("setsockopt", "SO_REUSEADDR");
}

// A socket bound to the group; the port is group.sin_port, 0 for one the kernel picks
// (written back into `group`). `shared`: SO_REUSEADDR before the bind, so that every
// member binds the same group and port. IP_MULTICAST_ALL off: a socket bound to a
// group it has not joined (the port's reservation) would otherwise receive the
// group's datagrams as soon as any socket on the host joined it.
UniqueFd group_socket(sockaddr_in& group, bool shared, std::uint64_t rcvbuf_request = 0) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) throw SysError("socket", "AF_INET SOCK_DGRAM");
  set_ip_int(fd.get(), IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL");
  if (shared) set_reuseaddr(fd.get());
  // Before bind and join, so the first datagram already finds the full buffer.
  if (rcvbuf_request != 0) {
    const int fds[] = {fd.get()};
    set_socket_buffers(fds, rcvbuf_request);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&group), sizeof group) < 0)
    throw SysError("bind", describe(group));
  socklen_t len = sizeof group;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&group), &len) < 0)
    throw SysError("getsockname", describe(group));
  return fd;
}

// The port's reservation: bound to the group on port 0 without SO_REUSEADDR, so the
// kernel picks a port that no socket holds, shared or not; SO_REUSEADDR only then, so
// that the members may bind it too.
UniqueFd reserve_port(sockaddr_in& group) {
  UniqueFd fd = group_socket(group, /*shared=*/false);
  set_reuseaddr(fd.get());
  return fd;
}

// A consumer's socket: bound to the group, joined on lo, and connected to the
// producer so that only its datagrams are delivered.
UniqueFd member_socket(sockaddr_in group, const sockaddr_in& producer,
                       std::uint64_t rcvbuf_request) {
  UniqueFd fd = group_socket(group, /*shared=*/true, rcvbuf_request);
  ip_mreq join{};
  join.imr_multiaddr = group.sin_addr;
  join.imr_interface.s_addr = htonl(INADDR_LOOPBACK);
  if (::setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) < 0) {
    // A kernel without multicast, a lo that cannot take the group, or no joins allowed
    // (ENOBUFS: net.ipv4.igmp_max_memberships): the machine's, not the run's.
    const int err = errno;
    if (err == ENODEV || err == ENOPROTOOPT || err == EADDRNOTAVAIL || err == ENOBUFS) {
      throw NotRunnable("udp_mcast: cannot join a multicast group on lo (IP_ADD_MEMBERSHIP: " +
                        std::string(std::strerror(err)) +
                        (err == ENOBUFS ? "; see sysctl net.ipv4.igmp_max_memberships)" : ")"));
    }
    throw SysError("setsockopt", "IP_ADD_MEMBERSHIP " + describe(group) + " on lo");
  }
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&producer), sizeof producer) < 0)
    throw SysError("connect", describe(producer));
  return fd;
}

// The producer's socket: bound to 127.0.0.1, sending to the group out of lo with
// TTL 0 (the header says why nothing leaves the host), connected to the group.
UniqueFd producer_socket(const sockaddr_in& group, sockaddr_in& addr) {
  UniqueFd fd = bound_loopback_udp_socket(addr);
  const in_addr loopback{htonl(INADDR_LOOPBACK)};
  set_ip_option(fd.get(), IP_MULTICAST_IF, &loopback, sizeof loopback, "IP_MULTICAST_IF 127.0.0.1");
  set_ip_int(fd.get(), IP_MULTICAST_LOOP, 1, "IP_MULTICAST_LOOP");
  set_ip_int(fd.get(), IP_MULTICAST_TTL, 0, "IP_MULTICAST_TTL");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&group), sizeof group) < 0)
    throw SysError("connect", describe(group));
  return fd;
}

class UdpMcastChannel final : public Channel {
 public:
  explicit UdpMcastChannel(const ChannelConfig& cfg) : wait_(cfg.wait) {
    check_datagram_fits(cfg.msg_bytes);
    group_ = random_group();
    reservation_ = reserve_port(group_);
    tx_ = producer_socket(group_, producer_);
    // The probe is a member like any consumer; it leaves the group when it closes.
    const UniqueFd probe = member_socket(group_, producer_, 0);
    const std::uint64_t burst = cfg.capacity_msgs * 2 + 64;
    granted_ = fit_capacity(
        cfg,
        [&](std::uint64_t bytes) {
          const int fds[] = {tx_.get(), probe.get()};
          set_socket_buffers(fds, bytes);
          rcvbuf_request_ = bytes;  // the last request set is the grant kept
          return receive_buffer_bytes(probe.get());
        },
        [&] { return probe_datagrams(tx_.get(), probe.get(), cfg.msg_bytes, burst); });
    // The probe doubles as the check that loopback multicast works here at all.
    if (granted_.capacity_msgs == 0) {
      throw NotRunnable("udp_mcast: no datagram sent to " + describe(group_) +
                        " on lo reached a member (multicast filtered on this host?)");
    }
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    UniqueFd mine =
        side == Side::a ? std::move(tx_) : member_socket(group_, producer_, rcvbuf_request_);
    forked();  // the producer's socket (a consumer's copy) and the port's reservation
    return std::make_unique<MessageFdEndpoint>(std::move(mine), wait_);
  }
  void forked() override {
    tx_.reset();
    reservation_.reset();
  }

 private:
  WaitMode wait_;
  sockaddr_in group_{};               // the group and its port
  sockaddr_in producer_{};            // the producer's 127.0.0.1 address (consumers connect to it)
  UniqueFd reservation_;              // holds the port until every child has bound its own socket
  UniqueFd tx_;                       // the producer's socket, until side a takes it
  std::uint64_t rcvbuf_request_ = 0;  // the SO_RCVBUF request each consumer applies
};

}  // namespace

const Mechanism kUdpMcast{
    .name = "udp_mcast",
    .summary =
        "UDP multicast on loopback (239.255.x.y, TTL 0): one datagram per message, one copy "
        "per consumer, loss counted not failed",
    .capacity_knob =
        "SO_RCVBUF (and SO_SNDBUF) on each consumer, grown until capacity datagrams fit (probed)",
    .order = 420,
    .family = kFamilyNetwork,
    .transport = "udp",
    .pingpong = false,
    .may_lose = true,
    .broadcast = true,
    .create = create_channel<UdpMcastChannel>,
};
const Registration kUdpMcastRegistration{kUdpMcast};

}  // namespace ipcbench
