// fifo, unix_dgram, unix_seqpacket: what the conformance suite does not see.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/message.hpp"
#include "harness/pair.hpp"
#include "harness/registry.hpp"
#include "harness/sysctl.hpp"

namespace ipcbench {
namespace {

// Paths in /tmp whose name carries this process's pid (as every ipcbench name does).
std::vector<std::string> own_tmp_names() {
  const std::string prefix = "ipcbench-" + std::to_string(::getpid()) + "-";
  std::vector<std::string> names;
  if (DIR* d = ::opendir("/tmp")) {
    while (dirent* e = ::readdir(d)) {
      if (std::string(e->d_name).starts_with(prefix))
        names.push_back(std::string("/tmp/") + e->d_name);
    }
    ::closedir(d);
  }
  return names;
}

// The exit status of a child (-1: it did not exit normally).
int exit_status(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// Runs body in a child, which leaves with body's status, or 10 on an exception (never
// by returning into the test).
template <typename Body>
pid_t fork_child(Body&& body) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  try {
    ::_exit(body());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "child: %s\n", e.what());
  }
  ::_exit(10);
}

// This process's descriptors that are pipes or FIFOs.
std::vector<int> fifo_fds() {
  std::vector<int> fds;
  for (int fd = 0; fd < 1024; ++fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) fds.push_back(fd);
  }
  return fds;
}

// A message longer than the receive buffer: recv returns its real length, writes
// nothing past the buffer, discards the rest, and the verifier counts it as truncated;
// the next message arrives whole.
TEST(MessageFd, LongerMessageReturnsItsRealLengthAndIsCountedTruncated) {
  for (int type : {SOCK_DGRAM, SOCK_SEQPACKET}) {
    for (WaitMode wait : {WaitMode::block, WaitMode::spin}) {
      int fds[2];
      ASSERT_EQ(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds), 0);
      MessageFdEndpoint tx{UniqueFd{fds[0]}, wait};
      MessageFdEndpoint rx{UniqueFd{fds[1]}, wait};
      constexpr std::size_t kSize = 64;
      PayloadPool pool(kSize, 5);
      PayloadPool longer(kSize + 36, 5);
      tx.send(longer.message(0));
      tx.send(pool.message(1));

      std::vector<std::byte> buf(kSize + 64, std::byte{0xEE});  // a guard past the case's size
      Verifier verifier(pool, true);
      const std::size_t n = rx.recv(std::span(buf).first(kSize));
      EXPECT_EQ(n, kSize + 36);
      for (std::size_t i = kSize; i < buf.size(); ++i)
        ASSERT_EQ(buf[i], std::byte{0xEE}) << "wrote past buf at " << i;
      verifier.check(std::span<const std::byte>(buf).first(n));
      EXPECT_EQ(verifier.counts().truncated, 1u);

      EXPECT_EQ(rx.recv(std::span(buf).first(kSize)), kSize);
      verifier.check(std::span<const std::byte>(buf).first(kSize));
      EXPECT_EQ(verifier.counts().verified, 1u);
      EXPECT_EQ(verifier.counts().errors(), 1u);
    }
  }
}

// The FIFOs sit in a private 0700 directory as 0600 FIFOs until both children have
// opened their ends; then the directory is gone, before the Channel is destroyed. The
// children's ends keep the F_SETPIPE_SZ size that create() granted (the pipe never
// dropped to zero opens), and the messages arrive intact.
TEST(Fifo, PrivateDirectoryGoneOnceBothEndsOpenAndSizeKept) {
  for (Pattern pattern : {Pattern::stream, Pattern::pingpong}) {
    SCOPED_TRACE(std::string(to_string(pattern)));
    ASSERT_TRUE(own_tmp_names().empty());
    const std::vector<int> not_ours = fifo_fds();  // pipes this process had before the channel
    constexpr std::size_t kSize = 4096;
    const ChannelConfig cfg{
        .pattern = pattern, .msg_bytes = kSize, .capacity_msgs = 64, .wait = WaitMode::block};
    std::unique_ptr<Channel> ch = find_mechanism("fifo")->create(cfg);
    const std::uint64_t pipe_bytes = ch->granted().capacity_bytes;
    ASSERT_GE(pipe_bytes, 64u * kSize);  // above the 64 KiB default, so a reset would show

    const auto names = own_tmp_names();
    ASSERT_EQ(names.size(), 1u);
    struct stat st {};
    ASSERT_EQ(::stat(names[0].c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    for (const char* fifo : {"/ab", "/ba"}) {
      if (pattern == Pattern::stream && std::strcmp(fifo, "/ba") == 0) continue;
      ASSERT_EQ(::stat((names[0] + fifo).c_str(), &st), 0) << fifo;
      EXPECT_TRUE(S_ISFIFO(st.st_mode));
      EXPECT_EQ(st.st_mode & 07777, 0600u);
    }

    constexpr std::uint64_t kMsgs = 50;
    const pid_t a = fork_child([&] {
      auto ep = ch->open(Side::a);
      PayloadPool pool(kSize, 9);
      AlignedBuffer buf(kSize);
      for (std::uint64_t s = 0; s < kMsgs; ++s) {
        ep->send(pool.message(s));
        if (pattern == Pattern::pingpong && ep->recv(buf.span()) != kSize) return 2;
      }
      return 0;
    });
    const pid_t b = fork_child([&] {
      auto ep = ch->open(Side::b);
      // Every FIFO end open() gave this child kept the granted size.
      int fifo_ends = 0;
      for (int fd : fifo_fds()) {
        if (std::find(not_ours.begin(), not_ours.end(), fd) != not_ours.end()) continue;
        if (::fcntl(fd, F_GETPIPE_SZ) != static_cast<int>(pipe_bytes)) return 3;
        ++fifo_ends;
      }
      if (fifo_ends != (pattern == Pattern::pingpong ? 2 : 1)) return 4;
      PayloadPool expect(kSize, 9);
      Verifier verifier(expect, true);
      AlignedBuffer buf(kSize);
      for (std::uint64_t s = 0; s < kMsgs; ++s) {
        const std::size_t n = ep->recv(buf.span());
        verifier.check(buf.span().first(n));
        if (pattern == Pattern::pingpong) ep->send(buf.span().first(n));
      }
      return verifier.counts().verified == kMsgs && verifier.counts().errors() == 0 ? 0 : 5;
    });
    ch->forked();
    EXPECT_EQ(exit_status(a), 0);
    EXPECT_EQ(exit_status(b), 0);
    EXPECT_TRUE(own_tmp_names().empty())
        << "the children should have removed the FIFOs and the directory";
    ch.reset();
    EXPECT_TRUE(own_tmp_names().empty());
  }
}

// A create() that fails after mkdtemp leaves nothing behind: here the capacity fit,
// asked for more than ipcbench's per-channel limit (open_channel() refuses that before
// create(); create() called directly meets it in fit_capacity, once the FIFO exists).
TEST(Fifo, NotRunnableCreateLeavesNothing) {
  const ChannelConfig cfg = {.pattern = Pattern::pingpong,
                             .msg_bytes = 1 << 20,
                             .capacity_msgs = 512,
                             .wait = WaitMode::block};
  EXPECT_THROW(find_mechanism("fifo")->create(cfg), NotRunnable);
  EXPECT_TRUE(own_tmp_names().empty());
}

// Past fs.pipe-max-size without the privilege to exceed it, a pipe gets the largest
// size allowed, and the capacity it really holds is recorded, never the one asked.
TEST(Pipe, CapacityPastPipeMaxSizeIsClampedAndRecorded) {
  const std::uint64_t max_bytes = read_sysctl("/proc/sys/fs/pipe-max-size");
  if (max_bytes == 0 || max_bytes > (4u << 20)) GTEST_SKIP() << "fs.pipe-max-size is large";
  PairSpec spec;
  spec.mechanism = find_mechanism("pipe");
  spec.config = {.pattern = Pattern::stream,
                 .msg_bytes = 64 << 10,
                 .capacity_msgs = 4 * max_bytes / (64 << 10),
                 .wait = WaitMode::block};
  spec.fixed_msgs = 200;
  const PairResult r = run_pair(spec);
  if (r.outcome == Outcome::not_runnable) GTEST_SKIP() << r.message;  // CAP_SYS_RESOURCE
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_LT(r.granted.capacity_msgs, spec.config.capacity_msgs);
  EXPECT_GE(r.granted.capacity_msgs, 1u);
  EXPECT_LE(r.granted.capacity_bytes, max_bytes);
}

// A datagram larger than a socket's send buffer can ever hold (2 x net.core.wmem_max)
// is refused even by an empty socket: that size is not runnable, with the reason, not
// a failed case.
TEST(UnixDgram, DatagramLargerThanAnySendBufferIsNotRunnable) {
  const std::uint64_t max_sndbuf = 2 * read_sysctl("/proc/sys/net/core/wmem_max");
  if (max_sndbuf == 0 || max_sndbuf >= (64u << 20))
    GTEST_SKIP() << "net.core.wmem_max allows 32 MiB datagrams";
  for (const char* name : {"unix_dgram", "unix_seqpacket"}) {
    PairSpec spec;
    spec.mechanism = find_mechanism(name);
    spec.config = {.pattern = Pattern::stream,
                   .msg_bytes = 32u << 20,
                   .capacity_msgs = 1,
                   .wait = WaitMode::block};
    spec.fixed_msgs = 2;
    const PairResult r = run_pair(spec);
    EXPECT_EQ(r.outcome, Outcome::not_runnable) << name << ": " << r.message;
    EXPECT_NE(r.message.find("net.core.wmem_max"), std::string::npos) << name << ": " << r.message;
  }
}

// net.unix.max_dgram_qlen limits a datagram receive queue only for senders the
// receiver is not connected back to; socketpair peers are exempt, so a capacity far
// above it is granted (probed) and delivered, not refused.
TEST(UnixDgram, CapacityAboveMaxDgramQlenIsDeliveredForASocketpair) {
  const std::uint64_t qlen = read_sysctl("/proc/sys/net/unix/max_dgram_qlen");
  for (const char* name : {"unix_dgram", "unix_seqpacket"}) {
    PairSpec spec;
    spec.mechanism = find_mechanism(name);
    spec.config = {.pattern = Pattern::stream,
                   .msg_bytes = 64,
                   .capacity_msgs = 4 * (qlen + 1),
                   .wait = WaitMode::spin};
    spec.fixed_msgs = 2000;
    const PairResult r = run_pair(spec);
    ASSERT_EQ(r.outcome, Outcome::ok) << name << ": " << r.message;
    EXPECT_GE(r.granted.capacity_msgs, 4 * (qlen + 1)) << name;
    EXPECT_EQ(r.verify.errors(), 0u) << name;
  }
}

}  // namespace
}  // namespace ipcbench
