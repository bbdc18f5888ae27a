#include "harness/pair.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <new>
#include <utility>

#include "harness/child.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/patterns.hpp"
#include "harness/registry.hpp"

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

const char* role_name(Pattern p, int side) {
  if (p == Pattern::pingpong) return side == 0 ? "client" : "server";
  return side == 0 ? "producer" : "consumer";
}

// Runs in a child forked by fork_child (harness/child.hpp), which already made it die
// with the orchestrator and named it; never returns.
[[noreturn]] void child_main(int index, Channel& channel, const PairSpec& spec, PairShared& shared,
                             const Child* siblings) {
  SideReport& rep = shared.side[index];
  try {
    // A sibling's death-pipe read end is the orchestrator's watch, not ours to keep.
    for (int i = 0; i < index; ++i) ::close(siblings[i].death_fd());
    ::signal(SIGPIPE, SIG_IGN);  // a dead peer is EPIPE, reported, not a silent death
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    for (int& fd : g_wake_pipe) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
    if (const int cpu = spec.cpus[index]; cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      if (::sched_setaffinity(0, sizeof set, &set) < 0)
        throw SysError("sched_setaffinity", "CPU " + std::to_string(cpu));
    }
    const Side side = index == 0 ? Side::a : Side::b;
    std::unique_ptr<Endpoint> ep = channel.open(side);
    run_side(side, *ep, spec, shared);
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

// Every side that ended badly by itself, deaths by a signal first: a signal is a cause,
// never a reaction, while an error report ("peer closed its end") is often the latter.
std::string describe_failures(const Child (&children)[2], const PairShared& shared,
                              Pattern pattern) {
  std::string out;
  for (const bool signals : {true, false}) {
    for (int i = 0; i < 2; ++i) {
      const Child& c = children[i];
      if (!c.died_badly() || c.died_of_signal() != signals) continue;
      const SideReport& rep = shared.side[i];
      out += std::string(out.empty() ? "" : "; ") + role_name(pattern, i) + " " +
             (rep.state.load(std::memory_order_acquire) == 2 ? std::string("failed: ") + rep.error
                                                             : c.describe_exit());
    }
  }
  return out;
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

namespace {

// Whether the case can run, and its channel when it can. Otherwise null, with
// result's outcome and message saying why: interrupted, not runnable, or a failed
// setup.
std::unique_ptr<Channel> preflight(const PairSpec& spec, PairResult& result) {
  if (interrupted()) {
    result.outcome = Outcome::interrupted;
    result.message = "interrupted";
    return nullptr;
  }
  // A message shorter than 4 bytes carries only the low bits of its sequence number,
  // rebuilt from the expected one; after a burst of 128 or more losses that is
  // ambiguous, so a mechanism that may lose messages needs the full 32 bits.
  if (spec.mechanism->may_lose && spec.config.msg_bytes < 4) {
    result.outcome = Outcome::not_runnable;
    result.message = std::string(spec.mechanism->name) +
                     " may lose messages: it needs messages of at least 4 bytes, so that each "
                     "carries its whole sequence number across a burst of losses";
    return nullptr;
  }
  if (spec.config.pattern == Pattern::rate && spec.offered_msgs_per_s == 0) {
    result.message = "a rate case needs an offered rate above 0 messages/s";
    return nullptr;  // failed: a harness error, not the mechanism's
  }
  std::unique_ptr<Channel> channel;
  try {
    // A rate case's channel is a stream's: one direction, the same knobs.
    ChannelConfig config = spec.config;
    if (config.pattern == Pattern::rate) config.pattern = Pattern::stream;
    channel = open_channel(*spec.mechanism, config);
  } catch (const NotRunnable& e) {
    result.outcome = Outcome::not_runnable;
    result.message = e.what();
    return nullptr;
  } catch (const std::exception& e) {
    result.outcome = Outcome::failed;
    result.message = std::string("setup: ") + e.what();
    return nullptr;
  }
  result.granted = channel->granted();
  return channel;
}

// How watching a pair ended: `failure` is empty when both sides exited cleanly.
struct WatchEnd {
  bool interrupted = false;
  std::string failure;
};

std::string describe_timeout(const Child (&children)[2], const PairSpec& spec) {
  char after[48];
  std::snprintf(after, sizeof after, "timed out after %g s:", spec.timeout_seconds);
  std::string out = after;
  for (int i = 0; i < 2; ++i) {
    if (children[i].running()) {
      out += std::string(" ") + role_name(spec.config.pattern, i) + " had not finished (" +
             describe_stuck(children[i].pid()) + ");";
    }
  }
  return out + " hung peer? (--timeout sets the deadline)";
}

// Sleeps in poll() on the children's death pipes and the interrupt pipe until both
// sides have exited, one ends badly, the deadline passes or the run is interrupted.
WatchEnd wait_for_sides(Child (&children)[2], const PairSpec& spec, const PairShared& shared) {
  const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(spec.timeout_seconds * 1e9);
  while (children[0].running() || children[1].running()) {
    pollfd fds[3] = {{children[0].death_fd(), POLLIN, 0},
                     {children[1].death_fd(), POLLIN, 0},
                     {g_wake_pipe[0], POLLIN, 0}};
    for (int i = 0; i < 2; ++i) {
      if (!children[i].running()) fds[i].fd = -1;
    }
    const std::uint64_t now = now_ns();
    const int wait_ms = now >= deadline ? 0 : static_cast<int>((deadline - now) / 1'000'000 + 1);
    const int ready = ::poll(fds, 3, wait_ms);
    if (interrupted()) return {.interrupted = true, .failure = "interrupted"};
    if (ready < 0 && errno != EINTR) {
      return {.failure = std::string("poll: ") + std::strerror(errno)};
    }
    if (ready == 0 && now_ns() >= deadline) return {.failure = describe_timeout(children, spec)};
    bool ended_badly = false;
    for (int i = 0; i < 2; ++i) {
      if (!children[i].running() || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      children[i].reap();
      ended_badly = ended_badly || !children[i].exited_ok();
    }
    if (ended_badly) {
      // The first side to end badly is often only reacting: its peer's death closed the
      // channel under it. Give the peer a moment to end too, then name both.
      reap_within(children, 100'000'000);
      return {.failure = describe_failures(children, shared, spec.config.pattern)};
    }
  }
  return {};
}

// Forks both sides over `channel` and watches them (wait_for_sides); whatever is
// still running after that is killed and reaped before this returns.
WatchEnd watch(const PairSpec& spec, Channel& channel, PairShared& shared) {
  // Unflushed output would be written again by a child's exit path; children use
  // _exit, but flushing first keeps that true even for stdio buffers.
  std::fflush(nullptr);
  std::cout.flush();
  SideOutput output;
  Child children[2];
  for (int i = 0; i < 2; ++i) {
    // "ipcb-producer" in ps and top, and for the fault tests to find each side. A
    // throw (pipe2, fork) leaves ~Child to kill and reap a child already forked.
    const std::string name = std::string("ipcb-") + role_name(spec.config.pattern, i);
    children[i] = fork_child(
        name.c_str(), [&, i] { child_main(i, channel, spec, shared, children); }, output.fd());
  }
  channel.forked();
  WatchEnd end = wait_for_sides(children, spec, shared);
  for (Child& c : children) c.kill_and_reap();
  // A peer that failed too says what it saw: often the first failure is only the
  // reaction ("peer closed its end") and the cause is on the other side.
  for (int i = 0; i < 2 && !end.failure.empty() && !end.interrupted; ++i) {
    const SideReport& rep = shared.side[i];
    const std::string role = role_name(spec.config.pattern, i);
    if (rep.state.load(std::memory_order_acquire) == 2 &&
        end.failure.find(role + " failed") == std::string::npos) {
      end.failure += "; " + role + " failed: " + rep.error;
    }
  }
  if (const std::string said = output.tail(); !end.failure.empty() && !said.empty())
    end.failure += "; the sides wrote: " + said;
  return end;
}

// The figures both sides reported, and the verification verdict: a sequence or
// payload error fails the case (loss does not, on a mechanism that may lose).
void collect(const PairSpec& spec, const PairShared& shared, PairResult& result) {
  const SideReport& a = shared.side[0];
  const SideReport& b = shared.side[1];
  result.verify = a.verify;
  result.verify += b.verify;
  result.cpu = {a.cpu, b.cpu};
  if (spec.config.pattern == Pattern::pingpong) {
    result.latency_ns = a.latency_ns;
    result.batched_rtt_ns = a.batched_rtt_ns;
    result.measured_msgs = a.measured_msgs;
    result.measured_seconds = static_cast<double>(a.measured_ns) * 1e-9;
  } else {
    result.latency_ns = b.latency_ns;
    result.measured_msgs = b.measured_msgs;
    result.measured_seconds = static_cast<double>(b.measured_ns) * 1e-9;
    result.stamp_stride = shared.plan.stamp_stride.load();
    if (b.verify_samples > 0) {
      // Each sample brackets the check with two clock reads and so includes one
      // timer cost, measured in this run: take it out.
      const double raw = static_cast<double>(b.verify_ns) / static_cast<double>(b.verify_samples);
      result.verify_ns_per_msg = std::max(0.0, raw - spec.timer_cost_ns);
    }
    if (spec.config.pattern == Pattern::rate) {
      result.sent_msgs = a.measured_msgs;
      result.late_sends = a.late_sends;
      result.max_send_lag_ns = a.max_send_lag_ns;
      if (a.measured_msgs > 0) {
        result.mean_send_lag_ns =
            static_cast<double>(a.send_lag_ns_sum) / static_cast<double>(a.measured_msgs);
      }
    }
  }
  const bool lossy = spec.mechanism->may_lose;
  if ((lossy ? result.verify.errors_except_loss() : result.verify.errors()) > 0) {
    result.outcome = Outcome::failed;
    result.message = "verification failed: " + result.verify.describe() + " (of " +
                     std::to_string(result.verify.verified + result.verify.errors()) + " checked)";
    return;
  }
  result.outcome = Outcome::ok;
}

// A case in three steps: preflight (may it run; its channel), watch (both sides forked,
// run, and reaped), collect (what they reported, verified).
PairResult run_pair_or_throw(const PairSpec& spec) {
  PairResult result;
  std::unique_ptr<Channel> channel = preflight(spec, result);
  if (channel == nullptr) return result;
  Mapping shared_map = map_shared(sizeof(PairShared));
  auto* shared = new (shared_map.get()) PairShared{};
  const WatchEnd end = watch(spec, *channel, *shared);
  channel.reset();  // removes any name the mechanism still holds
  if (!end.failure.empty()) {
    result.outcome = end.interrupted ? Outcome::interrupted : Outcome::failed;
    result.message = end.failure;
    return result;
  }
  collect(spec, *shared, result);
  return result;
}

}  // namespace

PairResult run_pair(const PairSpec& spec) {
  // Whatever goes wrong in one case (a failed pipe2, fork or mmap) is that case's
  // error: the suite goes on.
  try {
    return run_pair_or_throw(spec);
  } catch (const std::exception& e) {
    PairResult result;
    result.outcome = Outcome::failed;
    result.message = e.what();
    return result;
  }
}

}  // namespace ipcbench
