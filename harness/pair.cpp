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

#include "harness/case_channel.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/group.hpp"
#include "harness/members.hpp"
#include "harness/owners.hpp"
#include "harness/patterns.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

const char* role_name(Pattern p, int side) {
  if (p == Pattern::pingpong) return side == 0 ? "client" : "server";
  return side == 0 ? "producer" : "consumer";
}

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
    channel = open_case_channel(*spec.mechanism, config, result.granted);
  } catch (const NotRunnable& e) {
    result.outcome = Outcome::not_runnable;
    result.message = e.what();
    return nullptr;
  } catch (const std::exception& e) {
    result.outcome = Outcome::failed;
    result.message = std::string("setup: ") + e.what();
    return nullptr;
  }
  return channel;
}

// Forks both sides over `channel` (harness/members.hpp) and watches them.
WatchEnd watch(const PairSpec& spec, Channel& channel, PairShared& shared) {
  std::vector<Member> members;
  for (const Side side : {Side::a, Side::b}) {
    const int i = side == Side::a ? 0 : 1;
    members.push_back({.role = role_name(spec.config.pattern, i),
                       .cpu = spec.cpus[i],
                       .report = &shared.side[i],
                       .run = [&, side] {
                         std::unique_ptr<Endpoint> ep = channel.open(side);
                         run_side(side, *ep, spec, shared);
                       }});
  }
  return run_members(members, spec.timeout_seconds, [&] { channel.forked(); });
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
  collect_pair(spec, *shared, result);
  return result;
}

}  // namespace

// The figures both sides reported, and the verification verdict: a sequence or
// payload error fails the case (loss does not, on a mechanism that may lose).
void collect_pair(const PairSpec& spec, const PairShared& shared, PairResult& result) {
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
  judge_verification(spec, result);
}

void judge_verification(const PairSpec& spec, PairResult& result) {
  const bool lossy = spec.mechanism->may_lose;
  if ((lossy ? result.verify.errors_except_loss() : result.verify.errors()) > 0) {
    result.outcome = Outcome::failed;
    result.message = "verification failed: " + result.verify.describe() + " (of " +
                     std::to_string(result.verify.verified + result.verify.errors()) + " checked)";
    return;
  }
  result.outcome = Outcome::ok;
}

PairResult run_pair(const PairSpec& spec) {
  // Whatever goes wrong in one case (a failed pipe2, fork or mmap) is that case's
  // error: the suite goes on.
  try {
    return is_group(spec) ? run_group(spec) : run_pair_or_throw(spec);
  } catch (const std::exception& e) {
    PairResult result;
    result.outcome = Outcome::failed;
    result.message = e.what();
    return result;
  }
}

}  // namespace ipcbench
