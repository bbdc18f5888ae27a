// Conformance: every registered mechanism, both patterns, every wait mode it supports, the sizes
// the issue names. A new mechanism is tested by registering it.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <string>

#include "harness/fdio.hpp"
#include "harness/message.hpp"
#include "harness/pair.hpp"
#include "harness/registry.hpp"
#include "harness/sysctl.hpp"
#include "tests/leaks.hpp"

namespace ipcbench {
namespace {

struct Param {
  const Mechanism* mechanism;
  Pattern pattern;
  WaitMode wait;
  std::size_t size;
};

// Readable names in ctest's list instead of a byte dump.
void PrintTo(const Param& p, std::ostream* os) {
  *os << p.mechanism->name << "/" << to_string(p.pattern) << "/" << to_string(p.wait) << "/"
      << p.size;
}

std::vector<Param> all_params() {
  std::vector<Param> out;
  for (const Mechanism* m : mechanisms()) {
    for (Pattern p : {Pattern::pingpong, Pattern::stream}) {
      for (WaitMode w : kWaitModes) {
        if (!m->supports(p) || !m->supports(w)) continue;
        for (std::size_t s : {1, 63, 64, 4095, 4096, 65536, 65537, 1 << 20})
          out.push_back({m, p, w, s});
      }
    }
  }
  return out;
}

class Conformance : public ::testing::TestWithParam<Param> {};

TEST_P(Conformance, DeliversEveryMessageIntactAndLeavesNothing) {
  const Param& p = GetParam();
  const auto before = own_named_objects();
  const auto sysv_before = sysv_objects();
  PairSpec spec;
  spec.mechanism = p.mechanism;
  // Capacity 1 at 1 MiB keeps the pipe within fs.pipe-max-size (1 MiB by default).
  const std::size_t capacity = p.size >= (1u << 20) ? 1 : 4;
  spec.config = {
      .pattern = p.pattern, .msg_bytes = p.size, .capacity_msgs = capacity, .wait = p.wait};
  spec.fixed_msgs = p.size >= (1u << 20) ? 20 : 300;
  spec.timeout_seconds = 60;
  const PairResult r = run_pair(spec);
  // Checked first: a case that fails or cannot run must clean up too.
  EXPECT_EQ(own_named_objects(), before) << "left named objects behind";
  EXPECT_EQ(sysv_objects(), sysv_before) << "left SysV objects behind (ipcs)";
  if (r.outcome == Outcome::not_runnable) {
    EXPECT_FALSE(r.message.empty()) << "a case that cannot run must say why";
    GTEST_SKIP() << r.message;
  }
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  const std::uint64_t per_msg = p.pattern == Pattern::pingpong ? 2 : 1;  // request + echo
  if (p.mechanism->may_lose) {
    // Loss is allowed and counted; every message is either verified or counted lost,
    // and nothing else may go wrong.
    EXPECT_EQ(r.verify.errors_except_loss(), 0u);
    EXPECT_GE(r.verify.verified + r.verify.lost, spec.fixed_msgs * per_msg);
    EXPECT_LE(r.measured_msgs + (p.pattern == Pattern::stream ? 1 : 0), spec.fixed_msgs);
  } else {
    EXPECT_EQ(r.verify.errors(), 0u);
    EXPECT_GE(r.verify.verified, spec.fixed_msgs * per_msg);
    EXPECT_EQ(r.measured_msgs + (p.pattern == Pattern::stream ? 1 : 0), spec.fixed_msgs);
  }
  EXPECT_GT(r.measured_seconds, 0);
  // Latency samples are 1 in stamp_stride messages; a lossy mechanism may lose all of
  // them in a short run, a reliable one never.
  if ((p.pattern == Pattern::pingpong || p.size >= 8) && !p.mechanism->may_lose) {
    EXPECT_GT(r.latency_ns.count(), 0u);
  }
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  return std::string(info.param.mechanism->name) + "_" +
         std::string(to_string(info.param.pattern)) + "_" +
         std::string(to_string(info.param.wait)) + "_" + std::to_string(info.param.size);
}

INSTANTIATE_TEST_SUITE_P(Registry, Conformance, ::testing::ValuesIn(all_params()), param_name);

TEST(Conformance, OversizedChannelIsNotRunnableWithAReason) {
  for (const Mechanism* m : mechanisms()) {
    PairSpec spec;
    spec.mechanism = m;
    spec.config = {.pattern = Pattern::stream,
                   .msg_bytes = 1 << 20,
                   .capacity_msgs = 1024,
                   .wait = WaitMode::block};
    const PairResult r = run_pair(spec);
    EXPECT_EQ(r.outcome, Outcome::not_runnable) << m->name << ": " << r.message;
    EXPECT_FALSE(r.message.empty()) << m->name;
  }
}

TEST(Conformance, GrantedCapacityIsRecorded) {
  for (const Mechanism* m : mechanisms()) {
    PairSpec spec;
    spec.mechanism = m;
    spec.config = {
        .pattern = Pattern::stream, .msg_bytes = 64, .capacity_msgs = 16, .wait = WaitMode::block};
    spec.fixed_msgs = 100;
    const PairResult r = run_pair(spec);
    if (r.outcome == Outcome::not_runnable) {  // a kernel limit below 16 x 64 B, named
      EXPECT_FALSE(r.message.empty()) << m->name;
      continue;
    }
    ASSERT_EQ(r.outcome, Outcome::ok) << m->name << ": " << r.message;
    // Kernels round up, never down, but for an unprivileged process's limit, which
    // clamps a message queue's depth: then the grant is that limit, recorded.
    const std::uint64_t msg_max = read_sysctl("/proc/sys/fs/mqueue/msg_max");
    const std::uint64_t msgmnb = read_sysctl("/proc/sys/kernel/msgmnb");
    if (m->name == "posix_mq" && msg_max < 16) {
      EXPECT_EQ(r.granted.capacity_msgs, msg_max);
    } else if (m->name == "sysv_msg" && msgmnb < 16 * 64) {
      EXPECT_EQ(r.granted.capacity_bytes, msgmnb);
    } else {
      EXPECT_GE(r.granted.capacity_msgs, 16u) << m->name;
      EXPECT_GE(r.granted.capacity_bytes, 16u * 64) << m->name;
    }
  }
}

// A message larger than the pipe itself passes through in pieces: partial writes on
// one side, partial reads on the other, reassembled intact.
TEST(StreamFd, MessageLargerThanThePipePassesInPieces) {
  for (WaitMode wait : {WaitMode::block, WaitMode::spin}) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    ASSERT_EQ(::fcntl(fds[1], F_SETPIPE_SZ, 4096), 4096);
    const std::size_t n = 1 << 20;
    PayloadPool pool(n, 77);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      StreamFdEndpoint tx{UniqueFd{fds[1]}, UniqueFd{}, wait};
      for (std::uint64_t s = 0; s < 3; ++s) tx.send(pool.message(s));
      ::_exit(0);
    }
    ::close(fds[1]);
    StreamFdEndpoint rx{UniqueFd{}, UniqueFd{fds[0]}, wait};
    PayloadPool expect(n, 77);
    Verifier verifier(expect, true);
    AlignedBuffer buf(n);
    for (int i = 0; i < 3; ++i) verifier.check(buf.span().first(rx.recv(buf.span())));
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(verifier.counts().verified, 3u);
    EXPECT_EQ(verifier.counts().errors(), 0u);
  }
}

// A peer that dies mid-run is a reported failure, not a hang.
TEST(PairRunner, HungPeerIsKilledAtTheDeadline) {
  PairSpec spec;
  spec.mechanism = find_mechanism("shm_ring");
  spec.config = {
      .pattern = Pattern::stream, .msg_bytes = 64, .capacity_msgs = 4, .wait = WaitMode::spin};
  spec.fixed_msgs = 1'000'000'000'000ull;  // far more than fits in the deadline
  spec.timeout_seconds = 1;
  const PairResult r = run_pair(spec);
  EXPECT_EQ(r.outcome, Outcome::failed);
  EXPECT_NE(r.message.find("timed out"), std::string::npos) << r.message;
}

}  // namespace
}  // namespace ipcbench
