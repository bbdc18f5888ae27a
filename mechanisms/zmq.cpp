// zmq_ipc, zmq_tcp: ZeroMQ (libzmq 4.3) over ipc:// (an AF_UNIX stream socket) or
// tcp:// on 127.0.0.1. Pingpong is REQ/REP, the request/reply pair ZeroMQ offers for
// exactly one message in flight (REQ adds an empty delimiter frame, REP strips it);
// stream is PUSH/PULL, its one-way pipeline. Side a (client, producer) connects;
// side b (server, consumer) binds.
//
// Setup: the orchestrator makes the listening socket, so that nothing is ever bound
// by the library at a name or port we did not choose: ipc, a socket file (0600
// whatever the umask, bind_unix_owner_only) in a private 0700 mkdtemp directory; tcp,
// 127.0.0.1 with a port the kernel picks. Side b hands that descriptor to its socket
// (ZMQ_USE_FD) and binds to the same endpoint, so libzmq neither binds, unlinks nor
// listens itself; side a connects to it (the connection waits in the listen backlog
// until side b's I/O thread accepts it). Each side creates its context (and with it
// libzmq's I/O thread) in open(), after the fork. The socket file and its directory
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
// dies. Blocking calls wait at most kPeerCheckMs (ZMQ_RCVTIMEO/ZMQ_SNDTIMEO) and
// spinning ones kSpinsPerCheck tries before polling that end: off the path of any
// message that does not wait.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <climits>
#include <stdexcept>
#include <string>
#include <utility>

#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"
#include "harness/sockets.hpp"

namespace ipcbench {
namespace {

enum class Transport { ipc, tcp };

// How long a blocked call waits before it checks that the peer lives.
constexpr int kPeerCheckMs = 50;
// Failed non-blocking tries between two such checks (a try is ~1 us: two system calls).
constexpr unsigned kSpinsPerCheck = 1u << 14;

[[noreturn]] void zmq_fail(const char* call, const std::string& object) {
  throw std::runtime_error(std::string(call) + " " + object + ": " + ::zmq_strerror(::zmq_errno()));
}

void set_int(void* socket, int option, int value, const char* name) {
  if (::zmq_setsockopt(socket, option, &value, sizeof value) != 0) zmq_fail("zmq_setsockopt", name);
}

// One side's context and socket, made in the child. Closed with linger 0, so a
// destruction on an error never waits for unsent messages.
struct ZmqSocket {
  explicit ZmqSocket(int type) : ctx(::zmq_ctx_new()) {
    if (ctx == nullptr) zmq_fail("zmq_ctx_new", "");
    socket = ::zmq_socket(ctx, type);
    if (socket == nullptr) {
      ::zmq_ctx_term(ctx);
      zmq_fail("zmq_socket", "");
    }
  }
  ~ZmqSocket() {
    ::zmq_close(socket);
    ::zmq_ctx_term(ctx);
  }
  ZmqSocket(const ZmqSocket&) = delete;
  ZmqSocket& operator=(const ZmqSocket&) = delete;

  void* ctx;
  void* socket = nullptr;
};

struct EndpointConfig {
  int type;  // ZMQ_REQ, ZMQ_REP, ZMQ_PUSH, ZMQ_PULL
  int hwm_msgs;
  int send_hwm_msgs;  // hwm_msgs, but 0 (no limit) for REP: see the capacity note above
  WaitMode wait;
  std::string endpoint;  // "ipc://<path>", "tcp://127.0.0.1:<port>"
};

class ZmqEndpoint final : public Endpoint {
 public:
  // listener: side b's listening socket (handed to libzmq); empty for side a, which
  // connects. alive: this side's end of the liveness socketpair.
  ZmqEndpoint(const EndpointConfig& cfg, UniqueFd listener, UniqueFd alive);

  void send(std::span<const std::byte> msg) override {
    while (::zmq_send(zmq_.socket, msg.data(), msg.size(), flags_) < 0) {
      waited("zmq_send");
      if (flags_ == ZMQ_DONTWAIT) take_commands();
    }
  }

  std::size_t recv(std::span<std::byte> buf) override {
    int n;
    while ((n = ::zmq_recv(zmq_.socket, buf.data(), buf.size(), flags_)) < 0) waited("zmq_recv");
    return static_cast<std::size_t>(n);  // the message's length, even past buf (truncated)
  }

 private:
  // A call that returned -1: EAGAIN (spin: nothing yet; block: kPeerCheckMs passed)
  // checks now and then that the peer lives; EINTR retries; anything else throws.
  void waited(const char* call);
  [[noreturn]] void failed(const char* call);
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
  std::string endpoint_;
};

ZmqEndpoint::ZmqEndpoint(const EndpointConfig& cfg, UniqueFd listener, UniqueFd alive)
    : zmq_(cfg.type),
      alive_(std::move(alive)),
      flags_(cfg.wait == WaitMode::spin ? ZMQ_DONTWAIT : 0),
      endpoint_(cfg.endpoint) {
  set_int(zmq_.socket, ZMQ_LINGER, 0, "ZMQ_LINGER");
  set_int(zmq_.socket, ZMQ_SNDHWM, cfg.send_hwm_msgs, "ZMQ_SNDHWM");
  set_int(zmq_.socket, ZMQ_RCVHWM, cfg.hwm_msgs, "ZMQ_RCVHWM");
  if (cfg.wait == WaitMode::block) {
    set_int(zmq_.socket, ZMQ_SNDTIMEO, kPeerCheckMs, "ZMQ_SNDTIMEO");
    set_int(zmq_.socket, ZMQ_RCVTIMEO, kPeerCheckMs, "ZMQ_RCVTIMEO");
  }
  if (!listener) {
    if (::zmq_connect(zmq_.socket, endpoint_.c_str()) != 0) zmq_fail("zmq_connect", endpoint_);
    return;
  }
  set_int(zmq_.socket, ZMQ_USE_FD, listener.get(), "ZMQ_USE_FD");
  if (::zmq_bind(zmq_.socket, endpoint_.c_str()) != 0) zmq_fail("zmq_bind", endpoint_);
  listener.release();  // the socket's listener closes it
}

void ZmqEndpoint::waited(const char* call) {
  const int err = ::zmq_errno();
  if (err == EINTR) return;
  if (err != EAGAIN) failed(call);
  if (flags_ == ZMQ_DONTWAIT && (++spins_ % kSpinsPerCheck) != 0) return;
  // The peer never writes to its end: readable means end of file, the peer is gone.
  pollfd p{alive_.get(), POLLIN, 0};
  if (::poll(&p, 1, 0) > 0)
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

class ZmqChannel final : public Channel {
 public:
  ZmqChannel(const ChannelConfig& cfg, Transport transport);

  std::unique_ptr<Endpoint> open(Side side) override {
    const bool a = side == Side::a;
    const bool pingpong = pattern_ == Pattern::pingpong;
    const int type = a ? (pingpong ? ZMQ_REQ : ZMQ_PUSH) : (pingpong ? ZMQ_REP : ZMQ_PULL);
    const EndpointConfig cfg{.type = type,
                             .hwm_msgs = hwm_msgs_,
                             .send_hwm_msgs = type == ZMQ_REP ? 0 : hwm_msgs_,
                             .wait = wait_,
                             .endpoint = endpoint_};
    UniqueFd listener = a ? UniqueFd() : std::move(listener_);
    UniqueFd alive = std::move(a ? alive_a_ : alive_b_);
    forked();  // the other side's liveness end (and, for side a, the listener)
    return std::make_unique<ZmqEndpoint>(cfg, std::move(listener), std::move(alive));
  }

  void forked() override {
    listener_.reset();
    alive_a_.reset();
    alive_b_.reset();
  }

 private:
  void listen_ipc();
  void listen_tcp();

  Pattern pattern_;
  WaitMode wait_;
  int hwm_msgs_;
  OwnedName dir_;   // ipc: the private directory, removed after
  OwnedName sock_;  // the socket file in it
  UniqueFd listener_, alive_a_, alive_b_;
  std::string endpoint_;
};

ZmqChannel::ZmqChannel(const ChannelConfig& cfg, Transport transport)
    : pattern_(cfg.pattern), wait_(cfg.wait), hwm_msgs_(checked_hwm(cfg)) {
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
  if (::listen(listener_.get(), 4) < 0) throw SysError("listen", path);
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
  if (::listen(listener_.get(), 4) < 0) throw SysError("listen", "127.0.0.1");
  if (::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len) < 0)
    throw SysError("getsockname", "127.0.0.1");
  endpoint_ = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

constexpr std::string_view kZmqKnob =
    "ZMQ_SNDHWM = ZMQ_RCVHWM = capacity messages (as set; 0 refused: HWM 0 is unlimited)";

}  // namespace

const Mechanism kZmqIpc{
    .name = "zmq_ipc",
    .summary = "ZeroMQ (libzmq) REQ/REP and PUSH/PULL over ipc:// (AF_UNIX stream socket)",
    .capacity_knob = kZmqKnob,
    .order = 610,
    .family = kFamilyLibrary,
    .transport = "unix_stream",
    .create = create_channel<ZmqChannel, Transport::ipc>,
};
const Registration kZmqIpcRegistration{kZmqIpc};

const Mechanism kZmqTcp{
    .name = "zmq_tcp",
    .summary = "ZeroMQ (libzmq) REQ/REP and PUSH/PULL over tcp:// on 127.0.0.1",
    .capacity_knob = kZmqKnob,
    .order = 620,
    .family = kFamilyLibrary,
    .transport = "tcp",
    .create = create_channel<ZmqChannel, Transport::tcp>,
};
const Registration kZmqTcpRegistration{kZmqTcp};

}  // namespace ipcbench
