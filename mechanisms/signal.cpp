// signal: POSIX real-time signals that carry data. One sigqueue() is one message: its
// `union sigval` holds the message's bytes, and the receiver takes it with
// sigwaitinfo() (or sigtimedwait()) from its queue of pending signals. a -> b uses
// SIGRTMIN + kAtoBOffset; pingpong's replies, b -> a, SIGRTMIN + kBtoAOffset.
//
// Layout: a sigval is 8 bytes on 64-bit Linux (sival_ptr; sival_int is only 4), so a
// message is at most 8 bytes, and a larger size is not runnable. The message's bytes
// are copied into the sigval as they are; its length is the case's size, which both
// sides know (every message of a case has it). At 8 bytes a message carries its
// 32-bit sequence and 32-bit send stamp (harness/message.hpp) and no checksum: there
// is no payload past byte 8 to check. At 1 to 7 bytes it carries the prefix that fits,
// down to 1 byte (the smallest runnable size): the low byte of the sequence, which
// still catches loss, duplication and reordering of fewer than 128 messages and a
// wrong byte. Stream latency needs the stamp, so it is sampled at 8 bytes only.
//
// Who sends: a signal's si_pid names its sender, and the receiver takes only SI_QUEUE
// signals from its peer's pid; anything else (another process's sigqueue or kill of
// the same signal number) is skipped, never taken as a message. Only a process that
// may signal ours at all (the same user, or CAP_KILL) can send one. Such a process
// could still forge si_pid with rt_sigqueueinfo(); the verifier then counts what it
// sent as a sequence or corruption error, as it would a corrupt peer's bytes.
// Each side learns its peer's pid from a small anonymous shared mapping made before
// fork: a receiving side blocks its signal (sigprocmask, in its own process, after
// fork) and only then publishes its pid, and a sender waits for that pid before its
// first send, so no message arrives while the signal would still kill the receiver.
// The orchestrator's signal mask and handlers are never touched.
//
// Capacity: real-time signals queue up to RLIMIT_SIGPENDING, counted per real user
// across all of that user's processes, against the receiving process's limit
// (kernel/signal.c, __sigqueue_alloc; sigqueue's SI_QUEUE signals are not exempt,
// even for root: checked on Linux 6.18). create() reads the user's pending count
// (SigQ in /proc/self/status: signals of every kind share it), refuses a capacity
// that does not fit under the soft limit beside them, and the receiver lowers its own
// soft limit to that count plus the capacity: sigqueue then fails with EAGAIN once
// the channel holds `capacity` messages. The grant is taken as
// the capacity: other processes of the same user that gain or lose pending signals
// during the case shrink or grow it by as many. Spin: the sender retries EAGAIN.
// Block: the sender sleeps on a futex word in the shared mapping. It raises a flag and
// tries once more before sleeping; the receiver, after each message it takes, reads
// the flag and wakes it only when raised (seq_cst on both sides, Dekker as in
// mechanisms/shm_ring.hpp), so no system call is made while nobody sleeps. The sleep
// has a short timeout, as another process's signals may be what fills the user's
// count while this channel's queue is empty, and then no take would wake it.
// Wait: block = sigwaitinfo(); spin = sigtimedwait() with a zero timeout in a loop
// (EAGAIN: nothing yet), one system call per poll.
// Peer death: a sender's sigqueue to a dead receiver fails with ESRCH (peer gone). A
// receiver asleep in sigwaitinfo() for a dead sender is killed by the harness, which
// watches both sides and kills the pair when one dies (harness/members.cpp). A
// receiver's pid is free for reuse from its reaping until its sender is killed, at
// most about 100 ms later; a new process of the same user taking it in that window is
// not guarded against.
// Nothing is left behind: signals have no names, pending ones die with their
// receiver, and the mapping is anonymous.
// Timed: sigqueue() on one side and sigwaitinfo() (or the successful sigtimedwait())
// on the other.
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>

#include "harness/cacheline.hpp"
#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/futex.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

// Bytes one signal carries.
constexpr std::size_t kSigvalBytes = sizeof(sigval);
// Offsets from SIGRTMIN: SIGRTMIN itself is the one libraries take first.
constexpr int kAtoBOffset = 4;
constexpr int kBtoAOffset = 5;
// How long a full sender sleeps before trying again without a wake: long beside a
// message's wake-up, short beside a case.
constexpr long kRetryNs = 1'000'000;

static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

// One direction's sender-side wait, on its own cache line: the receiver reads the flag
// after every message it takes.
struct alignas(kCacheLine) Direction {
  std::atomic<std::uint32_t> sender_waiting{0};  // block: the sender sleeps (or is about to)
  std::atomic<std::uint32_t> taken_epoch{0};     // block: the futex word the sender sleeps on
};

// The anonymous shared mapping. pid[side] is 0 until that side has blocked the signal
// it receives; it is written once, so it shares no line with the per-message words.
struct Shared {
  alignas(kCacheLine) std::atomic<std::uint32_t> pid[2]{};
  Direction dir[2];  // [0]: a -> b, [1]: b -> a
};

// The signals of this user queued now, over all of its processes and of every kind
// (they share the one count; SigQ's first number), or 0 when /proc does not say.
std::uint64_t user_pending_signals() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("SigQ:", 0) == 0) return std::strtoull(line.c_str() + 5, nullptr, 10);
  }
  return 0;
}

std::uint64_t sigpending_soft_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_SIGPENDING, &rl) < 0) throw SysError("getrlimit", "RLIMIT_SIGPENDING");
  return rl.rlim_cur;
}

// Sleeps on `word` while it holds `expected`, for at most kRetryNs.
void futex_wait_briefly(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
  const timespec timeout{0, kRetryNs};
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, &timeout,
            nullptr, 0);
}

void publish_pid(std::atomic<std::uint32_t>& word) {
  word.store(static_cast<std::uint32_t>(::getpid()), std::memory_order_release);
  futex_wake_all(word);
}

// Setup, not timed: sleeps until the peer has published its pid.
pid_t wait_for_pid(std::atomic<std::uint32_t>& word) {
  std::uint32_t pid = 0;
  while ((pid = word.load(std::memory_order_acquire)) == 0) futex_wait(word, 0);
  return static_cast<pid_t>(pid);
}

// Block, the receiver after taking a message: the taking (the kernel's dequeue) came
// before this seq_cst load, and the sender raised its flag before its last try; one of
// the two sees the other. Exchange: one wake per sleep.
void wake_sender(Direction& dir) noexcept {
  if (dir.sender_waiting.load(std::memory_order_seq_cst) != 0 &&
      dir.sender_waiting.exchange(0, std::memory_order_seq_cst) != 0) {
    dir.taken_epoch.fetch_add(1, std::memory_order_release);
    futex_wake_all(dir.taken_epoch);
  }
}

class SignalEndpoint final : public Endpoint {
 public:
  // tx_signal / rx_signal: 0 when this side does not send / receive.
  SignalEndpoint(Shared& shared, Side side, int tx_signal, int rx_signal, WaitMode wait)
      : tx_dir_(shared.dir[side == Side::a ? 0 : 1]),
        rx_dir_(shared.dir[side == Side::a ? 1 : 0]),
        tx_signal_(tx_signal),
        spin_(wait == WaitMode::spin) {
    sigemptyset(&rx_set_);
    if (rx_signal != 0) sigaddset(&rx_set_, rx_signal);
    peer_ = wait_for_pid(shared.pid[side == Side::a ? 1 : 0]);
  }

  void send(std::span<const std::byte> msg) override {
    sigval value{};
    std::memcpy(&value, msg.data(), msg.size());
    if (try_send(value)) return;
    if (spin_) {
      while (!try_send(value)) {
      }
      return;
    }
    wait_and_send(value);
  }

  std::size_t recv(std::span<std::byte> buf) override {
    siginfo_t info;
    for (;;) {
      const int got =
          spin_ ? ::sigtimedwait(&rx_set_, &info, &kNoWait) : ::sigwaitinfo(&rx_set_, &info);
      if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        throw SysError(spin_ ? "sigtimedwait" : "sigwaitinfo", "");
      }
      // Not the peer's sigqueue: skipped, never taken as a message.
      if (info.si_code != SI_QUEUE || info.si_pid != peer_) continue;
      if (!spin_) wake_sender(rx_dir_);
      std::memcpy(buf.data(), &info.si_value, buf.size());
      return buf.size();
    }
  }

 private:
  static constexpr timespec kNoWait{0, 0};

  // False when the receiver's queue is full (EAGAIN).
  bool try_send(const sigval& value) {
    if (::sigqueue(peer_, tx_signal_, value) == 0) return true;
    if (errno == EAGAIN) return false;
    if (errno == ESRCH) throw PeerError("sigqueue: the peer is gone");
    throw SysError("sigqueue", "pid " + std::to_string(peer_));
  }

  // Block, the queue full: read the epoch, raise the flag, try once more, then sleep
  // until the receiver takes a message (it bumps the epoch) or kRetryNs passes.
  void wait_and_send(const sigval& value) {
    for (;;) {
      const std::uint32_t epoch = tx_dir_.taken_epoch.load(std::memory_order_acquire);
      tx_dir_.sender_waiting.store(1, std::memory_order_seq_cst);
      const bool sent = try_send(value);
      if (!sent) futex_wait_briefly(tx_dir_.taken_epoch, epoch);
      tx_dir_.sender_waiting.store(0, std::memory_order_relaxed);
      if (sent) return;
    }
  }

  Direction& tx_dir_;
  Direction& rx_dir_;
  int tx_signal_;
  bool spin_;
  sigset_t rx_set_;
  pid_t peer_ = 0;
};

class SignalChannel final : public Channel {
 public:
  explicit SignalChannel(const ChannelConfig& cfg)
      : pingpong_(cfg.pattern == Pattern::pingpong), wait_(cfg.wait) {
    if (cfg.msg_bytes > kSigvalBytes) {
      throw NotRunnable("signal: a real-time signal carries " + std::to_string(kSigvalBytes) +
                        " bytes (union sigval); " + std::to_string(cfg.msg_bytes) +
                        " B does not fit");
    }
    // A rendezvous (capacity 0) is the harness's to enforce: the queue holds one.
    std::uint64_t capacity = std::max<std::uint64_t>(cfg.capacity_msgs, 1);
    const std::uint64_t limit = sigpending_soft_limit();
    const std::uint64_t pending = user_pending_signals();
    if (limit != RLIM_INFINITY && capacity + pending > limit && capacity_clamps() &&
        pending < limit) {
      // Capacity max: as many as the user's pending signals leave under the limit.
      capacity = limit - pending;
      note_capacity_bound("RLIMIT_SIGPENDING = " + std::to_string(limit) + " (ulimit -i), " +
                          std::to_string(pending) + " of the user's signals already pending");
    }
    if (limit != RLIM_INFINITY && capacity + pending > limit) {
      throw NotRunnable("signal: capacity " + std::to_string(capacity) +
                        " exceeds RLIMIT_SIGPENDING " + std::to_string(limit) +
                        " (real-time signals queued per user, " + std::to_string(pending) +
                        " of them already pending); raise it with ulimit -i " +
                        std::to_string(capacity + pending));
    }
    receiver_limit_ = capacity + pending;
    granted_.capacity_msgs = capacity;
    granted_.capacity_bytes = capacity * cfg.msg_bytes;
    granted_.detail = limit == RLIM_INFINITY ? "RLIMIT_SIGPENDING unlimited"
                                             : "RLIMIT_SIGPENDING " + std::to_string(limit);
    map_ = map_shared(sizeof(Shared));
    shared_ = new (map_.get()) Shared{};
  }

  // Child process only: blocks the signal this side receives and lowers its pending
  // limit, then publishes its pid and waits for the peer's.
  std::unique_ptr<Endpoint> open(Side side) override {
    const int a_to_b = SIGRTMIN + kAtoBOffset;
    const int b_to_a = SIGRTMIN + kBtoAOffset;
    const bool receives = side == Side::b || pingpong_;
    const bool sends = side == Side::a || pingpong_;
    const int rx = receives ? (side == Side::a ? b_to_a : a_to_b) : 0;
    const int tx = sends ? (side == Side::a ? a_to_b : b_to_a) : 0;
    if (receives) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, rx);
      if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) throw SysError("sigprocmask", "");
      rlimit rl{};
      if (::getrlimit(RLIMIT_SIGPENDING, &rl) < 0) throw SysError("getrlimit", "RLIMIT_SIGPENDING");
      rl.rlim_cur = std::min<rlim_t>(rl.rlim_cur, receiver_limit_);
      if (::setrlimit(RLIMIT_SIGPENDING, &rl) < 0) throw SysError("setrlimit", "RLIMIT_SIGPENDING");
    }
    publish_pid(shared_->pid[side == Side::a ? 0 : 1]);
    return std::make_unique<SignalEndpoint>(*shared_, side, tx, rx, wait_);
  }

  void forked() override {}

 private:
  bool pingpong_;
  WaitMode wait_;
  std::uint64_t receiver_limit_ = 0;
  Mapping map_;
  Shared* shared_ = nullptr;
};

}  // namespace

const Mechanism kSignal{
    .name = "signal",
    .summary = "POSIX real-time signals carrying 8 bytes each (sigqueue, sigwaitinfo)",
    .capacity_knob =
        "the receiver's RLIMIT_SIGPENDING soft limit = capacity + the user's signals already "
        "pending (SigQ), so sigqueue fails with EAGAIN once capacity are queued; capacity past "
        "RLIMIT_SIGPENDING is not runnable",
    .order = 350,
    .family = kFamilyMessage,
    .create = create_channel<SignalChannel>,
};
const Registration kSignalRegistration{kSignal};

}  // namespace ipcbench
