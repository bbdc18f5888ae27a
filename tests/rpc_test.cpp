// rpc_tcp, rpc_unix beyond the conformance suite: the properties its design note
// promises that a plain run would not show.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "harness/pair.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

bool own_tmp_entry_exists() {
  const std::string prefix = "ipcbench-" + std::to_string(::getpid()) + "-";
  bool found = false;
  if (DIR* d = ::opendir("/tmp")) {
    while (dirent* e = ::readdir(d)) found = found || std::string(e->d_name).starts_with(prefix);
    ::closedir(d);
  }
  return found;
}

// The socket file and its directory are gone before create() returns: a crash at any
// later point leaves nothing in /tmp.
TEST(Rpc, UnixSocketNameIsGoneWhenCreateReturns) {
  const Mechanism* m = find_mechanism("rpc_unix");
  ASSERT_NE(m, nullptr);
  auto channel = m->create(
      {.pattern = Pattern::pingpong, .msg_bytes = 64, .capacity_msgs = 1, .wait = WaitMode::block});
  EXPECT_FALSE(own_tmp_entry_exists());
}

// Stream calls are one-way, sent at once: a run whose length is no multiple of the
// window still delivers its last calls (batched calls would sit in the client's
// buffer). Capacity 7 with 64 warm-up + 101 measured messages leaves a partial window.
TEST(Rpc, StreamDeliversAPartialLastWindowAndRecordsTheWindow) {
  for (const char* name : {"rpc_tcp", "rpc_unix"}) {
    PairSpec spec;
    spec.mechanism = find_mechanism(name);
    ASSERT_NE(spec.mechanism, nullptr);
    spec.config = {
        .pattern = Pattern::stream, .msg_bytes = 100, .capacity_msgs = 7, .wait = WaitMode::block};
    spec.fixed_msgs = 101;
    spec.timeout_seconds = 60;
    const PairResult r = run_pair(spec);
    ASSERT_EQ(r.outcome, Outcome::ok) << name << ": " << r.message;
    EXPECT_EQ(r.verify.errors(), 0u) << name;
    EXPECT_EQ(r.granted.capacity_msgs, 7u) << name << ": the window, when the sockets hold it";
  }
}

// Pingpong has one call in flight whatever capacity asks for.
TEST(Rpc, PingpongRecordsOneCallInFlight) {
  PairSpec spec;
  spec.mechanism = find_mechanism("rpc_tcp");
  ASSERT_NE(spec.mechanism, nullptr);
  spec.config = {
      .pattern = Pattern::pingpong, .msg_bytes = 64, .capacity_msgs = 16, .wait = WaitMode::block};
  spec.fixed_msgs = 50;
  spec.timeout_seconds = 60;
  const PairResult r = run_pair(spec);
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.granted.capacity_msgs, 1u);
  EXPECT_EQ(r.verify.errors(), 0u);
}

}  // namespace
}  // namespace ipcbench
