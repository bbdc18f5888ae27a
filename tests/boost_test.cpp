// boost_mq and shm_locked: the channel works across fork() with no name left in
// /dev/shm from the moment create() returns (boost_mq removes its queue names early;
// shm_locked never has one). The conformance suite checks only after the run.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "harness/pair.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

std::vector<std::string> own_shm_names() {
  const std::string prefix = "ipcbench-" + std::to_string(::getpid()) + "-";
  std::vector<std::string> names;
  if (DIR* d = ::opendir("/dev/shm")) {
    while (dirent* e = ::readdir(d)) {
      if (std::string(e->d_name).starts_with(prefix)) names.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  return names;
}

// The child echoes one message back; the parent (standing in for side a) checks it.
void echo_across_fork(const char* mechanism, WaitMode wait) {
  SCOPED_TRACE(std::string(mechanism) + (wait == WaitMode::block ? " block" : " spin"));
  const Mechanism* m = find_mechanism(mechanism);
  ASSERT_NE(m, nullptr);
  const ChannelConfig cfg{
      .pattern = Pattern::pingpong, .msg_bytes = 100, .capacity_msgs = 2, .wait = wait};
  std::unique_ptr<Channel> channel = m->create(cfg);
  EXPECT_TRUE(own_shm_names().empty()) << "a name in /dev/shm outlived create()";
  EXPECT_EQ(channel->granted().capacity_msgs, 2u);

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(30);  // a broken channel must not hang the test binary
    std::unique_ptr<Endpoint> ep = channel->open(Side::b);
    std::byte buf[100];
    const std::size_t len = ep->recv(buf);
    ep->send(std::span<const std::byte>(buf, len));
    ::_exit(len == 100 ? 0 : 1);
  }
  std::unique_ptr<Endpoint> ep = channel->open(Side::a);
  std::byte msg[100], back[100];
  for (std::size_t i = 0; i < sizeof msg; ++i) msg[i] = static_cast<std::byte>(i * 7);
  ep->send(msg);
  ASSERT_EQ(ep->recv(back), sizeof back);
  EXPECT_EQ(std::memcmp(msg, back, sizeof msg), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  ep.reset();
  channel.reset();
  EXPECT_TRUE(own_shm_names().empty());
}

TEST(BoostMq, WorksAcrossForkWithNoNameLeftAfterCreate) {
  echo_across_fork("boost_mq", WaitMode::block);
  echo_across_fork("boost_mq", WaitMode::spin);
}

TEST(ShmLocked, WorksAcrossForkWithNoNameAtAll) {
  echo_across_fork("shm_locked", WaitMode::block);
  echo_across_fork("shm_locked", WaitMode::spin);
}

// Children killed at the deadline, likely inside a condition wait: the orchestrator
// must not hang tearing the channel down (the sync objects are never destroyed) and
// must leave nothing in /dev/shm.
TEST(BoostMqAndShmLocked, KilledPeersLeaveNothingAndDoNotHangTheOrchestrator) {
  for (const char* name : {"boost_mq", "shm_locked"}) {
    PairSpec spec;
    spec.mechanism = find_mechanism(name);
    spec.config = {
        .pattern = Pattern::stream, .msg_bytes = 4096, .capacity_msgs = 2, .wait = WaitMode::block};
    spec.fixed_msgs = 1'000'000'000'000ull;  // far more than fits in the deadline
    spec.timeout_seconds = 1;
    const PairResult r = run_pair(spec);
    EXPECT_EQ(r.outcome, Outcome::failed) << name;
    EXPECT_NE(r.message.find("timed out"), std::string::npos) << name << ": " << r.message;
    EXPECT_TRUE(own_shm_names().empty()) << name;
  }
}

}  // namespace
}  // namespace ipcbench
