// sysv_msg: System V message queues. One queue carries a -> b; pingpong adds a second
// for b -> a. Two queues rather than one with two mtypes: each direction then has its
// own msg_qbytes, so capacity means the same as for every other mechanism (per
// direction), and msgrcv takes the first message instead of searching by type.
//
// Capacity: msg_qbytes (IPC_SET) = capacity x size bytes. ipc/msg.c counts message
// text only: a queue is full when q_cbytes + size > q_qbytes or q_qnum + 1 > q_qbytes.
// The granted whole-message count is probed by filling the fresh queue with IPC_NOWAIT
// until EAGAIN, then draining it. Raising msg_qbytes above kernel.msgmnb needs
// CAP_SYS_RESOURCE: without it the bytes are clamped to kernel.msgmnb (stock: 16384,
// four 4 KiB messages) and the probe records the whole messages that fit. A message
// over kernel.msgmax (or msgmnb) is refused outright: the case is not runnable, with
// the limit named, its value and how to raise it.
// Wait: block = msgsnd/msgrcv sleeping in the kernel; spin = IPC_NOWAIT, retrying
// EAGAIN (queue full) and ENOMSG (queue empty).
// Ownership: the queues have random keys, recorded where the next run looks for what a
// killed run left (harness/stale.hpp), and mode 0600. IPC_RMID destroys a queue at
// once, even in use, so the orchestrator's Channel removes them in its destructor,
// after both children are reaped, and on every error path of create() (the owners are
// members, so a throwing constructor removes what it made).
// Compete: every consumer calls msgrcv on the one a -> b queue; the kernel hands each
// message to one receiver (the sleepers queue in order and each takes one).
// Timed: the copy of the payload behind the mtype header (the API's message layout),
// msgsnd, msgrcv and the copy out; each endpoint preallocates its one message buffer.
#include <sys/msg.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>
#include <vector>

#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/registry.hpp"
#include "harness/stale.hpp"
#include "harness/sysctl.hpp"

namespace ipcbench {
namespace {

constexpr const char* kMsgMaxPath = "/proc/sys/kernel/msgmax";
constexpr const char* kMsgMnbPath = "/proc/sys/kernel/msgmnb";
constexpr const char* kMsgMniPath = "/proc/sys/kernel/msgmni";
constexpr long kMtype = 1;  // every message; msgrcv takes the first one (msgtyp 0)
// The fill probe stops here: with CAP_SYS_RESOURCE a queue of 1-byte messages could
// hold millions, and the count is then reported as this many (at least).
constexpr std::uint64_t kMaxProbeMsgs = 1u << 20;

// A System V message queue, removed (IPC_RMID) on destruction. Orchestrator only.
using SysvQueue = RecordedSysvObject;

// The API's message layout: a long mtype, then the text. Held in longs for alignment.
class MsgBuffer {
 public:
  explicit MsgBuffer(std::size_t text_bytes)
      : words_(1 + (text_bytes + sizeof(long) - 1) / sizeof(long)) {
    words_[0] = kMtype;
  }
  void* msgp() noexcept { return words_.data(); }
  std::byte* text() noexcept { return reinterpret_cast<std::byte*>(words_.data() + 1); }

 private:
  std::vector<long> words_;  // value-initialized: touched before any clock starts
};

SysvQueue make_queue() {
  return RecordedSysvObject::create(
      RecordedSysvObject::Kind::msg,
      [](key_t key) { return ::msgget(key, IPC_CREAT | IPC_EXCL | 0600); },
      [](int err) {
        if (err == ENOSPC) {
          throw NotRunnable("sysv_msg: the system already holds kernel.msgmni = " +
                            std::to_string(read_sysctl(kMsgMniPath)) +
                            " message queues; raise it with sysctl -w kernel.msgmni=N");
        }
        if (err == ENOSYS)
          throw NotRunnable("sysv_msg: this kernel has no System V IPC (CONFIG_SYSVIPC)");
      });
}

// Sets msg_qbytes to capacity x size, or within kernel.msgmnb when the kernel refuses
// more (harness/capacity.hpp); returns what the kernel granted.
std::uint64_t set_qbytes(int id, const ChannelConfig& cfg) {
  const std::uint64_t bytes = std::uint64_t{cfg.capacity_msgs} * cfg.msg_bytes;
  msqid_ds ds{};
  if (::msgctl(id, IPC_STAT, &ds) < 0)
    throw SysError("msgctl IPC_STAT", "msqid " + std::to_string(id));
  ds.msg_qbytes = static_cast<msglen_t>(bytes);
  int rc = ::msgctl(id, IPC_SET, &ds);
  if (rc < 0 && errno == EPERM) {
    const std::uint64_t within =
        msg_qbytes_within(cfg.capacity_msgs, cfg.msg_bytes, read_sysctl(kMsgMnbPath, 0));
    if (within > 0 && within < bytes) {
      ds.msg_qbytes = static_cast<msglen_t>(within);
      rc = ::msgctl(id, IPC_SET, &ds);
    }
    if (rc < 0) errno = EPERM;
  }
  if (rc < 0) {
    if (errno == EPERM) {
      throw NotRunnable("sysv_msg: msg_qbytes " + std::to_string(bytes) +
                        " B (capacity x size) exceeds " + kMsgMnbPath + " = " +
                        std::to_string(read_sysctl(kMsgMnbPath)) +
                        " B, the most an unprivileged queue may hold (CAP_SYS_RESOURCE lifts it); "
                        "raise it with sysctl -w kernel.msgmnb=" +
                        std::to_string(bytes));
    }
    throw SysError("msgctl IPC_SET", "msqid " + std::to_string(id));
  }
  if (::msgctl(id, IPC_STAT, &ds) < 0)
    throw SysError("msgctl IPC_STAT", "msqid " + std::to_string(id));
  return ds.msg_qbytes;
}

// Whole messages of msg_bytes the fresh queue accepts, then drained back to empty.
std::uint64_t probe_capacity(int id, std::size_t msg_bytes) {
  MsgBuffer buf(msg_bytes);
  std::uint64_t n = 0;
  while (n < kMaxProbeMsgs) {
    if (::msgsnd(id, buf.msgp(), msg_bytes, IPC_NOWAIT) == 0) {
      ++n;
    } else if (errno == EAGAIN) {
      break;
    } else if (errno != EINTR) {
      throw SysError("msgsnd (capacity probe)", "msqid " + std::to_string(id));
    }
  }
  for (std::uint64_t left = n; left > 0;) {
    if (::msgrcv(id, buf.msgp(), msg_bytes, 0, IPC_NOWAIT) >= 0) {
      --left;
    } else if (errno != EINTR) {
      throw SysError("msgrcv (capacity probe)", "msqid " + std::to_string(id));
    }
  }
  return n;
}

class SysvMsgEndpoint final : public Endpoint {
 public:
  SysvMsgEndpoint(int tx_id, int rx_id, std::size_t msg_bytes, WaitMode wait)
      : tx_id_(tx_id),
        rx_id_(rx_id),
        flags_(wait == WaitMode::spin ? IPC_NOWAIT : 0),
        buf_(msg_bytes) {}

  void send(std::span<const std::byte> msg) override {
    std::memcpy(buf_.text(), msg.data(), msg.size());
    while (::msgsnd(tx_id_, buf_.msgp(), msg.size(), flags_) < 0) {
      if (errno != EAGAIN && errno != EINTR)
        throw SysError("msgsnd", "msqid " + std::to_string(tx_id_));
    }
  }

  std::size_t recv(std::span<std::byte> buf) override {
    for (;;) {
      const ssize_t n = ::msgrcv(rx_id_, buf_.msgp(), buf.size(), 0, flags_);
      if (n >= 0) {
        std::memcpy(buf.data(), buf_.text(), static_cast<std::size_t>(n));
        return static_cast<std::size_t>(n);
      }
      if (errno == E2BIG) {
        throw PeerError("sysv_msg: a message longer than the " + std::to_string(buf.size()) +
                        "-byte case size");
      }
      if (errno != ENOMSG && errno != EINTR)
        throw SysError("msgrcv", "msqid " + std::to_string(rx_id_));
    }
  }

 private:
  int tx_id_, rx_id_;
  int flags_;
  MsgBuffer buf_;
};

class SysvMsgChannel final : public Channel {
 public:
  explicit SysvMsgChannel(const ChannelConfig& cfg) : cfg_(cfg) {
    // Within the per-channel limit: open_channel() has checked it.
    if (const std::uint64_t limit = read_sysctl(kMsgMaxPath, UINT64_MAX); cfg.msg_bytes > limit) {
      throw NotRunnable("sysv_msg: size " + std::to_string(cfg.msg_bytes) + " B exceeds " +
                        kMsgMaxPath + " = " + std::to_string(limit) +
                        " B, the largest message msgsnd accepts; raise it with "
                        "sysctl -w kernel.msgmax=" +
                        std::to_string(cfg.msg_bytes));
    }
    ab_ = make_queue();
    if (cfg.pattern == Pattern::pingpong) ba_ = make_queue();
    for (const SysvQueue* q : {&ab_, &ba_}) {
      if (q->id() >= 0) granted_.capacity_bytes = set_qbytes(q->id(), cfg);
    }
    granted_.capacity_msgs = probe_capacity(ab_.id(), cfg.msg_bytes);
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    const int tx = side == Side::a ? ab_.id() : ba_.id();
    const int rx = side == Side::a ? ba_.id() : ab_.id();
    return std::make_unique<SysvMsgEndpoint>(tx, rx, cfg_.msg_bytes, cfg_.wait);
  }

  // Queue ids are not descriptors: nothing to drop. The queues stay until this
  // Channel is destroyed, after both children are reaped.
  void forked() override {}

 private:
  ChannelConfig cfg_;
  SysvQueue ab_, ba_;
};

}  // namespace

const Mechanism kSysvMsg{
    .name = "sysv_msg",
    .summary = "System V message queues (one per direction)",
    .capacity_knob = "msg_qbytes = capacity x size bytes (kernel.msgmnb; size <= kernel.msgmax)",
    .order = 330,
    .family = kFamilyMessage,
    .many_writers = true,
    .many_readers = true,
    .create = create_channel<SysvMsgChannel>,
};
const Registration kSysvMsgRegistration{kSysvMsg};

}  // namespace ipcbench
