// uring_unix: the unix_stream socket pair (socketpair AF_UNIX
// SOCK_STREAM, one socket per side), driven through io_uring (liburing): each send and
// recv is one IORING_OP_SEND / IORING_OP_RECV submitted to the side's own ring, and its
// completion reaped from the completion ring. Compared with unix_stream, the figures
// show what io_uring's submission and completion path costs or saves over read/write.
//
// Who owns what: the orchestrator makes the socket pair and fits its buffers (as
// unix_stream does); each child, after fork, in open(side), creates its own ring and
// registers its socket as fixed file 0 (IOSQE_FIXED_FILE: no descriptor lookup per
// operation) and, where the kernel allows, the ring's own descriptor. Buffers are not
// registered: IORING_OP_SEND/RECV copy through the socket and take no fixed buffers.
// The ring dies with the child. Nothing named: nothing to leak.
//
// A byte stream: a message may move in pieces, so send and recv resubmit for the rest
// until all of it has moved. recv completing with 0 bytes is the peer's EOF
// (PeerError); send completing with -EPIPE or -ECONNRESET is a peer gone.
//
// Wait: block = io_uring_submit_and_wait (one io_uring_enter that submits and sleeps
// until the completion) then io_uring_wait_cqe to take it; spin = io_uring_submit,
// then io_uring_peek_cqe in a loop that never sleeps. The ring is
// IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG: a recv that had to wait is
// completed by task work, which the kernel then flags in the ring instead of kicking
// the task with an IPI; liburing's peek sees the flag and runs it with a non-waiting
// io_uring_enter. Measured on the 2-CPU VM of docs/mechanisms.md: 64 B pingpong spin
// p50 15.6 us with the IPI, 2.6 us without. (SQPOLL rings refuse these flags.)
//
// sqpoll: the ring is IORING_SETUP_SQPOLL: a kernel thread per ring (iou-sqp-<pid>)
// polls the submission ring, so submitting is a store, with no system call while that
// thread is awake (it sleeps after kSqThreadIdleMs without work); the side sleeps for
// its completion as block does. The thread is not pinned (no IORING_SETUP_SQ_AFF): it
// inherits its side's affinity and polls on the side's CPU, which therefore never
// idles. So sqpoll counts as polling (its floor is the cache-line round trip, the
// verdict ranks it among the polling modes), and a case still takes two CPUs. The
// SQPOLL thread with a spinning side as well would need four CPUs (two sides, two
// threads) and is not offered.
#include <liburing.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <tuple>

#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/registry.hpp"
#include "harness/sockets.hpp"

namespace ipcbench {
namespace {

constexpr unsigned kRingEntries = 4;       // one operation is ever in flight
constexpr unsigned kSqThreadIdleMs = 100;  // SQPOLL thread sleeps after this long idle
constexpr int kFixedSocket = 0;            // the socket's index among registered files

// Why io_uring cannot be used on this machine, or empty when it can: a ring is tried
// (and closed at once) in the orchestrator, so the case is refused before any fork.
std::string uring_unavailable() {
  int disabled = 0;
  std::ifstream("/proc/sys/kernel/io_uring_disabled") >> disabled;
  if (disabled == 2) return "io_uring is disabled (kernel.io_uring_disabled = 2)";
  io_uring probe{};
  const int r = io_uring_queue_init(1, &probe, 0);
  if (r == 0) {
    io_uring_queue_exit(&probe);
    return {};
  }
  std::string why = std::string("io_uring_queue_init: ") + std::strerror(-r);
  if (disabled == 1) why += " (kernel.io_uring_disabled = 1: only io_uring_group may use it)";
  if (r == -ENOSYS) why += " (kernel without io_uring, or a seccomp filter)";
  return why;
}

class UringEndpoint final : public Endpoint {
 public:
  UringEndpoint(UniqueFd socket, WaitMode wait);
  ~UringEndpoint() override { io_uring_queue_exit(&ring_); }
  UringEndpoint(const UringEndpoint&) = delete;
  UringEndpoint& operator=(const UringEndpoint&) = delete;

  void send(std::span<const std::byte> msg) override;
  std::size_t recv(std::span<std::byte> buf) override;

 private:
  // The next submission entry. One operation is in flight at a time, so the ring
  // always has a free entry.
  io_uring_sqe* next_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) throw SysError("io_uring_get_sqe", "submission ring full", EBUSY);
    return sqe;
  }
  // Submits the prepared operation on the registered socket, waits for its completion
  // as the wait mode says and returns its result: bytes moved, or -1 when it was
  // interrupted and must be retried.
  int complete(io_uring_sqe* sqe, const char* call);
  int submit_and_wait(io_uring_cqe** cqe) {
    int r;
    do r = io_uring_submit_and_wait(&ring_, 1);
    while (r == -EINTR);  // nothing was submitted: submit again
    if (r < 0) return r;
    do r = io_uring_wait_cqe(&ring_, cqe);
    while (r == -EINTR);
    return r;
  }
  int submit_and_poll(io_uring_cqe** cqe) {
    int r;
    do r = io_uring_submit(&ring_);
    while (r == -EINTR);
    if (r < 0) return r;
    while ((r = io_uring_peek_cqe(&ring_, cqe)) == -EAGAIN) cpu_relax();
    return r;
  }

  io_uring ring_{};
  UniqueFd socket_;
  bool spin_;
};

UringEndpoint::UringEndpoint(UniqueFd socket, WaitMode wait)
    : socket_(std::move(socket)), spin_(wait == WaitMode::spin) {
  const bool sqpoll = wait == WaitMode::sqpoll;
  io_uring_params params{};
  if (sqpoll) {
    params.flags = IORING_SETUP_SQPOLL;
    params.sq_thread_idle = kSqThreadIdleMs;
  } else {
    params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  }
  if (const int r = io_uring_queue_init_params(kRingEntries, &ring_, &params); r < 0)
    throw SysError("io_uring_queue_init", sqpoll ? "SQPOLL" : "", -r);
  const int fd = socket_.get();
  if (const int r = io_uring_register_files(&ring_, &fd, 1); r < 0) {
    io_uring_queue_exit(&ring_);
    throw SysError("io_uring_register_files", "socket", -r);
  }
  io_uring_register_ring_fd(&ring_);  // optional (5.18+): saves a lookup per enter
}

void UringEndpoint::send(std::span<const std::byte> msg) {
  const std::byte* p = msg.data();
  std::size_t left = msg.size();
  while (left > 0) {
    io_uring_sqe* sqe = next_sqe();
    io_uring_prep_send(sqe, kFixedSocket, p, left, MSG_NOSIGNAL);
    const int n = complete(sqe, "io_uring send");
    if (n > 0) {
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
}

std::size_t UringEndpoint::recv(std::span<std::byte> buf) {
  std::byte* p = buf.data();
  std::size_t left = buf.size();
  while (left > 0) {
    io_uring_sqe* sqe = next_sqe();
    io_uring_prep_recv(sqe, kFixedSocket, p, left, 0);
    const int n = complete(sqe, "io_uring recv");
    if (n == 0) throw peer_gone_at_eof("io_uring recv");
    if (n > 0) {
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  return buf.size();
}

int UringEndpoint::complete(io_uring_sqe* sqe, const char* call) {
  io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);  // after prep, which clears the flags
  io_uring_cqe* cqe = nullptr;
  int r = spin_ ? submit_and_poll(&cqe) : submit_and_wait(&cqe);
  if (r < 0) throw SysError(spin_ ? "io_uring_submit" : "io_uring_submit_and_wait", call, -r);
  r = cqe->res;
  io_uring_cqe_seen(&ring_, cqe);
  if (r == -EINTR || r == -EAGAIN) return -1;
  if (r < 0) throw_io_error(call, "socket", -r);
  return r;
}

class UringChannel final : public FdPairChannel {
 public:
  explicit UringChannel(const ChannelConfig& cfg) : FdPairChannel(cfg.wait) {
    if (std::string why = uring_unavailable(); !why.empty()) throw NotRunnable(why);
    std::tie(a_, b_) = unix_socket_pair(SOCK_STREAM);
    granted_ = fit_socket_buffers(cfg);
  }

 private:
  std::unique_ptr<Endpoint> make_endpoint(UniqueFd socket) override {
    return std::make_unique<UringEndpoint>(std::move(socket), wait_);
  }
};

constexpr std::string_view kCapacityKnob =
    "SO_SNDBUF = SO_RCVBUF from capacity x size bytes, grown until capacity messages fit "
    "(probed), as unix_stream";

}  // namespace

const Mechanism kUringUnix{
    .name = "uring_unix",
    .summary = "unix_stream socketpair, send/recv through io_uring (liburing); sqpoll: SQPOLL ring",
    .capacity_knob = kCapacityKnob,
    .order = 230,
    .family = kFamilyByteStream,
    .transport = "unix_stream",
    .waits = WaitModes{WaitMode::block, WaitMode::spin, WaitMode::sqpoll},
    .create = create_channel<UringChannel>,
};
const Registration kUringUnixRegistration{kUringUnix};

}  // namespace ipcbench
