#include "harness/members.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "harness/child.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/pair.hpp"

namespace ipcbench {
namespace {

// Self-pipe: the signal handler writes a byte so the orchestrator's poll() wakes.
volatile sig_atomic_t g_interrupted = 0;
int g_wake_pipe[2] = {-1, -1};

extern "C" void on_interrupt(int) {
  g_interrupted = 1;
  const int saved = errno;
  if (g_wake_pipe[1] >= 0) [[maybe_unused]]
    auto n = ::write(g_wake_pipe[1], "x", 1);
  errno = saved;
}

// Runs in a child forked by fork_child (harness/child.hpp), which already made it die
// with the orchestrator and named it; never returns. `earlier` are the members forked
// before this one.
[[noreturn]] void member_main(const Member& m, std::span<const Child> earlier) {
  SideReport& rep = *m.report;
  try {
    // A sibling's death-pipe read end is the orchestrator's watch, not ours to keep.
    for (const Child& c : earlier) ::close(c.death_fd());
    ::signal(SIGPIPE, SIG_IGN);  // a dead peer is EPIPE, reported, not a silent death
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    for (int& fd : g_wake_pipe) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
    pin_to_cpu(m.cpu);
    m.run();
    rep.state.store(1, std::memory_order_release);
    ::_exit(0);
  } catch (const std::exception& e) {
    std::snprintf(rep.error, sizeof rep.error, "%s", e.what());
  } catch (...) {
    std::snprintf(rep.error, sizeof rep.error, "unknown exception");
  }
  rep.state.store(2, std::memory_order_release);
  ::_exit(1);
}

bool reported_failure(const Member& m) {
  return m.report->state.load(std::memory_order_acquire) == 2;
}

// Every member that ended badly by itself, deaths by a signal first: a signal is a
// cause, never a reaction, while an error report ("peer closed its end") is often the
// latter.
std::string describe_failures(const std::vector<Child>& children,
                              const std::vector<Member>& members) {
  std::string out;
  for (const bool signals : {true, false}) {
    for (std::size_t i = 0; i < children.size(); ++i) {
      const Child& c = children[i];
      if (!c.died_badly() || c.died_of_signal() != signals) continue;
      out += std::string(out.empty() ? "" : "; ") + members[i].role + " " +
             (reported_failure(members[i]) ? std::string("failed: ") + members[i].report->error
                                           : c.describe_exit());
    }
  }
  return out;
}

std::string describe_timeout(const std::vector<Child>& children, const std::vector<Member>& members,
                             double timeout_seconds) {
  char after[48];
  std::snprintf(after, sizeof after, "timed out after %g s:", timeout_seconds);
  std::string out = after;
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (children[i].running()) {
      out +=
          " " + members[i].role + " had not finished (" + describe_stuck(children[i].pid()) + ");";
    }
  }
  return out + " hung peer? (--timeout sets the deadline)";
}

bool any_running(const std::vector<Child>& children) {
  for (const Child& c : children) {
    if (c.running()) return true;
  }
  return false;
}

// Sleeps in poll() on the members' death pipes and the interrupt pipe until all have
// exited, one ends badly, the deadline passes or the run is interrupted.
WatchEnd wait_for_members(std::vector<Child>& children, const std::vector<Member>& members,
                          double timeout_seconds) {
  const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(timeout_seconds * 1e9);
  std::vector<pollfd> fds(children.size() + 1);
  while (any_running(children)) {
    for (std::size_t i = 0; i < children.size(); ++i)
      fds[i] = {children[i].running() ? children[i].death_fd() : -1, POLLIN, 0};
    fds.back() = {g_wake_pipe[0], POLLIN, 0};
    const std::uint64_t now = now_ns();
    const int wait_ms = now >= deadline ? 0 : static_cast<int>((deadline - now) / 1'000'000 + 1);
    const int ready = ::poll(fds.data(), fds.size(), wait_ms);
    if (interrupted()) return {.interrupted = true, .failure = "interrupted"};
    if (ready < 0 && errno != EINTR) {
      return {.failure = std::string("poll: ") + std::strerror(errno)};
    }
    if (ready == 0 && now_ns() >= deadline) {
      return {.failure = describe_timeout(children, members, timeout_seconds)};
    }
    bool ended_badly = false;
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (!children[i].running() || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      children[i].reap();
      ended_badly = ended_badly || !children[i].exited_ok();
    }
    if (ended_badly) {
      // The first member to end badly is often only reacting: its peer's death closed
      // the channel under it. Give the others a moment to end too, then name them.
      reap_within(children, 100'000'000);
      return {.failure = describe_failures(children, members)};
    }
  }
  return {};
}

// A member that failed too says what it saw: often the first failure is only the
// reaction ("peer closed its end") and the cause is elsewhere.
void add_reported_failures(const std::vector<Member>& members, WatchEnd& end) {
  for (const Member& m : members) {
    if (reported_failure(m) && end.failure.find(m.role + " failed") == std::string::npos)
      end.failure += "; " + m.role + " failed: " + m.report->error;
  }
}

}  // namespace

void install_interrupt_handlers() {
  if (g_wake_pipe[0] < 0 && ::pipe2(g_wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
    throw SysError("pipe2", "interrupt pipe");
  }
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR at once
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
}

bool interrupted() noexcept { return g_interrupted != 0; }

WatchEnd run_members(std::vector<Member>& members, double timeout_seconds,
                     const std::function<void()>& after_fork) {
  // Unflushed output would be written again by a child's exit path; children use
  // _exit, but flushing first keeps that true even for stdio buffers.
  std::fflush(nullptr);
  std::cout.flush();
  SideOutput output;
  std::vector<Child> children;
  children.reserve(members.size());
  for (const Member& m : members) {
    // "ipcb-producer" in ps and top, and for the fault tests to find each member. A
    // throw (pipe2, fork) leaves ~Child to kill and reap the members already forked.
    std::string name = "ipcb-" + m.role;
    std::replace(name.begin(), name.end(), ' ', '-');
    const std::span<const Child> earlier(children.data(), children.size());
    children.push_back(fork_child(
        name.substr(0, 15).c_str(), [&m, earlier] { member_main(m, earlier); }, output.fd()));
  }
  after_fork();
  WatchEnd end = wait_for_members(children, members, timeout_seconds);
  for (Child& c : children) c.kill_and_reap();
  if (!end.failure.empty() && !end.interrupted) add_reported_failures(members, end);
  if (const std::string said = output.tail(); !end.failure.empty() && !said.empty())
    end.failure += "; the sides wrote: " + said;
  return end;
}

}  // namespace ipcbench
