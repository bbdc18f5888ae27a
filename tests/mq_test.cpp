// Message queues: System V queues have no name, so the conformance suite's leak check
// (names in /dev/shm, /dev/mqueue, /tmp) cannot see them; this checks the kernel's
// list instead. And a request past a kernel limit must say which limit.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "harness/capacity.hpp"
#include "harness/pair.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

// Ids of every System V message queue on the system (/proc/sysvipc/msg: a header
// line, then key, msqid, ... per queue). IPC_PRIVATE queues carry no creator pid, so
// "created by this test" is "present after, absent before": no other part of the
// project creates SysV queues while these tests run.
std::set<long> sysv_queue_ids() {
  std::ifstream in("/proc/sysvipc/msg");
  std::set<long> ids;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    long key = 0, id = -1;
    if (fields >> key >> id) ids.insert(id);
  }
  return ids;
}

PairResult run(const char* mechanism, Pattern pattern, std::size_t size, std::size_t capacity,
               WaitMode wait = WaitMode::block) {
  PairSpec spec;
  spec.mechanism = find_mechanism(mechanism);
  EXPECT_NE(spec.mechanism, nullptr) << mechanism;
  spec.config = {.pattern = pattern, .msg_bytes = size, .capacity_msgs = capacity, .wait = wait};
  spec.fixed_msgs = 200;
  spec.timeout_seconds = 60;
  return run_pair(spec);
}

TEST(SysvMsg, LeavesNoQueueAfterARunOrARefusal) {
  for (Pattern pattern : {Pattern::pingpong, Pattern::stream}) {
    for (WaitMode wait : {WaitMode::block, WaitMode::spin}) {
      const auto before = sysv_queue_ids();
      const PairResult ok = run("sysv_msg", pattern, 64, 4, wait);
      ASSERT_EQ(ok.outcome, Outcome::ok) << ok.message;
      EXPECT_EQ(ok.verify.errors(), 0u);
      EXPECT_EQ(sysv_queue_ids(), before) << "a successful run left a queue";
    }
    // A message past kernel.msgmax (stock 8192) is refused whatever the capacity.
    const auto before = sysv_queue_ids();
    const PairResult refused = run("sysv_msg", pattern, 16384, 1);
    if (refused.outcome == Outcome::ok) {
      GTEST_SKIP() << "kernel.msgmax allows 16 KiB messages here";
    }
    EXPECT_EQ(refused.outcome, Outcome::not_runnable) << refused.message;
    EXPECT_NE(refused.message.find("kernel.msgmax"), std::string::npos) << refused.message;
    EXPECT_EQ(sysv_queue_ids(), before) << "a refused case left a queue";
  }
}

TEST(SysvMsg, ProbedCapacityMatchesQbytes) {
  const PairResult r = run("sysv_msg", Pattern::stream, 100, 7);
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.granted.capacity_bytes, 700u);
  EXPECT_EQ(r.granted.capacity_msgs, 7u);
}

TEST(PosixMq, GrantsExactlyWhatWasAsked) {
  const PairResult r = run("posix_mq", Pattern::pingpong, 100, 3);
  if (r.outcome == Outcome::not_runnable) GTEST_SKIP() << r.message;
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.granted.capacity_msgs, 3u);
  EXPECT_EQ(r.granted.capacity_bytes, 300u);
}

// The largest message each kernel accepts by default (msgsize_max, msgmax: 8192), at
// capacity 1 and at the most messages that fit, both patterns and wait modes.
TEST(MessageQueues, LargestDefaultMessageRoundTrips) {
  struct Case {
    const char* mechanism;
    std::size_t capacity;
  };
  for (const Case c :
       {Case{"posix_mq", 1}, Case{"posix_mq", 10}, Case{"sysv_msg", 1}, Case{"sysv_msg", 2}}) {
    for (Pattern pattern : {Pattern::pingpong, Pattern::stream}) {
      for (WaitMode wait : {WaitMode::block, WaitMode::spin}) {
        const PairResult r = run(c.mechanism, pattern, 8192, c.capacity, wait);
        if (r.outcome == Outcome::not_runnable) {  // a machine with lower limits: named
          EXPECT_FALSE(r.message.empty());
          continue;
        }
        ASSERT_EQ(r.outcome, Outcome::ok) << c.mechanism << ": " << r.message;
        EXPECT_EQ(r.verify.errors(), 0u) << c.mechanism;
        EXPECT_EQ(r.granted.capacity_msgs, c.capacity) << c.mechanism;
      }
    }
  }
}

// RLIMIT_MSGQUEUE is charged per user; lowering this process's soft limit below one
// queue's charge (10 x 64 B plus the kernel's bookkeeping) makes mq_open refuse it.
TEST(PosixMq, RlimitMsgqueueIsNamed) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_MSGQUEUE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = 600;
  ASSERT_EQ(::setrlimit(RLIMIT_MSGQUEUE, &low), 0);
  const PairResult r = run("posix_mq", Pattern::stream, 64, 8);
  ::setrlimit(RLIMIT_MSGQUEUE, &saved);
  ASSERT_EQ(r.outcome, Outcome::not_runnable) << r.message;
  EXPECT_NE(r.message.find("RLIMIT_MSGQUEUE = 600 B"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("ulimit -q"), std::string::npos) << r.message;
}

std::uint64_t read_proc(const char* path) {
  std::ifstream in(path);
  std::uint64_t v = 0;
  in >> v;
  return v;
}

// The reason names the limit, so a user knows which sysctl or ulimit to raise.
TEST(MessageQueues, NotRunnableReasonsNameTheLimit) {
  struct Case {
    const char* mechanism;
    std::size_t size, capacity;
    const char* limit_path;
    const char* sysctl;
  };
  const Case cases[] = {
      {"posix_mq", 16384, 4, "/proc/sys/fs/mqueue/msgsize_max", "fs.mqueue.msgsize_max"},
      {"sysv_msg", 16384, 1, "/proc/sys/kernel/msgmax", "kernel.msgmax"},
  };
  for (const Case& c : cases) {
    const std::uint64_t limit = read_proc(c.limit_path);
    const std::uint64_t asked = std::string(c.sysctl).ends_with("msg_max") ? c.capacity : c.size;
    if (asked <= limit) continue;  // this machine's limit was raised: nothing to refuse
    const auto before = sysv_queue_ids();
    const PairResult r = run(c.mechanism, Pattern::stream, c.size, c.capacity);
    if (r.outcome == Outcome::ok) continue;  // CAP_SYS_RESOURCE lifts the posix_mq sysctls
    EXPECT_EQ(r.outcome, Outcome::not_runnable) << r.message;
    EXPECT_NE(r.message.find(c.limit_path), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(std::to_string(limit)), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("sysctl -w " + std::string(c.sysctl) + "="), std::string::npos)
        << r.message;
    EXPECT_EQ(sysv_queue_ids(), before);
  }
}

// The clamp with stock Debian 12 limits (fs.mqueue.msg_max 10, kernel.msgmnb 16384),
// whatever this machine's are.
TEST(MessageQueues, ClampWithStockLimits) {
  EXPECT_EQ(mq_maxmsg_within(16, 10), 10u);
  EXPECT_EQ(mq_maxmsg_within(1024, 10), 10u);
  EXPECT_EQ(mq_maxmsg_within(10, 10), 0u);  // within: the size was what was refused
  EXPECT_EQ(mq_maxmsg_within(4, 10), 0u);
  EXPECT_EQ(msg_qbytes_within(16, 64, 16384), 1024u);  // fits as asked
  EXPECT_EQ(msg_qbytes_within(16, 1, 16384), 16u);
  EXPECT_EQ(msg_qbytes_within(16, 4096, 16384), 16384u);  // four 4 KiB messages
  EXPECT_EQ(msg_qbytes_within(16, 8192, 16384), 16384u);  // two 8 KiB messages
  EXPECT_EQ(msg_qbytes_within(1, 32768, 16384), 0u);      // not one message fits
}

// The capacity a case is granted when run without privileges: root's CAP_SYS_RESOURCE
// lifts the limits, so as root the case runs in a child that has become nobody.
// Returns the granted capacity, or -1 when the case did not run.
long granted_unprivileged(const char* mechanism, Pattern pattern, std::size_t size,
                          std::size_t capacity) {
  if (::geteuid() != 0) {
    const PairResult r = run(mechanism, pattern, size, capacity);
    return r.outcome == Outcome::ok ? static_cast<long>(r.granted.capacity_msgs) : -1;
  }
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return -1;
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(pipe_fds[0]);
    long granted = -1;
    if (::setgid(65534) == 0 && ::setuid(65534) == 0) {
      const PairResult r = run(mechanism, pattern, size, capacity);
      if (r.outcome == Outcome::ok) granted = static_cast<long>(r.granted.capacity_msgs);
    }
    [[maybe_unused]] const ssize_t n = ::write(pipe_fds[1], &granted, sizeof granted);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  long granted = -1;
  if (::read(pipe_fds[0], &granted, sizeof granted) != sizeof granted) granted = -1;
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  return granted;
}

// A capacity past the unprivileged limit runs with the limit's depth, recorded as the
// granted capacity (the case's name keeps the requested one).
TEST(MessageQueues, CapacityPastTheSysctlIsClamped) {
  const std::uint64_t msg_max = read_proc("/proc/sys/fs/mqueue/msg_max");
  if (msg_max < 64) {
    EXPECT_EQ(granted_unprivileged("posix_mq", Pattern::pingpong, 64, 64),
              static_cast<long>(msg_max));
  }
  const std::uint64_t msgmnb = read_proc("/proc/sys/kernel/msgmnb");
  if (msgmnb < 64 * 4096) {
    const auto before = sysv_queue_ids();
    EXPECT_EQ(granted_unprivileged("sysv_msg", Pattern::stream, 4096, 64),
              static_cast<long>(msgmnb / 4096));
    EXPECT_EQ(sysv_queue_ids(), before);
  }
}

}  // namespace
}  // namespace ipcbench
