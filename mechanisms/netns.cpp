// tcp_netns and udp_netns: the container boundary. Each side runs in a network namespace
// of its own, and the two namespaces are joined by a veth pair, as two containers on one
// host talk through their virtual Ethernet. The channel itself is tcp's and udp's
// (harness/inet.cpp): framing, capacity and wait modes are theirs, and `transport` names
// them, so x_transport is what crossing the boundary costs over plain loopback.
//
// Setup, all in create() (the orchestrator), before any child exists:
//   1. two ANONYMOUS network namespaces: a short-lived thread unshare()s CLONE_NEWNET
//      (a network namespace belongs to a thread, so the orchestrator's own stays the
//      host's) and opens /proc/thread-self/ns/net and a NETLINK_ROUTE socket there.
//      Nothing is named in /var/run/netns: nothing can outlive its holders.
//   2. the veth pair, by rtnetlink (RTM_NEWLINK, kind "veth", VETH_INFO_PEER with
//      IFLA_NET_NS_FD): made in namespace a with its peer in namespace b, so neither end
//      ever exists in the host's namespace. No dependency on the `ip` binary.
//   3. in each namespace: lo and the veth end up, an address from 169.254.77.0/30
//      (.1 for side a, .2 for side b), the peer's Ethernet address as a permanent
//      neighbour (no ARP during set-up or a run), IPv6 off on the veth (no DAD, router
//      solicitations or MLD crossing it); then it waits until both ends are
//      operationally up (the kernel drops what is sent before: wait_until_up).
//   4. each side's sockets are made by a thread that setns()es into its namespace: a
//      socket keeps the namespace it was made in, so the orchestrator then connects,
//      accepts and probes the capacity as tcp and udp do, on the very sockets the
//      children will use. Each child joins its namespace (setns) before it takes its end.
// Clean-up: create() closes the netlink sockets before it returns, and forked() the
// orchestrator's namespace handles and sockets: from then on the namespaces are held
// only by the two children (their sockets and their own namespace), which die with the
// orchestrator (PR_SET_PDEATHSIG). The kernel destroys a namespace with its last holder,
// and with it its veth end, which destroys the peer: a SIGKILLed orchestrator leaves no
// namespace, veth or address (tests/netns_cleanup_test.sh checks it).
// Loopback only: the sockets bind to 169.254.77.x inside the two private namespaces.
// No interface in the host's namespace has those addresses or a route to them, and no
// end of the veth is in the host's namespace, so nothing here is reachable from the
// host or beyond it: the promise that loopback keeps for tcp and udp.
// Needs CAP_NET_ADMIN (and CAP_SYS_ADMIN for setns): without it, NotRunnable.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "harness/error.hpp"
#include "harness/inet.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

constexpr const char* kNeedsNetAdmin =
    "needs CAP_NET_ADMIN and CAP_SYS_ADMIN to make network namespaces and a veth pair: run as "
    "root or grant the capabilities (e.g. setcap cap_net_admin,cap_sys_admin+ep ipcbench)";
// The veth end's interface index in each namespace: chosen, not looked up (each
// namespace is new and private, so the index is free).
constexpr int kVethIndex = 100;
constexpr int kLoopbackIndex = 1;
// IF_OPER_UP (linux/if.h, which cannot be included beside net/if.h): RFC 2863 "up".
constexpr unsigned kOperUp = 6;
constexpr std::uint32_t kAddrA = 0xA9FE4D01;  // 169.254.77.1: link-local, never routed
constexpr std::uint32_t kAddrB = 0xA9FE4D02;  // 169.254.77.2
constexpr unsigned char kPrefixBits = 30;
// Each end's Ethernet address, chosen (locally administered) so that each namespace
// can be told its peer's up front: a permanent neighbour entry instead of ARP, whose
// first resolution would hold back (and, past its queue, drop) the datagrams of udp's
// capacity probe and deliver them after it, into the case.
using Mac = std::array<unsigned char, 6>;
constexpr Mac kMacA = {0x02, 0x00, 0xa9, 0xfe, 0x4d, 0x01};
constexpr Mac kMacB = {0x02, 0x00, 0xa9, 0xfe, 0x4d, 0x02};

[[noreturn]] void fail(const char* call, const std::string& object, int err) {
  if (err == EPERM) throw NotRunnable(kNeedsNetAdmin);
  throw SysError(call, object, err);
}

// Runs fn on a thread of its own and returns its result (or rethrows what it threw):
// unshare and setns then change that thread's network namespace, never the caller's.
template <typename Fn>
auto on_own_thread(Fn fn) -> decltype(fn()) {
  decltype(fn()) result;
  std::exception_ptr error;
  std::thread([&] {
    try {
      result = fn();
    } catch (...) {
      error = std::current_exception();
    }
  }).join();
  if (error) std::rethrow_exception(error);
  return result;
}

// A new namespace's handle and a route-netlink socket inside it.
struct Netns {
  UniqueFd ns, rtnl;
};

// Calling thread only (it is now inside the new namespace): IPv6 off for devices made
// from now on. Absent when the kernel has no IPv6, which is just as quiet.
void quiet_ipv6() {
  UniqueFd fd(::open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC));
  if (fd && ::write(fd.get(), "1", 1) != 1) throw SysError("write", "disable_ipv6");
}

Netns new_netns() {
  return on_own_thread([] {
    if (::unshare(CLONE_NEWNET) < 0) fail("unshare", "CLONE_NEWNET", errno);
    quiet_ipv6();
    Netns n;
    n.ns.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!n.ns) throw SysError("open", "/proc/thread-self/ns/net");
    n.rtnl.reset(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!n.rtnl) throw SysError("socket", "AF_NETLINK NETLINK_ROUTE");
    return n;
  });
}

UniqueFd socket_in(int ns, int type) {
  return on_own_thread([=] {
    if (::setns(ns, CLONE_NEWNET) < 0) fail("setns", "CLONE_NEWNET", errno);
    UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd) throw SysError("socket", "AF_INET in a network namespace");
    return fd;
  });
}

// One rtnetlink request: a header, the message's fixed part, then attributes (nested
// ones opened and closed around their content). Set-up only: not on any timed path.
class NlRequest {
 public:
  NlRequest(std::uint16_t type, std::uint16_t flags) {
    auto* h = header();
    h->nlmsg_len = NLMSG_HDRLEN;
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  }
  template <typename T>
  void put(const T& fixed) {
    append(&fixed, sizeof fixed);
  }
  void attr(std::uint16_t type, const void* data, std::size_t bytes) {
    const rtattr a{.rta_len = static_cast<unsigned short>(RTA_LENGTH(bytes)), .rta_type = type};
    append(&a, sizeof a);
    append(data, bytes);
  }
  template <typename T>
  void attr(std::uint16_t type, const T& value) {
    attr(type, &value, sizeof value);
  }
  void attr(std::uint16_t type, const char* text) { attr(type, text, std::strlen(text) + 1); }
  std::size_t open_nest(std::uint16_t type) {
    const std::size_t at = header()->nlmsg_len;
    attr(type, nullptr, 0);
    return at;
  }
  void close_nest(std::size_t at) {
    reinterpret_cast<rtattr*>(buf_ + at)->rta_len =
        static_cast<unsigned short>(header()->nlmsg_len - at);
  }
  // Sends the request on `rtnl` and waits for the kernel's acknowledgement.
  void run(int rtnl, const char* what) const;
  // Sends the request on `rtnl`, asking for no acknowledgement (a query: the answer is
  // the reply).
  void ask(int rtnl, const char* what) {
    header()->nlmsg_flags &= ~NLM_F_ACK;
    send(rtnl, what);
  }

 private:
  void send(int rtnl, const char* what) const;
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_); }
  const nlmsghdr* header() const { return reinterpret_cast<const nlmsghdr*>(buf_); }
  void append(const void* data, std::size_t bytes) {
    const std::size_t at = header()->nlmsg_len;
    if (at + NLMSG_ALIGN(bytes) > sizeof buf_) throw std::logic_error("rtnetlink request too long");
    if (bytes > 0) std::memcpy(buf_ + at, data, bytes);
    std::memset(buf_ + at + bytes, 0, NLMSG_ALIGN(bytes) - bytes);
    header()->nlmsg_len = static_cast<std::uint32_t>(at + NLMSG_ALIGN(bytes));
  }
  alignas(nlmsghdr) char buf_[512] = {};
};

void NlRequest::send(int rtnl, const char* what) const {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(rtnl, buf_, header()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0)
    fail("sendto (rtnetlink)", what, errno);
}

void NlRequest::run(int rtnl, const char* what) const {
  send(rtnl, what);
  alignas(nlmsghdr) char reply[1024];
  const ssize_t n = ::recv(rtnl, reply, sizeof reply, 0);
  if (n < 0) fail("recv (rtnetlink)", what, errno);
  const auto* h = reinterpret_cast<const nlmsghdr*>(reply);
  if (!NLMSG_OK(h, static_cast<unsigned>(n)) || h->nlmsg_type != NLMSG_ERROR)
    throw std::runtime_error(std::string("rtnetlink ") + what + ": no acknowledgement");
  const int err = -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
  if (err == EOPNOTSUPP) throw NotRunnable(std::string(what) + ": the kernel has no veth driver");
  if (err != 0) fail("rtnetlink", what, err);
}

// An interface message's fixed part: the interface `index` and, when `up`, IFF_UP set.
ifinfomsg link_msg(int index, bool up = false) {
  ifinfomsg m{};
  m.ifi_family = AF_UNSPEC;
  m.ifi_index = index;
  m.ifi_flags = up ? IFF_UP : 0;
  m.ifi_change = up ? IFF_UP : 0;
  return m;
}

// The veth pair: made in a's namespace (the request's socket), its peer in b's.
void make_veth(const Netns& a, const Netns& b) {
  NlRequest req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  req.put(link_msg(kVethIndex));
  req.attr(IFLA_IFNAME, "veth_a");
  req.attr(IFLA_ADDRESS, kMacA);
  const std::size_t linkinfo = req.open_nest(IFLA_LINKINFO);
  req.attr(IFLA_INFO_KIND, "veth");
  const std::size_t data = req.open_nest(IFLA_INFO_DATA);
  const std::size_t peer = req.open_nest(VETH_INFO_PEER);
  req.put(link_msg(kVethIndex));
  req.attr(IFLA_IFNAME, "veth_b");
  req.attr(IFLA_ADDRESS, kMacB);
  req.attr(IFLA_NET_NS_FD, static_cast<std::uint32_t>(b.ns.get()));
  req.close_nest(peer);
  req.close_nest(data);
  req.close_nest(linkinfo);
  req.run(a.rtnl.get(), "RTM_NEWLINK veth");
}

void link_up(const Netns& n, int index) {
  NlRequest req(RTM_NEWLINK, 0);
  req.put(link_msg(index, true));
  req.run(n.rtnl.get(), "RTM_NEWLINK up");
}

void add_address(const Netns& n, std::uint32_t host_order) {
  NlRequest req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg m{};
  m.ifa_family = AF_INET;
  m.ifa_prefixlen = kPrefixBits;
  m.ifa_index = kVethIndex;
  req.put(m);
  const std::uint32_t addr = htonl(host_order);
  req.attr(IFA_LOCAL, addr);
  req.attr(IFA_ADDRESS, addr);
  req.run(n.rtnl.get(), "RTM_NEWADDR");
}

// The veth end's operational state (IFLA_OPERSTATE) as the kernel reports it now.
unsigned veth_operstate(const Netns& n) {
  NlRequest req(RTM_GETLINK, 0);
  req.put(link_msg(kVethIndex));
  req.ask(n.rtnl.get(), "RTM_GETLINK");
  alignas(nlmsghdr) char reply[4096];
  const ssize_t len = ::recv(n.rtnl.get(), reply, sizeof reply, 0);
  if (len < 0) fail("recv (rtnetlink)", "RTM_GETLINK", errno);
  const auto* h = reinterpret_cast<const nlmsghdr*>(reply);
  if (!NLMSG_OK(h, static_cast<unsigned>(len)) || h->nlmsg_type != RTM_NEWLINK)
    throw std::runtime_error("rtnetlink RTM_GETLINK: no answer");
  int left = static_cast<int>(IFLA_PAYLOAD(h));
  const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
  for (const rtattr* a = IFLA_RTA(info); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
    if (a->rta_type == IFLA_OPERSTATE) return *static_cast<const unsigned char*>(RTA_DATA(a));
  }
  return 0;  // IF_OPER_UNKNOWN
}

// Waits until the veth end is operationally up. The kernel turns the carrier on when
// both ends are up, but activates the transmit queue later, from its link-watch work
// (asynchronous, up to a second): until then every packet sent is dropped (QDISC_DROP),
// and a UDP pingpong whose first message is dropped waits for ever. TCP would hide it
// in a retransmission; udp_netns cannot.
void wait_until_up(const Netns& n) {
  constexpr int kTries = 3000;  // 1 ms apart: 3 s, past link-watch's 1 s delay
  for (int i = 0; i < kTries; ++i) {
    if (veth_operstate(n) == kOperUp) return;
    ::usleep(1000);
  }
  throw std::runtime_error("veth did not come up within 3 s (operstate)");
}

// The peer at `host_order` has Ethernet address `mac`, for good (NUD_PERMANENT).
void add_neighbour(const Netns& n, std::uint32_t host_order, const Mac& mac) {
  NlRequest req(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL);
  ndmsg m{};
  m.ndm_family = AF_INET;
  m.ndm_ifindex = kVethIndex;
  m.ndm_state = NUD_PERMANENT;
  req.put(m);
  req.attr(NDA_DST, htonl(host_order));
  req.attr(NDA_LLADDR, mac);
  req.run(n.rtnl.get(), "RTM_NEWNEIGH");
}

// Two namespaces joined by a veth pair, both ends up and addressed. Its netlink sockets
// close when it goes out of scope; the namespace handles go to the channel.
class NetnsPair {
 public:
  NetnsPair() : a_(new_netns()), b_(new_netns()) {
    make_veth(a_, b_);
    for (const Netns* n : {&a_, &b_}) {
      link_up(*n, kLoopbackIndex);
      const bool is_a = n == &a_;
      add_address(*n, is_a ? kAddrA : kAddrB);
      link_up(*n, kVethIndex);
      add_neighbour(*n, is_a ? kAddrB : kAddrA, is_a ? kMacB : kMacA);
    }
    for (const Netns* n : {&a_, &b_}) wait_until_up(*n);
  }
  InetSides sides() const {
    InetSides s{.socket_a = [ns = a_.ns.get()](int type) { return socket_in(ns, type); },
                .socket_b = [ns = b_.ns.get()](int type) { return socket_in(ns, type); }};
    s.addr_a.s_addr = htonl(kAddrA);
    s.addr_b.s_addr = htonl(kAddrB);
    return s;
  }

  // Hands over a namespace's handle (the children join them: NetnsChannel).
  UniqueFd take_ns(Side side) { return std::move(side == Side::a ? a_.ns : b_.ns); }

 private:
  Netns a_, b_;
};

// An IP channel whose sides also run in their namespaces: each child joins its own
// (setns; a child is single-threaded), so what it sees of the network (/proc/self/net,
// any other socket it makes) is its namespace's, as in a container. The orchestrator's
// handles close in forked(): the children then hold the namespaces, with their sockets.
class NetnsChannel final : public Channel {
 public:
  NetnsChannel(std::unique_ptr<Channel> inner, NetnsPair& pair)
      : inner_(std::move(inner)), ns_a_(pair.take_ns(Side::a)), ns_b_(pair.take_ns(Side::b)) {
    granted_ = inner_->granted();
  }
  std::unique_ptr<Endpoint> open(Side side) override {
    const UniqueFd& mine = side == Side::a ? ns_a_ : ns_b_;
    if (::setns(mine.get(), CLONE_NEWNET) < 0) throw SysError("setns", "CLONE_NEWNET");
    ns_a_.reset();
    ns_b_.reset();
    return inner_->open(side);  // closes the other side's socket
  }
  void forked() override {
    ns_a_.reset();
    ns_b_.reset();
    inner_->forked();
  }

 private:
  std::unique_ptr<Channel> inner_;
  UniqueFd ns_a_, ns_b_;
};

template <auto kMakeChannel>
std::unique_ptr<Channel> create_in_netns(const ChannelConfig& cfg) {
  NetnsPair pair;
  auto inner = kMakeChannel(cfg, pair.sides());
  return std::make_unique<NetnsChannel>(std::move(inner), pair);
}

}  // namespace

const Mechanism kTcpNetns{
    .name = "tcp_netns",
    .summary = "TCP across two network namespaces joined by a veth pair (the container boundary)",
    .capacity_knob = "SO_SNDBUF = SO_RCVBUF, grown until capacity frames fit (probed), as tcp",
    .order = 420,
    .family = kFamilyNetwork,
    .transport = "tcp",
    .create = create_in_netns<make_tcp_channel>,
};
const Registration kTcpNetnsRegistration{kTcpNetns};

const Mechanism kUdpNetns{
    .name = "udp_netns",
    .summary = "UDP across two network namespaces joined by a veth pair, loss counted not failed",
    .capacity_knob =
        "SO_RCVBUF (and SO_SNDBUF), grown until capacity datagrams fit (probed), as udp",
    .order = 430,
    .family = kFamilyNetwork,
    .transport = "udp",
    .may_lose = true,
    .create = create_in_netns<make_udp_channel>,
};
const Registration kUdpNetnsRegistration{kUdpNetns};

}  // namespace ipcbench
