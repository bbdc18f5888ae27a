// nng_ipc: nng 1.5 (nanomsg-next-gen, libnng) PAIR1 sockets over its ipc:// transport,
// an AF_UNIX stream connection with nng's framing (8-byte length, then the message with
// PAIR1's 4-byte hop-count header).
//
// Protocol: PAIR1, one socket per side, used in both directions. It is nng's one
// protocol that carries both pingpong and stream on a single connection with no
// protocol state between messages: REQ/REP would add a request id and its matching and
// force strict alternation (no stream), and PUSH/PULL is one-way, so a pingpong would
// need two connections and two pipes' threads.
// Not broadcast: pub0 never waits, and it drops the oldest message queued for a
// subscriber that is behind (sub0 likewise when its receive queue is full), so a fan-out
// over it would lose messages instead of pacing the producer; fan-out runs over one
// PAIR1 channel per consumer. Not many_writers either: PAIR1 takes one peer.
//
// Endpoint: create() makes a private 0700 directory (mkdtemp, /tmp/ipcbench-<pid>-*,
// so a killed run's is swept) and names the socket file in it; it makes no nng object,
// because nng starts worker threads that fork() would not copy. Each child opens its
// PAIR1 socket in open(side): side b listens (the socket file is bound under a umask
// of 0177, so it is 0600 from its creation), side a dials in the background, nng
// retrying every few ms until b listens. Before listening, b refuses any name already
// there: nng's listener would unlink a "stale" one (anything a connect() is refused
// by) and bind over it. Having found the name free, b says so in a flag in a shared
// anonymous page, then listens. After both children have exited, the orchestrator's
// Channel removes the socket file if that flag is set (a name b refused stays as it
// was), then the directory.
//
// Capacity: NNG_OPT_SENDBUF and NNG_OPT_RECVBUF, in messages, both = capacity on both
// sockets (nng accepts 0..8192; more is not runnable). They are PAIR1's own queues
// (nni_lmq), read back in each child and checked; capacity_effective = capacity,
// capacity_bytes = capacity x size. On top of them, in flight: one message in each
// pipe's send and receive operation and whatever the Unix socket's default buffers
// hold (nng sets no SO_SNDBUF/SO_RCVBUF on ipc).
//
// The measured path, and what nng does in it: each side reuses two nng_aio objects
// (nng_sendmsg/nng_recvmsg would allocate an aio per call, as nng_send/nng_recv do,
// and those also allocate or free a message per call). send() copies the message
// into an nng_msg and hands it to nng, which frees it once the pipe has written it
// (writev of frame header and body, no further copy); recv() takes the nng_msg the
// pipe read into (nng allocates one per received message) and copies it out. The
// received nng_msg is kept and reused by the next send(): a pingpong side allocates
// nothing itself; a stream producer allocates one nng_msg per message (nng owns a
// sent message, there is no reference to keep) and its consumer frees one.
// Between the socket and the caller nng hands every message through its own threads
// (the epoll poller, then PAIR1's queue), so even a spinning side waits on them.
// Wait: block = the aio with no timeout, nng_aio_wait sleeping on a condition
// variable; spin = the aio with a zero timeout, which is what NNG_FLAG_NONBLOCK sets,
// retried while it times out (the NNG_EAGAIN case), never sleeping.
//
// A dead peer: PAIR1 reports no disconnect (a send is queued, a receive waits for the
// next pipe). A pipe-notify callback marks the peer gone when the pipe that was added
// is removed (NNG_PIPE_EV_REM_POST) and aborts whatever send or receive is waiting; an
// operation started after the mark finds it and fails at once. Messages the peer sent
// before it left and that nng already holds are still delivered.
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

// PAIR1's NNG_OPT_SENDBUF/NNG_OPT_RECVBUF range (nni_copyin_int(..., 0, 8192) in
// src/protocol/pair1/pair.c).
constexpr std::size_t kMaxQueueMsgs = 8192;
// What a PAIR1 message adds to its payload on the wire: the hop count.
constexpr std::size_t kPair1HeaderBytes = 4;
// Side a's dialer retries from 1 ms, backing off to 10 ms, until side b listens.
constexpr nng_duration kReconnectMinMs = 1;
constexpr nng_duration kReconnectMaxMs = 10;

std::string nng_error(const char* call, const std::string& object, int rv) {
  return std::string(call) + (object.empty() ? "" : " " + object) + ": " + ::nng_strerror(rv);
}

// The peer is gone (our abort, a closed pipe or socket), or another failure.
[[noreturn]] void throw_nng(const char* call, const std::string& object, int rv) {
  switch (rv) {
    case NNG_ECONNSHUT:
    case NNG_ECONNRESET:
    case NNG_ECONNABORTED:
    case NNG_ECLOSED:
      throw peer_gone(nng_error(call, object, rv));
    default:
      throw std::runtime_error(nng_error(call, object, rv));
  }
}

void check(int rv, const char* call, const std::string& object = {}) {
  if (rv != 0) throw_nng(call, object, rv);
}

// Move-less owners: an Endpoint holds them in place for its whole life.
struct SocketOwner {
  nng_socket s = NNG_SOCKET_INITIALIZER;
  bool open = false;
  SocketOwner() = default;
  SocketOwner(const SocketOwner&) = delete;
  SocketOwner& operator=(const SocketOwner&) = delete;
  // Closing returns once every pipe is gone and its callbacks have run.
  ~SocketOwner() {
    if (open) ::nng_close(s);
  }
};

struct AioOwner {
  nng_aio* a = nullptr;
  AioOwner() { check(::nng_aio_alloc(&a, nullptr, nullptr), "nng_aio_alloc"); }
  AioOwner(const AioOwner&) = delete;
  AioOwner& operator=(const AioOwner&) = delete;
  ~AioOwner() {
    if (nng_msg* m = ::nng_aio_get_msg(a)) ::nng_msg_free(m);  // a send that failed
    ::nng_aio_free(a);
  }
};

struct MsgOwner {
  nng_msg* m = nullptr;
  MsgOwner() = default;
  MsgOwner(const MsgOwner&) = delete;
  MsgOwner& operator=(const MsgOwner&) = delete;
  ~MsgOwner() { reset(nullptr); }
  void reset(nng_msg* next) {
    if (m != nullptr) ::nng_msg_free(m);
    m = next;
  }
};

// One side's PAIR1 socket. Child process only, after fork (see the design note).
class NngEndpoint final : public Endpoint {
 public:
  // bound: set by side b once the socket file's name is found free, before it binds.
  NngEndpoint(Side side, const std::string& path, const ChannelConfig& cfg,
              std::atomic<std::uint32_t>& bound);

  void send(std::span<const std::byte> msg) override;
  std::size_t recv(std::span<std::byte> buf) override;

 private:
  void configure(const ChannelConfig& cfg);
  void listen(const std::string& path, const std::string& url, std::atomic<std::uint32_t>& bound);
  static void on_pipe_event(nng_pipe pipe, nng_pipe_ev ev, void* self) noexcept;
  // Starts one operation on aio and waits for it; returns its result.
  int run(nng_aio* aio, void (*op)(nng_socket, nng_aio*)) noexcept;
  // After a result: true to try again (spin found nothing to do), false when done;
  // throws on a failure, PeerError once the peer is gone.
  bool again(int rv, const char* call);
  nng_msg* message_of(std::size_t bytes);

  // Declared first, destroyed last: the socket closes (and its callbacks end) before
  // the aios they abort are freed.
  AioOwner send_aio_, recv_aio_;
  MsgOwner spare_;  // the last received message, reused by the next send
  SocketOwner sock_;
  const bool spin_;
  std::atomic<std::uint32_t> peer_pipe_{0};  // the pipe PAIR1 took (0: none yet)
  std::atomic<bool> peer_gone_{false};
};

NngEndpoint::NngEndpoint(Side side, const std::string& path, const ChannelConfig& cfg,
                         std::atomic<std::uint32_t>& bound)
    : spin_(cfg.wait == WaitMode::spin) {
  check(::nng_pair1_open(&sock_.s), "nng_pair1_open");
  sock_.open = true;
  configure(cfg);
  const nng_duration timeout = spin_ ? NNG_DURATION_ZERO : NNG_DURATION_INFINITE;
  ::nng_aio_set_timeout(send_aio_.a, timeout);
  ::nng_aio_set_timeout(recv_aio_.a, timeout);
  check(::nng_pipe_notify(sock_.s, NNG_PIPE_EV_ADD_POST, on_pipe_event, this), "nng_pipe_notify");
  check(::nng_pipe_notify(sock_.s, NNG_PIPE_EV_REM_POST, on_pipe_event, this), "nng_pipe_notify");
  const std::string url = "ipc://" + path;
  if (side == Side::b) {
    listen(path, url, bound);
  } else {
    // In the background: b may not listen yet; nng retries until it does.
    check(::nng_dial(sock_.s, url.c_str(), nullptr, NNG_FLAG_NONBLOCK), "nng_dial", url);
  }
}

void NngEndpoint::configure(const ChannelConfig& cfg) {
  const int queue = static_cast<int>(cfg.capacity_msgs);
  check(::nng_socket_set_int(sock_.s, NNG_OPT_SENDBUF, queue), "nng_socket_set_int", "sendbuf");
  check(::nng_socket_set_int(sock_.s, NNG_OPT_RECVBUF, queue), "nng_socket_set_int", "recvbuf");
  int sendbuf = 0, recvbuf = 0;
  check(::nng_socket_get_int(sock_.s, NNG_OPT_SENDBUF, &sendbuf), "nng_socket_get_int", "sendbuf");
  check(::nng_socket_get_int(sock_.s, NNG_OPT_RECVBUF, &recvbuf), "nng_socket_get_int", "recvbuf");
  if (sendbuf != queue || recvbuf != queue) {  // create() recorded capacity as granted
    throw std::runtime_error("nng granted sendbuf " + std::to_string(sendbuf) + ", recvbuf " +
                             std::to_string(recvbuf) + " for capacity " + std::to_string(queue));
  }
  // nng's default (1 MiB) would drop the pipe of a larger message: allow exactly one.
  check(::nng_socket_set_size(sock_.s, NNG_OPT_RECVMAXSZ, cfg.msg_bytes + kPair1HeaderBytes),
        "nng_socket_set_size", "recv-size-max");
  check(::nng_socket_set_ms(sock_.s, NNG_OPT_RECONNMINT, kReconnectMinMs), "nng_socket_set_ms");
  check(::nng_socket_set_ms(sock_.s, NNG_OPT_RECONNMAXT, kReconnectMaxMs), "nng_socket_set_ms");
}

void NngEndpoint::listen(const std::string& path, const std::string& url,
                         std::atomic<std::uint32_t>& bound) {
  // nng's listener unlinks a name that refuses connections (a non-socket, a symlink to
  // one, a dead socket) and binds over it: refuse whatever is there instead. Only our
  // user or root can put anything in the 0700 directory.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) throw SysError("nng_listen", path, EEXIST);
  bound.store(1, std::memory_order_release);  // from here the name is ours to remove
  // bind() gives the socket file 0777 & ~umask. This child creates no other file, and
  // nng's threads create none, so the umask is narrowed around the listen alone.
  const mode_t old_umask = ::umask(0177);
  const int rv = ::nng_listen(sock_.s, url.c_str(), nullptr, 0);
  ::umask(old_umask);
  check(rv, "nng_listen", url);
  if (::lstat(path.c_str(), &st) < 0) throw SysError("lstat", path);
  if (!S_ISSOCK(st.st_mode) || (st.st_mode & 0777) != 0600)
    throw std::runtime_error("nng_listen " + path + ": the socket file is not owner-only (0600)");
}

// On an nng thread. PAIR1 adds one pipe (ADD_POST) and rejects any other before that
// event, but every pipe, rejected or not, is removed (REM_POST): only the added one
// is the peer.
void NngEndpoint::on_pipe_event(nng_pipe pipe, nng_pipe_ev ev, void* self) noexcept {
  auto* ep = static_cast<NngEndpoint*>(self);
  const std::uint32_t id = ::nng_pipe_id(pipe);
  if (ev == NNG_PIPE_EV_ADD_POST) {
    ep->peer_pipe_.store(id);
    return;
  }
  if (ev != NNG_PIPE_EV_REM_POST || ep->peer_pipe_.load() != id) return;
  ep->peer_gone_.store(true);  // before the aborts: see run()
  ::nng_aio_abort(ep->send_aio_.a, NNG_ECONNSHUT);
  ::nng_aio_abort(ep->recv_aio_.a, NNG_ECONNSHUT);
}

int NngEndpoint::run(nng_aio* aio, void (*op)(nng_socket, nng_aio*)) noexcept {
  op(sock_.s, aio);  // returns with the operation done, or waiting and abortable
  // The callback marks, then aborts. An abort that came before op started found nothing
  // to abort, but then the mark is seen here.
  if (peer_gone_.load()) ::nng_aio_abort(aio, NNG_ECONNSHUT);
  ::nng_aio_wait(aio);
  return ::nng_aio_result(aio);
}

bool NngEndpoint::again(int rv, const char* call) {
  if (rv == 0) return false;
  if (rv == NNG_ETIMEDOUT && spin_) {  // NNG_EAGAIN to NNG_FLAG_NONBLOCK
    if (!peer_gone_.load(std::memory_order_relaxed)) return true;
    rv = NNG_ECONNSHUT;
  }
  throw_nng(call, "", rv);
}

nng_msg* NngEndpoint::message_of(std::size_t bytes) {
  nng_msg* m = std::exchange(spare_.m, nullptr);
  if (m == nullptr) {
    check(::nng_msg_alloc(&m, bytes), "nng_msg_alloc");
  } else if (const int rv = ::nng_msg_realloc(m, bytes); rv != 0) {
    ::nng_msg_free(m);
    throw_nng("nng_msg_realloc", "", rv);
  }
  return m;
}

void NngEndpoint::send(std::span<const std::byte> msg) {
  nng_msg* m = message_of(msg.size());
  std::memcpy(::nng_msg_body(m), msg.data(), msg.size());
  ::nng_aio_set_msg(send_aio_.a, m);  // stays there until a send succeeds
  while (again(run(send_aio_.a, ::nng_send_aio), "nng_send_aio")) {
  }
  ::nng_aio_set_msg(send_aio_.a, nullptr);  // nng owns it now
}

std::size_t NngEndpoint::recv(std::span<std::byte> buf) {
  while (again(run(recv_aio_.a, ::nng_recv_aio), "nng_recv_aio")) {
  }
  spare_.reset(::nng_aio_get_msg(recv_aio_.a));
  ::nng_aio_set_msg(recv_aio_.a, nullptr);
  const std::size_t len = ::nng_msg_len(spare_.m);
  if (len > buf.size())  // RECVMAXSZ makes this unreachable, but never overrun buf
    throw PeerError("nng_ipc: a message of " + std::to_string(len) + " bytes, over the size");
  std::memcpy(buf.data(), ::nng_msg_body(spare_.m), len);
  return len;
}

// ---- the channel (orchestrator) ----

class NngChannel final : public Channel {
 public:
  explicit NngChannel(const ChannelConfig& cfg) : cfg_(cfg) {
    if (cfg.capacity_msgs > kMaxQueueMsgs) {
      throw NotRunnable("nng_ipc: capacity " + std::to_string(cfg.capacity_msgs) +
                        " is over nng's NNG_OPT_SENDBUF/RECVBUF limit of 8192 messages");
    }
    static_assert(std::atomic<std::uint32_t>::is_always_lock_free);  // shared across processes
    bound_map_ = map_shared(sizeof(std::atomic<std::uint32_t>));
    new (bound_map_.get()) std::atomic<std::uint32_t>(0);  // not bound
    std::string dir = "/tmp/ipcbench-" + std::to_string(::getpid()) + "-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) throw SysError("mkdtemp", dir);  // mode 0700
    dir_ = OwnedName(dir, ::rmdir);
    // Bound by side b; removed here (before the directory) whatever became of it.
    sock_ = OwnedName(dir + "/nng.sock", ::unlink);
    granted_.capacity_msgs = cfg.capacity_msgs;
    granted_.capacity_bytes = cfg.capacity_msgs * cfg.msg_bytes;
  }

  ~NngChannel() override {
    if (bound().load(std::memory_order_acquire) == 0) sock_.release();  // not b's to remove
  }
  NngChannel(const NngChannel&) = delete;
  NngChannel& operator=(const NngChannel&) = delete;

  std::unique_ptr<Endpoint> open(Side side) override {
    return std::make_unique<NngEndpoint>(side, sock_.str(), cfg_, bound());
  }
  void forked() override {}  // nothing is held before the children open their sockets

 private:
  std::atomic<std::uint32_t>& bound() const noexcept {
    return *static_cast<std::atomic<std::uint32_t>*>(bound_map_.get());
  }

  ChannelConfig cfg_;
  Mapping bound_map_;     // shared with the children: side b found the name free
  OwnedName dir_, sock_;  // destroyed in reverse: the socket file, then the directory
};

}  // namespace

const Mechanism kNngIpc{
    .name = "nng_ipc",
    .summary = "nng 1.5 PAIR1 sockets over ipc:// (an AF_UNIX stream socket in a 0700 directory)",
    .capacity_knob =
        "NNG_OPT_SENDBUF = NNG_OPT_RECVBUF = capacity messages on both sockets (nng: at most "
        "8192); the Unix socket's default buffers come on top",
    .order = 630,
    .family = kFamilyLibrary,
    .transport = "unix_stream",
    .create = create_channel<NngChannel>,
};
const Registration kNngIpcRegistration{kNngIpc};

}  // namespace ipcbench
