// posix_mq: POSIX message queues. One queue carries a -> b; pingpong adds a second
// for b -> a. Every mq_send is one whole message and mq_receive returns it whole.
//
// Capacity: mq_maxmsg = capacity and mq_msgsize = the case's size, as asked, or the
// depth clamped to fs.mqueue.msg_max when the kernel refuses more (stock: 10):
// the kernel states what it granted (mq_getattr), so nothing is probed. Unprivileged
// requests are bounded by fs.mqueue.msg_max and fs.mqueue.msgsize_max, and each
// queue's memory (messages plus the kernel's per-message bookkeeping) is charged to
// the user's RLIMIT_MSGQUEUE. mq_open is simply asked (CAP_SYS_RESOURCE lifts the two
// sysctls, so a pre-check could refuse what the kernel grants); when it refuses, the
// case is not runnable with the limit named, its value and how to raise it.
// Wait: block = mq_send/mq_receive sleeping in the kernel; spin = O_NONBLOCK (set with
// mq_setattr in open()), retrying EAGAIN. O_NONBLOCK belongs to the open description,
// and a descriptor inherited across fork shares it with the parent's copy, so each
// queue is opened twice in create(): one description per side, so one side's
// spinning never makes its peer's calls non-blocking.
// Names: created O_EXCL, mode 0600, under an unpredictable name, and unlinked before
// create() returns (the children use the inherited descriptors; the queue lives until
// the last one closes). The destructor unlinks as a backstop for a failed create().
// Compete: every consumer inherits side b's one description and calls mq_receive on
// it; the kernel hands each message to one receiver and wakes one sleeper per message.
// Timed: mq_send on one side and mq_receive on the other (one copy in, one copy out).
#include <fcntl.h>
#include <mqueue.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"
#include "harness/sysctl.hpp"

namespace ipcbench {
namespace {

constexpr const char* kMsgMaxPath = "/proc/sys/fs/mqueue/msg_max";
constexpr const char* kMsgsizeMaxPath = "/proc/sys/fs/mqueue/msgsize_max";
constexpr const char* kQueuesMaxPath = "/proc/sys/fs/mqueue/queues_max";
// ipc/mqueue.c charges each queue maxmsg * sizeof(struct msg_msg) +
// min(maxmsg, MQ_PRIO_MAX) * sizeof(struct posix_msg_tree_node) + maxmsg * msgsize
// against RLIMIT_MSGQUEUE; both structures are 48 bytes on 64-bit Linux.
constexpr std::uint64_t kMsgMsgBytes = 48;
constexpr std::uint64_t kTreeNodeBytes = 48;
constexpr std::uint64_t kMqPrioMax = 32768;

std::uint64_t kernel_charge_bytes(std::uint64_t maxmsg, std::uint64_t msgsize) {
  return maxmsg * kMsgMsgBytes + std::min(maxmsg, kMqPrioMax) * kTreeNodeBytes + maxmsg * msgsize;
}

// The reason mq_open(O_CREAT) refused a queue of this shape, as a NotRunnable when a
// limit explains it, else the plain SysError.
[[noreturn]] void throw_refusal(int err, const std::string& name, const ChannelConfig& cfg,
                                int queues) {
  const std::uint64_t maxmsg = cfg.capacity_msgs;
  const std::uint64_t msgsize = cfg.msg_bytes;
  const std::string prefix = "posix_mq: mq_open refused mq_maxmsg " + std::to_string(maxmsg) +
                             ", mq_msgsize " + std::to_string(msgsize) + " B (" +
                             std::strerror(err) + "): ";
  if (err == EINVAL) {
    std::string why;
    const bool size_refused = msgsize > read_sysctl(kMsgsizeMaxPath, UINT64_MAX);
    // A depth past the limit alone is clamped (make_queue): then the size is the reason.
    if (const std::uint64_t limit = read_sysctl(kMsgMaxPath, UINT64_MAX);
        maxmsg > limit && !size_refused) {
      why += "capacity " + std::to_string(maxmsg) + " exceeds " + kMsgMaxPath + " = " +
             std::to_string(limit) +
             "; raise it with sysctl -w fs.mqueue.msg_max=" + std::to_string(maxmsg);
    }
    if (const std::uint64_t limit = read_sysctl(kMsgsizeMaxPath, UINT64_MAX); msgsize > limit) {
      why += std::string(why.empty() ? "" : "; and ") + "size " + std::to_string(msgsize) +
             " B exceeds " + kMsgsizeMaxPath + " = " + std::to_string(limit) +
             "; raise it with sysctl -w fs.mqueue.msgsize_max=" + std::to_string(msgsize);
    }
    if (!why.empty()) throw NotRunnable(prefix + why + " (or run with CAP_SYS_RESOURCE)");
  } else if (err == EMFILE) {
    rlimit rl{};
    ::getrlimit(RLIMIT_MSGQUEUE, &rl);
    if (rl.rlim_cur == RLIM_INFINITY) throw SysError("mq_open", name, err);  // the descriptor limit
    const std::uint64_t need =
        kernel_charge_bytes(maxmsg, msgsize) * static_cast<std::uint64_t>(queues);
    // Within the limit on its own, the request met this user's other queues (or the
    // descriptor limit, which mq_open also reports as EMFILE).
    const std::string others =
        need <= rl.rlim_cur
            ? " together with this user's other queues (or the descriptor limit, ulimit -n)"
            : "";
    throw NotRunnable(prefix + "the channel's " + std::to_string(queues) +
                      (queues == 1 ? " queue needs" : " queues need") + " about " +
                      std::to_string(need) +
                      " B (messages plus the kernel's per-message bookkeeping), past " +
                      "RLIMIT_MSGQUEUE = " + std::to_string(rl.rlim_cur) + " B per user" + others +
                      "; raise it with ulimit -q " + std::to_string(rl.rlim_cur + need));
  } else if (err == ENOSPC) {
    throw NotRunnable(prefix + "the system already holds " + kQueuesMaxPath + " = " +
                      std::to_string(read_sysctl(kQueuesMaxPath)) +
                      " queues; raise it with sysctl -w fs.mqueue.queues_max=N");
  } else if (err == ENOSYS) {
    throw NotRunnable("posix_mq: this kernel has no POSIX message queues (CONFIG_POSIX_MQUEUE)");
  }
  throw SysError("mq_open", name, err);
}

// One queue and its two descriptors (one open description per side). On Linux an
// mqd_t is a file descriptor (close-on-exec, always) and mq_close is close, so
// UniqueFd owns it.
struct Queue {
  OwnedName name;
  UniqueFd for_a, for_b;
};

Queue make_queue(const ChannelConfig& cfg, int queues) {
  const std::string name = unique_ipc_name();
  mq_attr attr{};
  attr.mq_maxmsg = static_cast<long>(cfg.capacity_msgs);
  attr.mq_msgsize = static_cast<long>(cfg.msg_bytes);
  mqd_t first = ::mq_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
  // Past fs.mqueue.msg_max the depth is clamped to it (harness/capacity.hpp) and asked
  // again; mq_getattr then reports the granted depth as capacity_effective.
  if (first == static_cast<mqd_t>(-1) && errno == EINVAL) {
    const std::uint64_t within =
        mq_maxmsg_within(cfg.capacity_msgs, read_sysctl(kMsgMaxPath, UINT64_MAX));
    if (within > 0) {
      attr.mq_maxmsg = static_cast<long>(within);
      first = ::mq_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    }
    if (first == static_cast<mqd_t>(-1)) errno = EINVAL;  // the first refusal's reason
  }
  // Owned (to unlink) only once created: on EEXIST the queue is someone else's.
  if (first == static_cast<mqd_t>(-1)) throw_refusal(errno, name, cfg, queues);
  Queue q{OwnedName(name, ::mq_unlink), UniqueFd(first), {}};
  const mqd_t second = ::mq_open(q.name.str().c_str(), O_RDWR);
  if (second == static_cast<mqd_t>(-1)) throw SysError("mq_open", q.name.str());
  q.for_b.reset(second);
  return q;
}

void set_queue_nonblocking(int mqd, bool on) {
  mq_attr attr{};
  attr.mq_flags = on ? O_NONBLOCK : 0;
  if (::mq_setattr(mqd, &attr, nullptr) < 0)
    throw SysError("mq_setattr", "mqd " + std::to_string(mqd));
}

class PosixMqEndpoint final : public Endpoint {
 public:
  PosixMqEndpoint(UniqueFd tx, UniqueFd rx, WaitMode wait)
      : tx_(std::move(tx)), rx_(std::move(rx)) {
    for (const UniqueFd* q : {&tx_, &rx_}) {
      if (*q) set_queue_nonblocking(q->get(), wait == WaitMode::spin);
    }
  }

  void send(std::span<const std::byte> msg) override {
    const auto* p = reinterpret_cast<const char*>(msg.data());
    while (::mq_send(tx_.get(), p, msg.size(), 0) < 0) {
      if (errno != EAGAIN && errno != EINTR)
        throw SysError("mq_send", "mqd " + std::to_string(tx_.get()));
    }
  }

  std::size_t recv(std::span<std::byte> buf) override {
    auto* p = reinterpret_cast<char*>(buf.data());
    for (;;) {
      const ssize_t n = ::mq_receive(rx_.get(), p, buf.size(), nullptr);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EAGAIN && errno != EINTR)
        throw SysError("mq_receive", "mqd " + std::to_string(rx_.get()));
    }
  }

 private:
  UniqueFd tx_, rx_;
};

class PosixMqChannel final : public Channel {
 public:
  explicit PosixMqChannel(const ChannelConfig& cfg) : wait_(cfg.wait) {
    const int queues = cfg.pattern == Pattern::pingpong ? 2 : 1;
    ab_ = make_queue(cfg, queues);
    if (queues == 2) ba_ = make_queue(cfg, queues);
    mq_attr attr{};
    if (::mq_getattr(ab_.for_a.get(), &attr) < 0) throw SysError("mq_getattr", ab_.name.str());
    granted_.capacity_msgs = static_cast<std::uint64_t>(attr.mq_maxmsg);
    granted_.capacity_bytes =
        static_cast<std::uint64_t>(attr.mq_maxmsg) * static_cast<std::uint64_t>(attr.mq_msgsize);
    ab_.name.remove_now();
    ba_.name.remove_now();
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    UniqueFd tx = std::move(side == Side::a ? ab_.for_a : ba_.for_b);
    UniqueFd rx = std::move(side == Side::a ? ba_.for_a : ab_.for_b);
    forked();  // the other side's descriptors
    return std::make_unique<PosixMqEndpoint>(std::move(tx), std::move(rx), wait_);
  }

  void forked() override {
    for (Queue* q : {&ab_, &ba_}) {
      q->for_a.reset();
      q->for_b.reset();
    }
  }

 private:
  WaitMode wait_;
  Queue ab_, ba_;
};

}  // namespace

const Mechanism kPosixMq{
    .name = "posix_mq",
    .summary = "POSIX message queues (one per direction)",
    .capacity_knob =
        "mq_maxmsg = capacity, mq_msgsize = size (fs.mqueue.msg_max, msgsize_max, RLIMIT_MSGQUEUE)",
    .order = 320,
    .family = kFamilyMessage,
    .many_writers = true,
    .many_readers = true,
    .create = create_channel<PosixMqChannel>,
};
const Registration kPosixMqRegistration{kPosixMq};

}  // namespace ipcbench
