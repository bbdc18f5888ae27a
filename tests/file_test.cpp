// file: what the conformance, fault and security suites cannot see. The writer never
// gets more than `capacity` messages ahead of the reader (and the observation would
// catch one that did); the file and its directory are gone once create() returns, so
// neither a finished case nor a SIGKILLed side leaves anything; --dir is where the
// file lives and its filesystem is recorded; the blocks in use stay bounded over a
// long stream. The test process is the reader; a forked child is the writer.
// Correctness only, never speed.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "harness/pair.hpp"
#include "harness/registry.hpp"
#include "tests/leaks.hpp"

namespace ipcbench {
namespace {

// A scratch directory for --dir, removed (it must be empty by then) at the end.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& base) : path_(base + "/filetest-XXXXXX") {
    if (::mkdtemp(path_.data()) == nullptr) path_.clear();
  }
  ~ScratchDir() {
    if (!path_.empty()) ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  // Every entry but . and ..
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path_.c_str())) {
      while (dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
      }
      ::closedir(d);
    }
    return out;
  }

 private:
  std::string path_;
};

// This process's descriptor of a file channel's file under `base`, found through
// /proc/self/fd (the file is unlinked: its link reads "<path> (deleted)"); -1 if none.
// `creator`: the process that created the channel (its pid names the directory).
int channel_file_fd(const std::string& base, pid_t creator = ::getpid()) {
  const std::string prefix = base + "/ipcbench-" + std::to_string(creator) + "-";
  int found = -1;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      char target[512];
      const std::string link = std::string("/proc/self/fd/") + e->d_name;
      const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      const std::string t(target, static_cast<std::size_t>(n));
      if (t.starts_with(prefix) && t.ends_with(" (deleted)")) found = std::atoi(e->d_name);
    }
    ::closedir(d);
  }
  return found;
}

struct stat stat_of(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st;
}

ChannelConfig stream_config(WaitMode wait, std::size_t msg_bytes, std::size_t capacity,
                            const std::string& dir = "") {
  return {.pattern = Pattern::stream,
          .msg_bytes = msg_bytes,
          .capacity_msgs = capacity,
          .wait = wait,
          .file_dir = dir};
}

// Forks a writer that runs `write_all_msgs` and exits (0 when it returned).
pid_t fork_writer(const std::function<void()>& write_all_msgs) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    try {
      write_all_msgs();
      ::_exit(0);
    } catch (...) {
      ::_exit(1);
    }
  }
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The reader's view while `writer` writes `total` messages: before each recv, the
// messages in the file beyond the reader (st_size / size - taken) once the writer has
// had time to run as far ahead as it will. Returns the most seen.
std::uint64_t most_ahead(Channel& channel, const ChannelConfig& cfg, std::uint64_t total,
                         const std::function<void(Channel&)>& writer) {
  const pid_t pid = fork_writer([&] { writer(channel); });
  std::unique_ptr<Endpoint> reader = channel.open(Side::b);
  const int fd = channel_file_fd(cfg.file_dir.empty() ? "/tmp" : cfg.file_dir);
  EXPECT_GE(fd, 0);
  std::vector<std::byte> buf(cfg.msg_bytes);
  std::uint64_t most = 0;
  for (std::uint64_t taken = 0; taken < total; ++taken) {
    const std::uint64_t can_be_ahead = std::min<std::uint64_t>(cfg.capacity_msgs, total - taken);
    std::uint64_t ahead = 0;
    // Up to 2 s for the writer to get as far as it may (a loaded machine), then 20 ms
    // more for it to go further if it would.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ahead = static_cast<std::uint64_t>(stat_of(fd).st_size) / cfg.msg_bytes - taken;
    } while (ahead < can_be_ahead && std::chrono::steady_clock::now() < give_up);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ahead = static_cast<std::uint64_t>(stat_of(fd).st_size) / cfg.msg_bytes - taken;
    EXPECT_GE(ahead, can_be_ahead) << "the writer never got " << can_be_ahead << " ahead";
    most = std::max(most, ahead);
    reader->recv(buf);
  }
  EXPECT_EQ(wait_exit_code(pid), 0);
  return most;
}

const Mechanism& file_mechanism() {
  const Mechanism* m = find_mechanism("file");
  if (m == nullptr) throw std::runtime_error("no file mechanism");
  return *m;
}

class FileChannelTest : public ::testing::TestWithParam<WaitMode> {};

TEST_P(FileChannelTest, WriterNeverGetsMoreThanCapacityAhead) {
  constexpr std::size_t kCapacity = 8;
  constexpr std::uint64_t kTotal = kCapacity + 12;
  const ChannelConfig cfg = stream_config(GetParam(), 4096, kCapacity);
  std::unique_ptr<Channel> channel = file_mechanism().create(cfg);
  EXPECT_EQ(channel->granted().capacity_msgs, kCapacity);
  const std::uint64_t most = most_ahead(*channel, cfg, kTotal, [&](Channel& c) {
    std::unique_ptr<Endpoint> writer = c.open(Side::a);
    const std::vector<std::byte> msg(cfg.msg_bytes, std::byte{7});
    for (std::uint64_t i = 0; i < kTotal; ++i) writer->send(msg);
  });
  EXPECT_EQ(most, kCapacity);
}

// The control: a writer that bypasses the endpoint (raw write() to the same file, no
// capacity wait) is seen running ahead by the same observation, so the check above
// would fail without the enforcement.
TEST_P(FileChannelTest, TheObservationCatchesAWriterThatIgnoresCapacity) {
  constexpr std::size_t kCapacity = 8;
  constexpr std::uint64_t kTotal = kCapacity + 12;
  const ChannelConfig cfg = stream_config(GetParam(), 4096, kCapacity);
  std::unique_ptr<Channel> channel = file_mechanism().create(cfg);
  const pid_t creator = ::getpid();
  const std::uint64_t most = most_ahead(*channel, cfg, kTotal, [&](Channel&) {
    const int fd = channel_file_fd("/tmp", creator);
    const std::vector<std::byte> msg(cfg.msg_bytes, std::byte{7});
    for (std::uint64_t i = 0; i < kTotal; ++i) {
      if (::write(fd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) ::_exit(2);
    }
  });
  EXPECT_EQ(most, kTotal);
}

INSTANTIATE_TEST_SUITE_P(Waits, FileChannelTest, ::testing::Values(WaitMode::block, WaitMode::spin),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(FileChannel, NothingIsLeftOnceCreateReturnsNorAfterACase) {
  const auto before = own_named_objects();
  ScratchDir dir("/tmp");
  ASSERT_FALSE(dir.path().empty());
  for (Pattern p : {Pattern::pingpong, Pattern::stream}) {
    ChannelConfig cfg = stream_config(WaitMode::block, 64, 4, dir.path());
    cfg.pattern = p;
    {
      std::unique_ptr<Channel> channel = file_mechanism().create(cfg);
      EXPECT_EQ(dir.entries(), std::vector<std::string>{}) << "names left after create()";
      const int fd = channel_file_fd(dir.path());
      ASSERT_GE(fd, 0) << "the file is not under --dir " << dir.path();
      EXPECT_EQ(stat_of(fd).st_nlink, 0u);
      EXPECT_EQ(stat_of(fd).st_mode & 0777, 0600u);
    }
    PairSpec spec;
    spec.mechanism = &file_mechanism();
    spec.config = cfg;
    spec.fixed_msgs = 2000;
    spec.timeout_seconds = 30;
    const PairResult r = run_pair(spec);
    EXPECT_EQ(r.outcome, Outcome::ok) << r.message;
    EXPECT_EQ(dir.entries(), std::vector<std::string>{});
  }
  EXPECT_EQ(own_named_objects(), before);
}

TEST(FileChannel, ASideKilledMidStreamLeavesNothing) {
  const auto before = own_named_objects();
  for (const std::string& base : {std::string(), std::string("/dev/shm")}) {
    ScratchDir dir(base.empty() ? "/tmp" : base);
    if (dir.path().empty()) continue;  // no /dev/shm here
    const ChannelConfig cfg =
        stream_config(WaitMode::block, 4096, 2, base.empty() ? "" : dir.path());
    std::unique_ptr<Channel> channel = file_mechanism().create(cfg);
    // The writer fills the capacity and sleeps in its futex; the reader takes nothing.
    const pid_t pid = fork_writer([&] {
      std::unique_ptr<Endpoint> writer = channel->open(Side::a);
      const std::vector<std::byte> msg(cfg.msg_bytes, std::byte{1});
      for (int i = 0; i < 100; ++i) writer->send(msg);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    EXPECT_EQ(wait_exit_code(pid), 128 + SIGKILL);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{});
    channel.reset();
    EXPECT_EQ(dir.entries(), std::vector<std::string>{});
  }
  EXPECT_EQ(own_named_objects(), before);
}

TEST(FileChannel, DirIsHonouredAndItsFilesystemRecorded) {
  {
    std::unique_ptr<Channel> channel =
        file_mechanism().create(stream_config(WaitMode::block, 64, 4));
    EXPECT_GE(channel_file_fd("/tmp"), 0);
    const std::string& detail = channel->granted().detail;
    EXPECT_TRUE(detail.starts_with("file on ")) << detail;
    EXPECT_TRUE(detail.ends_with(" (/tmp)")) << detail;
  }
  struct stat st {};
  if (::stat("/dev/shm", &st) != 0) GTEST_SKIP() << "no /dev/shm";
  ScratchDir dir("/dev/shm");
  ASSERT_FALSE(dir.path().empty());
  std::unique_ptr<Channel> channel =
      file_mechanism().create(stream_config(WaitMode::spin, 64, 4, dir.path()));
  EXPECT_GE(channel_file_fd(dir.path()), 0) << "the file is not under --dir " << dir.path();
  EXPECT_EQ(channel->granted().detail, "file on tmpfs, memory (" + dir.path() + ")");
}

// 64 MiB through a 256 KiB window: the blocks in use stay near the window plus one
// punch interval (4 MiB), while the file's size (holes kept) reaches the whole stream.
TEST(FileChannel, BlocksInUseStayBoundedOverALongStream) {
  constexpr std::size_t kMsgBytes = 64 * 1024;
  constexpr std::uint64_t kTotal = 1024;
  constexpr std::uint64_t kMostBytes = 8ull << 20;
  for (const char* base : {"/tmp", "/dev/shm"}) {
    ScratchDir dir(base);
    if (dir.path().empty()) continue;
    SCOPED_TRACE(base);
    const ChannelConfig cfg = stream_config(WaitMode::block, kMsgBytes, 4, dir.path());
    std::unique_ptr<Channel> channel = file_mechanism().create(cfg);
    const pid_t pid = fork_writer([&] {
      std::unique_ptr<Endpoint> writer = channel->open(Side::a);
      const std::vector<std::byte> msg(kMsgBytes, std::byte{3});
      for (std::uint64_t i = 0; i < kTotal; ++i) writer->send(msg);
    });
    std::unique_ptr<Endpoint> reader = channel->open(Side::b);
    const int fd = channel_file_fd(dir.path());
    ASSERT_GE(fd, 0);
    std::vector<std::byte> buf(kMsgBytes);
    std::uint64_t most_bytes = 0;
    for (std::uint64_t i = 0; i < kTotal; ++i) {
      reader->recv(buf);
      most_bytes = std::max<std::uint64_t>(most_bytes, stat_of(fd).st_blocks * 512ull);
    }
    EXPECT_EQ(wait_exit_code(pid), 0);
    EXPECT_EQ(static_cast<std::uint64_t>(stat_of(fd).st_size), kTotal * kMsgBytes);
    EXPECT_LE(most_bytes, kMostBytes) << "the file kept what was read";
    EXPECT_GT(most_bytes, 0u);
  }
}

}  // namespace
}  // namespace ipcbench
