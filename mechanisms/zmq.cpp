// zmq_ipc, zmq_tcp: ZeroMQ (libzmq 4.3) over ipc:// (an AF_UNIX stream socket) or
// tcp:// on 127.0.0.1. Pingpong is REQ/REP, the request/reply pair ZeroMQ offers for
// exactly one message in flight (REQ adds an empty delimiter frame, REP strips it);
// stream is PUSH/PULL, its one-way pipeline. Side a (client, producer) connects;
// side b (server, consumer) binds.
// Fan-in (ChannelConfig::producers > 1): the same PUSH/PULL, each producer process
// connecting its own PUSH to the one PULL, which fair-queues whole messages.
// Fan-out (ChannelConfig::consumers > 1): XPUB/SUB, one send reaching every
// subscriber. Here side a (the XPUB) binds and each consumer's SUB connects and
// subscribes to everything. Lossless: ZMQ_XPUB_NODROP makes a send that finds any
// subscriber's pipe at its HWM wait (block) or return EAGAIN (spin) instead of
// dropping, so the slowest consumer paces the producer. A SUB drops whatever is
// published before its subscription reaches the XPUB (the slow joiner), so side a's
// open() waits, with ZMQ_XPUB_VERBOSE, until it has read one subscription per
// consumer (at most kSubscribeTimeoutMs; the consumers' open() never waits for it).
// With one consumer the stream stays PUSH/PULL (measured against XPUB/SUB in
// docs/mechanisms.md).
//
// Setup: the orchestrator makes the listening socket, so that nothing is ever bound
// by the library at a name or port we did not choose: ipc, a socket file (0600
// whatever the umask, bind_unix_owner_only) in a private 0700 mkdtemp directory; tcp,
// 127.0.0.1 with a port the kernel picks. Side b hands that descriptor to its socket
// (ZMQ_USE_FD) and binds to the same endpoint, so libzmq neither binds, unlinks nor
// listens itself; side a connects to it (the connection waits in the listen backlog
// until side b's I/O thread accepts it). Each side creates its context (and with it
// libzmq's I/O thread) in open(), after the fork; the listen backlog holds every
// side that connects. The socket file and its directory
// stay until the Channel is destroyed (the connecting side may connect at any time
// during its start); a killed orchestrator's directory is swept by the next run.
// While the case runs, side b listens on its endpoint (ZeroMQ has no way to stop
// listening but keep the connections a listener accepted).
//
// Timed: zmq_send and zmq_recv. zmq_send copies the message into a zmq_msg_t (libzmq
// allocates for more than 33 bytes: the library's cost, part of what it adds);
// zmq_recv copies the message into the caller's buffer and returns its full length, so
// a longer message is counted as truncated by the verifier.
//
// Capacity: ZMQ_SNDHWM = ZMQ_RCVHWM = capacity on both sockets (granted as asked:
// libzmq takes any value; a HWM of 0 would mean "no limit", so capacity 0 is refused).
// Messages in flight can exceed it: the sender's pipe, the receiver's pipe and the
// kernel socket buffers in between each hold some. One exception: the REP's send HWM
// is 0 (no limit). REP is a ROUTER inside, and a ROUTER silently DROPS a message whose
// pipe looks full; the writer learns what its reader took from commands it processes
// only when it waits or every 100 receives, so a REP that finds each request already
// waiting (a slow check of a large message) sees its reply pipe "full" after `capacity`
// replies and drops the next reply: both sides then wait for ever (seen at capacity 1
// and 4, 63 B to 1 MiB). REQ/REP hold one request or reply at a time anyway.
// Wait: block = blocking zmq_send/zmq_recv; spin = ZMQ_DONTWAIT, retrying EAGAIN
// (libzmq checks its command mailbox with a zero-timeout poll() on each try).
// A dead peer: ZeroMQ hides disconnects (a REQ waits for its reply for ever). Each side
// holds one end of a socketpair the orchestrator made; the peer's end closes when it
// dies (with several producers or consumers, when the last of them has). Blocking
// calls wait at most kPeerCheckMs (ZMQ_RCVTIMEO/ZMQ_SNDTIMEO) and spinning ones
// kSpinsPerCheck tries before polling that end: off the path of any message that does
// not wait. A receiver that finds the end closed waits kPeerCheckMs more for messages
// still on their way (a producer that sent its last one and exited) before it fails.
// Closing: ZeroMQ queues in the sender's own process, and a socket closed with linger 0
// drops that queue. Worse, a receiver that has stopped reading (its RCVHWM reached)
// and sees its connection hang up drops what is still unread in the kernel (libzmq's
// stream engine: an input event while input is stopped marks an I/O error). So the
// sending side of a stream (PUSH, XPUB), on an orderly close, lingers up to kLingerMs
// to write out its queue and keeps a duplicate of each connection's descriptor (from
// a socket monitor) open until the receiver has read it all: a producer that exits
// right after its last send (as a fan-in producer may) still delivers it. Every
// other socket, and a sender whose peer is gone, closes with linger 0, so a
// destruction on an error never waits. A producer killed outright loses what its
// process still held (up to its HWM) and what its receiver had not read.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"
#include "harness/sockets.hpp"

namespace ipcbench {
namespace {

enum class Transport { ipc, tcp };

// How long a blocked call waits before it checks that the peer lives.
constexpr int kPeerCheckMs = 50;
// How long a stream's sender, closing, may take to hand over what it still queues.
constexpr int kLingerMs = 1000;
// How long side a of a fan-out waits for every consumer's subscription.
constexpr int kSubscribeTimeoutMs = 10000;
// Failed non-blocking tries between two such checks (a try is ~1 us: two system calls).
constexpr unsigned kSpinsPerCheck = 1u << 14;

[[noreturn]] void zmq_fail(const char* call, const std::string& object) {
  throw std::runtime_error(std::string(call) + " " + object + ": " + ::zmq_strerror(::zmq_errno()));
}

void set_int(void* socket, int option, int value, const char* name) {
  if (::zmq_setsockopt(socket, option, &value, sizeof value) != 0) zmq_fail("zmq_setsockopt", name);
}

// One side's context and socket, made in the child. Closed with the linger its owner
// set (see the closing note above).
struct ZmqSocket {
  explicit ZmqSocket(int type) : ctx(::zmq_ctx_new()) {
    if (ctx == nullptr) zmq_fail("zmq_ctx_new", "");
    socket = ::zmq_socket(ctx, type);
    if (socket == nullptr) {
      ::zmq_ctx_term(ctx);
      zmq_fail("zmq_socket", "");
    }
  }
  ~ZmqSocket() { close(); }
  // Waits (up to the socket's linger) until libzmq has written out what it queues.
  void close() noexcept {
    if (ctx == nullptr) return;
    ::zmq_close(socket);
    ::zmq_ctx_term(ctx);
    ctx = nullptr;
  }
  ZmqSocket(const ZmqSocket&) = delete;
  ZmqSocket& operator=(const ZmqSocket&) = delete;

  void* ctx;
  void* socket = nullptr;
};

// A stream sender's connections, seen through a socket monitor (each connection's
// descriptor comes with its ZMQ_EVENT_CONNECTED or ZMQ_EVENT_ACCEPTED event). Only
// for closing: see hold().
class ConnectionWatch {
 public:
  // Before the socket connects or binds, so no event is missed.
  ConnectionWatch(void* ctx, void* socket) {
    const std::string address = "inproc://connections";
    constexpr int kEvents = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED;
    if (::zmq_socket_monitor(socket, address.c_str(), kEvents) != 0)
      zmq_fail("zmq_socket_monitor", address);
    pair_ = ::zmq_socket(ctx, ZMQ_PAIR);
    if (pair_ == nullptr) zmq_fail("zmq_socket", "ZMQ_PAIR");
    set_int(pair_, ZMQ_LINGER, 0, "ZMQ_LINGER");
    if (::zmq_connect(pair_, address.c_str()) != 0) zmq_fail("zmq_connect", address);
  }
  ~ConnectionWatch() { stop(); }
  ConnectionWatch(const ConnectionWatch&) = delete;
  ConnectionWatch& operator=(const ConnectionWatch&) = delete;

  // A duplicate of each live connection's descriptor. Held while libzmq closes its own,
  // it keeps the connection open: libzmq drops whatever a receiver has not yet read
  // from the kernel when its connection hangs up while it has stopped reading (its
  // RCVHWM reached), so the sender closes only once the receiver has read it all.
  std::vector<UniqueFd> hold() {
    std::vector<int> live;
    unsigned char event[6];  // uint16 event, uint32 value (the descriptor)
    char address[256];
    while (::zmq_recv(pair_, event, sizeof event, ZMQ_DONTWAIT) == sizeof event) {
      ::zmq_recv(pair_, address, sizeof address, ZMQ_DONTWAIT);  // the endpoint: unused
      std::uint16_t what = 0;
      std::int32_t fd = -1;
      std::memcpy(&what, event, sizeof what);
      std::memcpy(&fd, event + 2, sizeof fd);
      if (what == ZMQ_EVENT_DISCONNECTED) {
        std::erase(live, fd);
      } else {
        live.push_back(fd);
      }
    }
    std::vector<UniqueFd> held;
    for (int fd : live) {
      UniqueFd dup(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
      if (dup) held.push_back(std::move(dup));
    }
    return held;
  }
  void stop() noexcept {
    if (pair_ != nullptr) ::zmq_close(pair_);
    pair_ = nullptr;
  }

 private:
  void* pair_ = nullptr;
};

struct EndpointConfig {
  int type;  // ZMQ_REQ, ZMQ_REP, ZMQ_PUSH, ZMQ_PULL, ZMQ_XPUB, ZMQ_SUB
  int hwm_msgs;
  int send_hwm_msgs;  // hwm_msgs, but 0 (no limit) for REP: see the capacity note above
  WaitMode wait;
  std::string endpoint;  // "ipc://<path>", "tcp://127.0.0.1:<port>"
  unsigned subscribers;  // XPUB: the subscriptions open() waits for
};

class ZmqEndpoint final : public Endpoint {
 public:
  // listener: side b's listening socket (handed to libzmq); empty for side a, which
  // connects. alive: this side's end of the liveness socketpair.
  ZmqEndpoint(const EndpointConfig& cfg, UniqueFd listener, UniqueFd alive);
  ~ZmqEndpoint() override;

  void send(std::span<const std::byte> msg) override {
    while (::zmq_send(zmq_.socket, msg.data(), msg.size(), flags_) < 0) {
      waited("zmq_send", false);
      if (flags_ == ZMQ_DONTWAIT) take_commands();
    }
  }

  std::size_t recv(std::span<std::byte> buf) override {
    int n;
    while ((n = ::zmq_recv(zmq_.socket, buf.data(), buf.size(), flags_)) < 0)
      waited("zmq_recv", true);
    return static_cast<std::size_t>(n);  // the message's length, even past buf (truncated)
  }

 private:
  // A call that returned -1: EAGAIN (spin: nothing yet; block: kPeerCheckMs passed)
  // checks now and then that the peer lives; EINTR retries; anything else throws.
  void waited(const char* call, bool receiving);
  [[noreturn]] void failed(const char* call);
  // The peer never writes to its end: readable means end of file, the peer is gone.
  bool peer_closed() const noexcept {
    pollfd p{alive_.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }
  void set_pubsub_options(int type);
  void await_subscriptions(unsigned subscribers);
  // A full pipe may only look full: the sender learns what the receiver took from
  // commands, and a non-blocking zmq_send reads them at most once a millisecond
  // (libzmq's max_command_delay), which capped a spinning stream at ~7k msgs/s.
  // Reading ZMQ_EVENTS processes them now, as zmq_poll does; it never sleeps.
  void take_commands() {
    int events = 0;
    std::size_t len = sizeof events;
    if (::zmq_getsockopt(zmq_.socket, ZMQ_EVENTS, &events, &len) != 0) failed("ZMQ_EVENTS");
  }

  ZmqSocket zmq_;
  UniqueFd alive_;
  int flags_;
  unsigned spins_ = 0;
  bool draining_;  // a stream's sender: hands over its queue on an orderly close
  std::string endpoint_;
  std::optional<ConnectionWatch> watch_;  // draining_ only; closed before zmq_
};

ZmqEndpoint::ZmqEndpoint(const EndpointConfig& cfg, UniqueFd listener, UniqueFd alive)
    : zmq_(cfg.type),
      alive_(std::move(alive)),
      flags_(cfg.wait == WaitMode::spin ? ZMQ_DONTWAIT : 0),
      draining_(cfg.type == ZMQ_PUSH || cfg.type == ZMQ_XPUB),
      endpoint_(cfg.endpoint) {
  set_int(zmq_.socket, ZMQ_LINGER, 0, "ZMQ_LINGER");
  set_int(zmq_.socket, ZMQ_SNDHWM, cfg.send_hwm_msgs, "ZMQ_SNDHWM");
  set_int(zmq_.socket, ZMQ_RCVHWM, cfg.hwm_msgs, "ZMQ_RCVHWM");
  if (cfg.wait == WaitMode::block) {
    set_int(zmq_.socket, ZMQ_SNDTIMEO, kPeerCheckMs, "ZMQ_SNDTIMEO");
    set_int(zmq_.socket, ZMQ_RCVTIMEO, kPeerCheckMs, "ZMQ_RCVTIMEO");
  }
  set_pubsub_options(cfg.type);
  if (draining_) watch_.emplace(zmq_.ctx, zmq_.socket);
  if (!listener) {
    if (::zmq_connect(zmq_.socket, endpoint_.c_str()) != 0) zmq_fail("zmq_connect", endpoint_);
  } else {
    set_int(zmq_.socket, ZMQ_USE_FD, listener.get(), "ZMQ_USE_FD");
    if (::zmq_bind(zmq_.socket, endpoint_.c_str()) != 0) zmq_fail("zmq_bind", endpoint_);
    listener.release();  // the socket's listener closes it
  }
  if (cfg.type == ZMQ_XPUB) await_subscriptions(cfg.subscribers);
}

// An orderly close of a stream's sender: libzmq writes out its queue (linger), then
// the held connections stay open until each receiver has read everything from the
// kernel (SIOCOUTQ: bytes sent and not yet read on AF_UNIX, not yet acknowledged on
// TCP), the peer is gone, or kLingerMs has passed.
ZmqEndpoint::~ZmqEndpoint() {
  if (!draining_ || peer_closed()) return;  // linger 0: nothing waits on an error
  std::vector<UniqueFd> held;
  try {
    held = watch_->hold();
  } catch (...) {  // no memory: close at once
  }
  watch_.reset();
  ::zmq_setsockopt(zmq_.socket, ZMQ_LINGER, &kLingerMs, sizeof kLingerMs);
  zmq_.close();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLingerMs);
  for (const UniqueFd& fd : held) {
    int unread = 0;
    while (::ioctl(fd.get(), SIOCOUTQ, &unread) == 0 && unread > 0 && !peer_closed() &&
           std::chrono::steady_clock::now() < deadline)
      ::usleep(200);
  }
}

void ZmqEndpoint::set_pubsub_options(int type) {
  if (type == ZMQ_XPUB) {
    set_int(zmq_.socket, ZMQ_XPUB_NODROP, 1, "ZMQ_XPUB_NODROP");  // wait at HWM, never drop
    // Pass every subscription up, not only a topic's first: one per consumer to count.
    set_int(zmq_.socket, ZMQ_XPUB_VERBOSE, 1, "ZMQ_XPUB_VERBOSE");
  } else if (type == ZMQ_SUB) {
    if (::zmq_setsockopt(zmq_.socket, ZMQ_SUBSCRIBE, "", 0) != 0)  // every message
      zmq_fail("zmq_setsockopt", "ZMQ_SUBSCRIBE");
  }
}

// Reads subscription messages (0x01, then the topic: empty here) until there is one
// per consumer. Each is read after the XPUB has added its pipe to the topic, so a send
// that follows reaches every consumer.
void ZmqEndpoint::await_subscriptions(unsigned subscribers) {
  int timeout_ms = kSubscribeTimeoutMs;
  for (unsigned seen = 0; seen < subscribers;) {
    if (timeout_ms <= 0) {
      throw std::runtime_error("zmq " + endpoint_ + ": " + std::to_string(seen) + " of " +
                               std::to_string(subscribers) + " consumers subscribed within " +
                               std::to_string(kSubscribeTimeoutMs / 1000) + " s");
    }
    zmq_pollitem_t item{zmq_.socket, 0, ZMQ_POLLIN, 0};
    if (::zmq_poll(&item, 1, kPeerCheckMs) < 0 && ::zmq_errno() != EINTR) failed("zmq_poll");
    timeout_ms -= kPeerCheckMs;  // at least that long when nothing came: a bound, not a clock
    unsigned char msg[8];
    while (::zmq_recv(zmq_.socket, msg, sizeof msg, ZMQ_DONTWAIT) >= 0) {
      if (msg[0] == 1) ++seen;
    }
    if (::zmq_errno() != EAGAIN && ::zmq_errno() != EINTR) failed("zmq_recv subscription");
    if (seen < subscribers && peer_closed())
      throw peer_gone("zmq " + endpoint_ + ": every consumer ended before subscribing");
  }
}

void ZmqEndpoint::waited(const char* call, bool receiving) {
  const int err = ::zmq_errno();
  if (err == EINTR) return;
  if (err != EAGAIN) failed(call);
  if (flags_ == ZMQ_DONTWAIT && (++spins_ % kSpinsPerCheck) != 0) return;
  if (!peer_closed()) return;
  // Messages the peer sent before it ended may still be on their way to a receiver.
  zmq_pollitem_t item{zmq_.socket, 0, ZMQ_POLLIN, 0};
  if (receiving && ::zmq_poll(&item, 1, kPeerCheckMs) > 0) return;
  throw peer_gone(std::string(call) + " " + endpoint_ + ": the peer process ended");
}

void ZmqEndpoint::failed(const char* call) {
  const int err = ::zmq_errno();
  if (is_peer_gone(err)) throw peer_gone(std::string(call) + " " + endpoint_);
  zmq_fail(call, endpoint_);
}

// ---- the channel (orchestrator) ----

int checked_hwm(const ChannelConfig& cfg) {
  if (cfg.capacity_msgs == 0)
    throw NotRunnable(
        "zmq: capacity 0 would be a high-water mark of 0, which ZeroMQ reads as "
        "no limit; ask for at least 1");
  if (cfg.capacity_msgs > INT_MAX)
    throw NotRunnable("zmq: capacity " + std::to_string(cfg.capacity_msgs) +
                      " is over ZeroMQ's high-water mark limit (INT_MAX)");
  if (cfg.msg_bytes > INT_MAX)
    throw NotRunnable("zmq: messages over INT_MAX bytes: zmq_recv returns an int length");
  return static_cast<int>(cfg.capacity_msgs);
}

// The connecting sides: fan-in's producers or fan-out's consumers (one of the two).
int checked_backlog(const ChannelConfig& cfg) {
  if (cfg.consumers == 0 || cfg.producers == 0)
    throw NotRunnable("zmq: a channel needs at least one producer and one consumer");
  if (cfg.consumers > 1 && cfg.producers > 1)
    throw NotRunnable("zmq: several producers and several consumers on one channel");
  if (cfg.pattern == Pattern::pingpong && (cfg.consumers > 1 || cfg.producers > 1))
    throw NotRunnable("zmq: pingpong is one client and one server");
  const unsigned connecting = std::max(cfg.consumers, cfg.producers);
  if (connecting > SOMAXCONN)
    throw NotRunnable("zmq: " + std::to_string(connecting) + " connecting sides, over SOMAXCONN");
  return static_cast<int>(std::max(connecting, 4u));
}

class ZmqChannel final : public Channel {
 public:
  ZmqChannel(const ChannelConfig& cfg, Transport transport);

  std::unique_ptr<Endpoint> open(Side side) override {
    const bool a = side == Side::a;
    const EndpointConfig cfg{.type = socket_type(side),
                             .hwm_msgs = hwm_msgs_,
                             .send_hwm_msgs = socket_type(side) == ZMQ_REP ? 0 : hwm_msgs_,
                             .wait = wait_,
                             .endpoint = endpoint_,
                             .subscribers = consumers_};
    // The one side that binds: the XPUB of a fan-out, else side b.
    const bool binds = a == (consumers_ > 1);
    UniqueFd listener = binds ? std::move(listener_) : UniqueFd();
    UniqueFd alive = std::move(a ? alive_a_ : alive_b_);
    forked();  // the other side's liveness end (and, on a connecting side, the listener)
    return std::make_unique<ZmqEndpoint>(cfg, std::move(listener), std::move(alive));
  }

  void forked() override {
    listener_.reset();
    alive_a_.reset();
    alive_b_.reset();
  }

 private:
  int socket_type(Side side) const noexcept {
    const bool a = side == Side::a;
    if (pattern_ == Pattern::pingpong) return a ? ZMQ_REQ : ZMQ_REP;
    if (consumers_ > 1) return a ? ZMQ_XPUB : ZMQ_SUB;
    return a ? ZMQ_PUSH : ZMQ_PULL;
  }
  void listen_ipc();
  void listen_tcp();

  Pattern pattern_;
  WaitMode wait_;
  int hwm_msgs_;
  unsigned consumers_;
  int backlog_;     // every side that connects waits in it until its peer accepts
  OwnedName dir_;   // ipc: the private directory, removed after
  OwnedName sock_;  // the socket file in it
  UniqueFd listener_, alive_a_, alive_b_;
  std::string endpoint_;
};

ZmqChannel::ZmqChannel(const ChannelConfig& cfg, Transport transport)
    : pattern_(cfg.pattern),
      wait_(cfg.wait),
      hwm_msgs_(checked_hwm(cfg)),
      consumers_(cfg.consumers),
      backlog_(checked_backlog(cfg)) {
  // The listener is non-blocking: libzmq's I/O thread accepts when epoll says so, and
  // must never block there.
  transport == Transport::ipc ? listen_ipc() : listen_tcp();
  int alive[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, alive) < 0)
    throw SysError("socketpair", "zmq liveness");
  alive_a_.reset(alive[0]);
  alive_b_.reset(alive[1]);
  granted_.capacity_msgs = cfg.capacity_msgs;  // the HWM, as libzmq takes it
  granted_.capacity_bytes = cfg.capacity_msgs * cfg.msg_bytes;
}

void ZmqChannel::listen_ipc() {
  std::string dir = "/tmp/ipcbench-" + std::to_string(::getpid()) + "-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) throw SysError("mkdtemp", dir);  // mode 0700
  dir_ = OwnedName(dir, ::rmdir);
  listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener_) throw SysError("socket", "AF_UNIX SOCK_STREAM");
  const std::string path = dir + "/zmq.sock";
  // 0600 whatever the umask; a name already there is refused, never replaced.
  bind_unix_owner_only(listener_.get(), path);
  sock_ = OwnedName(path, ::unlink);
  if (::listen(listener_.get(), backlog_) < 0) throw SysError("listen", path);
  endpoint_ = "ipc://" + path;
}

void ZmqChannel::listen_tcp() {
  listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener_) throw SysError("socket", "AF_INET SOCK_STREAM");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only; port 0: the kernel's pick
  socklen_t len = sizeof addr;
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), len) < 0)
    throw SysError("bind", "127.0.0.1:0");
  if (::listen(listener_.get(), backlog_) < 0) throw SysError("listen", "127.0.0.1");
  if (::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len) < 0)
    throw SysError("getsockname", "127.0.0.1");
  endpoint_ = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

constexpr std::string_view kZmqKnob =
    "ZMQ_SNDHWM = ZMQ_RCVHWM = capacity messages (as set; capacity 0 is the harness's rendezvous "
    "over an HWM of 1, as HWM 0 would be unlimited)";

}  // namespace

const Mechanism kZmqIpc{
    .name = "zmq_ipc",
    .summary =
        "ZeroMQ (libzmq) REQ/REP, PUSH/PULL and XPUB/SUB over ipc:// (AF_UNIX stream socket)",
    .capacity_knob = kZmqKnob,
    .order = 610,
    .family = kFamilyLibrary,
    .transport = "unix_stream",
    .many_writers = true,
    .broadcast = true,
    .create = create_channel<ZmqChannel, Transport::ipc>,
};
const Registration kZmqIpcRegistration{kZmqIpc};

const Mechanism kZmqTcp{
    .name = "zmq_tcp",
    .summary = "ZeroMQ (libzmq) REQ/REP, PUSH/PULL and XPUB/SUB over tcp:// on 127.0.0.1",
    .capacity_knob = kZmqKnob,
    .order = 620,
    .family = kFamilyLibrary,
    .transport = "tcp",
    .many_writers = true,
    .broadcast = true,
    .create = create_channel<ZmqChannel, Transport::tcp>,
};
const Registration kZmqTcpRegistration{kZmqTcp};

}  // namespace ipcbench
