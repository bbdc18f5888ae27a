// shm_ring on every shared-memory backing: both patterns through the whole harness,
// every message verified, and nothing left behind (no SysV segment, no file or
// directory in /tmp, no object in /dev/shm) by this process.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "harness/environment.hpp"
#include "harness/error.hpp"
#include "harness/pair.hpp"
#include "harness/registry.hpp"
#include "harness/shared_region.hpp"

namespace ipcbench {
namespace {

struct SysvSegment {
  int shmid;
  unsigned perms;  // octal mode bits, with SHM_DEST once marked for removal
  bool operator<(const SysvSegment& o) const { return shmid < o.shmid; }
};

// SysV segments whose creator (the cpid column) is this process: the orchestrator
// calls shmget, so every segment of a case run here is listed.
std::set<SysvSegment> own_sysv_segments() {
  std::ifstream in("/proc/sysvipc/shm");
  std::string line;
  std::getline(in, line);  // header
  std::set<SysvSegment> out;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    long long key = 0, size = 0;
    int shmid = 0, cpid = 0;
    std::string perms;
    if (f >> key >> shmid >> perms >> size >> cpid && cpid == ::getpid()) {
      out.insert({shmid, static_cast<unsigned>(std::stoul(perms, nullptr, 8))});
    }
  }
  return out;
}

// Names in /dev/shm and /tmp that carry this process's pid ("ipcbench-<pid>-...").
std::set<std::string> own_names() {
  const std::string prefix = "ipcbench-" + std::to_string(::getpid()) + "-";
  std::set<std::string> names;
  for (const char* dir : {"/dev/shm", "/tmp"}) {
    if (DIR* d = ::opendir(dir)) {
      while (dirent* e = ::readdir(d)) {
        if (std::string(e->d_name).starts_with(prefix))
          names.insert(std::string(dir) + "/" + e->d_name);
      }
      ::closedir(d);
    }
  }
  return names;
}

struct Param {
  Backing backing;
  Pattern pattern;
  WaitMode wait;
};

class Backings : public ::testing::TestWithParam<Param> {};

TEST_P(Backings, RingDeliversEveryMessageAndLeavesNothing) {
  const Param& p = GetParam();
  ASSERT_TRUE(own_sysv_segments().empty()) << "a segment of this process exists before the run";
  const auto names_before = own_names();
  for (std::size_t size : {64, 65536}) {
    PairSpec spec;
    spec.mechanism = find_mechanism("shm_ring");
    spec.config = {.pattern = p.pattern,
                   .msg_bytes = size,
                   .capacity_msgs = 8,
                   .wait = p.wait,
                   .backing = p.backing};
    // Two CPUs when there are two: spinning sides that share one CPU hand over only
    // at each time slice and crawl.
    if (const std::vector<int> cpus = allowed_cpus(); cpus.size() >= 2)
      spec.cpus = {cpus[0], cpus[1]};
    spec.fixed_msgs = 1000;
    spec.timeout_seconds = 60;
    const PairResult r = run_pair(spec);
    ASSERT_EQ(r.outcome, Outcome::ok) << to_string(p.backing) << " " << size << " B: " << r.message;
    EXPECT_EQ(r.verify.errors(), 0u);
    const std::uint64_t per_msg = p.pattern == Pattern::pingpong ? 2 : 1;  // request + echo
    EXPECT_GE(r.verify.verified, spec.fixed_msgs * per_msg);
    EXPECT_EQ(r.granted.capacity_msgs, 8u);
  }
  EXPECT_TRUE(own_sysv_segments().empty()) << "left a SysV segment behind";
  EXPECT_EQ(own_names(), names_before) << "left a name behind";
}

std::vector<Param> all_params() {
  std::vector<Param> out;
  for (Backing b : kBackings) {
    for (Pattern p : {Pattern::pingpong, Pattern::stream}) {
      for (WaitMode w : {WaitMode::spin, WaitMode::block}) out.push_back({b, p, w});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(ShmRing, Backings, ::testing::ValuesIn(all_params()),
                         [](const auto& info) {
                           return std::string(to_string(info.param.backing)) + "_" +
                                  std::string(to_string(info.param.pattern)) + "_" +
                                  std::string(to_string(info.param.wait));
                         });

// The region outlives its names: once constructed, no name exists (the SysV segment
// is already marked for removal), yet a forked child still reaches the same memory.
TEST(SharedRegion, NoNameOutlivesConstructionAndChildrenShareTheMemory) {
  for (Backing b : kBackings) {
    SCOPED_TRACE(std::string(to_string(b)));
    const auto names_before = own_names();
    SharedRegion region(b, 8192, [](std::byte* base) { base[100] = std::byte{42}; });
    EXPECT_EQ(own_names(), names_before);
    const auto segments = own_sysv_segments();
    if (b == Backing::sysv_shm) {
      ASSERT_EQ(segments.size(), 1u);
      EXPECT_NE(segments.begin()->perms & SHM_DEST, 0u) << "segment not marked IPC_RMID";
      EXPECT_EQ(segments.begin()->perms & 0777, 0600u);
    } else {
      EXPECT_TRUE(segments.empty());
    }
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::byte* mem = region.attach();
      const bool formatted = mem[100] == std::byte{42};
      mem[200] = std::byte{7};
      ::_exit(formatted ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "child did not see the formatted region";
    // The parent sees the child's write through a view of its own.
    const pid_t reader = ::fork();
    ASSERT_GE(reader, 0);
    if (reader == 0) ::_exit(region.attach()[200] == std::byte{7} ? 0 : 1);
    ASSERT_EQ(::waitpid(reader, &status, 0), reader);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "a second child did not see the first's write";
    region.release();
    EXPECT_TRUE(own_sysv_segments().empty());
  }
}

// SysV limits are per IPC namespace: a child in a namespace of its own lowers them
// without touching the machine's, and each exceeded limit is named with its value.
TEST(SharedRegion, SysvLimitsAreNotRunnableAndNamed) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWIPC) < 0) ::_exit(77);
    auto set = [](const char* path, const char* value) { std::ofstream(path) << value; };
    auto refused = [](std::size_t bytes, const char* limit) {
      try {
        SharedRegion r(Backing::sysv_shm, bytes, [](std::byte*) {});
      } catch (const NotRunnable& e) {
        return std::string(e.what()).find(limit) != std::string::npos;
      }
      return false;
    };
    set("/proc/sys/kernel/shmmax", "65536");
    if (!refused(1 << 20, "/proc/sys/kernel/shmmax = 65536")) ::_exit(1);
    set("/proc/sys/kernel/shmmax", "1073741824");
    set("/proc/sys/kernel/shmall", "10");
    if (!refused(1 << 20, "/proc/sys/kernel/shmall = 10 pages")) ::_exit(2);
    set("/proc/sys/kernel/shmall", "1000000");
    set("/proc/sys/kernel/shmmni", "0");
    if (!refused(4096, "/proc/sys/kernel/shmmni = 0 segments")) ::_exit(3);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77)
    GTEST_SKIP() << "no IPC namespace of our own (unshare: not permitted)";
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "limit check " << WEXITSTATUS(status) << " did not name its limit";
}

TEST(SharedRegion, BackingNamesRoundTrip) {
  for (Backing b : kBackings) EXPECT_EQ(parse_backing(to_string(b)), b);
  EXPECT_FALSE(parse_backing("posix"));
  EXPECT_FALSE(parse_backing(""));
  EXPECT_NE(describe_backing(Backing::file).find("/tmp"), std::string::npos);
}

}  // namespace
}  // namespace ipcbench
