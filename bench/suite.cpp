#include "bench/suite.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <functional>

namespace ipcbench {

std::vector<Case> plan_cases(const RunPlan& plan, double timer_cost_ns, std::uint64_t seed) {
  std::vector<Case> cases;
  for (Pattern pattern : plan.patterns) {
    for (const Mechanism* m : plan.mechanisms) {
      if (!m->supports(pattern)) continue;
      for (WaitMode wait : plan.waits) {
        if (!m->supports(wait)) continue;
        for (std::size_t size : plan.sizes) {
          for (std::size_t capacity : plan.capacities) {
            Case c;
            c.name = std::string(to_string(pattern)) + "/" + std::string(m->name) +
                     "/size:" + std::to_string(size) + "/capacity:" + std::to_string(capacity) +
                     "/wait:" + std::string(to_string(wait));
            c.spec.mechanism = m;
            c.spec.config = {.pattern = pattern, .msg_bytes = size, .capacity_msgs = capacity, .wait = wait,
                             .backing = plan.backing};
            c.spec.cpus = plan.cpus;
            c.spec.target_seconds = plan.case_seconds;
            c.spec.fixed_msgs = plan.fixed_msgs;
            c.spec.verify = plan.verify;
            c.spec.timeout_seconds = plan.timeout_seconds;
            c.spec.timer_cost_ns = timer_cost_ns;
            c.spec.seed = seed + cases.size();
            cases.push_back(std::move(c));
          }
        }
      }
    }
  }
  return cases;
}

namespace {

void run_case(benchmark::State& state, const PairSpec& spec, const Floors& floors) {
  for (auto _ : state) {
    const PairResult r = run_pair(spec);
    if (r.outcome == Outcome::not_runnable) {
      state.SkipWithError(("not runnable: " + r.message).c_str());
      break;
    }
    if (r.outcome != Outcome::ok) {
      state.SkipWithError(r.message.c_str());
      break;
    }
    const bool pingpong = spec.config.pattern == Pattern::pingpong;
    // One-way latency: pingpong halves each round trip; stream timestamps travel
    // with the message.
    const double one_way = pingpong ? 0.5 : 1.0;
    const double per_msg_s = r.measured_seconds / static_cast<double>(r.measured_msgs);
    state.SetIterationTime(per_msg_s * one_way);

    auto& c = state.counters;
    std::string label;
    if (spec.mechanism->uses_backing) label = "backing: " + std::string(to_string(spec.config.backing));
    if (r.latency_ns.count() > 0) {
      c["p50_ns"] = r.latency_ns.percentile(0.50) * one_way;
      c["p90_ns"] = r.latency_ns.percentile(0.90) * one_way;
      c["p99_ns"] = r.latency_ns.percentile(0.99) * one_way;
      c["p999_ns"] = r.latency_ns.percentile(0.999) * one_way;
      c["max_ns"] = static_cast<double>(r.latency_ns.max_ns()) * one_way;
      c["latency_samples"] = static_cast<double>(r.latency_ns.count());
    } else {
      label += std::string(label.empty() ? "" : "; ") +
               "one-way latency not measured: a message under 8 B has no room for a timestamp";
    }
    c["msgs_per_s"] = 1.0 / per_msg_s;
    c["bytes_per_s"] = static_cast<double>(spec.config.msg_bytes) / per_msg_s;
    c["capacity_effective"] = static_cast<double>(r.granted.capacity_msgs);
    c["capacity_bytes"] = static_cast<double>(r.granted.capacity_bytes);
    c["verified"] = static_cast<double>(r.verify.verified);
    // Loss is an error unless the mechanism may lose messages by design (UDP); then it
    // is reported as loss: lost_msgs, and the label says which semantics applied.
    const bool lossy = spec.mechanism->may_lose;
    c["errors"] = static_cast<double>(lossy ? r.verify.errors_except_loss() : r.verify.errors());
    c["lost_msgs"] = static_cast<double>(r.verify.lost);
    if (lossy) {
      const double offered = static_cast<double>(r.verify.verified + r.verify.lost);
      c["loss_ratio"] = offered > 0 ? static_cast<double>(r.verify.lost) / offered : 0.0;
      label += std::string(label.empty() ? "" : "; ") +
               "loss allowed (datagram semantics): lost messages are counted, not errors";
    }
    c["measured_msgs"] = static_cast<double>(r.measured_msgs);
    // What waiting costs, next to what it buys: the CPU each side burned per message
    // (pingpong: per round trip), user + system, and the system part alone. A side
    // that spins is ~ its wall time per message; one that sleeps, far less. Left out
    // only when a window holds no message (--messages 1).
    const char* const side_suffix[2] = {"_tx", "_rx"};
    for (int i = 0; i < 2; ++i) {
      if (r.cpu[i].msgs == 0) continue;
      c[std::string("cpu_ns_per_msg") + side_suffix[i]] = r.cpu[i].ns_per_msg();
      c[std::string("cpu_sys_ns_per_msg") + side_suffix[i]] = r.cpu[i].sys_ns_per_msg();
    }
    // Against the floor measured in this run: the round trip over the matching
    // latency floor (cache line for the polling modes, wake-up for the sleeping ones),
    // and for a stream the memcpy bandwidth at this size over the achieved bandwidth.
    // Polling modes are read against the cache-line floor the way that floor is
    // timed: batch means, no clock inside (p50_batched_ns); sleeping ones against the
    // wake-up floor, timed per trip like p50_ns. The clock in the loop is what the two
    // p50s differ by.
    if (pingpong && r.batched_rtt_ns.count() > 0) c["p50_batched_ns"] = r.batched_rtt_ns.percentile(0.50) * one_way;
    if (pingpong && r.latency_ns.count() > 0) {
      const bool polling = polls(spec.config.wait);
      const double floor_ns = polling ? floors.cacheline_rtt_ns : floors.wake_rtt_ns;
      const double rtt_ns = polling && r.batched_rtt_ns.count() > 0 ? r.batched_rtt_ns.percentile(0.50)
                                                                   : r.latency_ns.percentile(0.50);
      if (floor_ns > 0) c["x_floor"] = rtt_ns / floor_ns;
      // Against one line per direction: what a design with a one-way channel each way
      // (a ring per direction) can reach at best.
      if (polling && floors.cacheline_pair_rtt_ns > 0) c["x_floor_pair"] = rtt_ns / floors.cacheline_pair_rtt_ns;
    }
    if (!pingpong) {
      const auto bw = floors.memcpy_bytes_per_s.find(spec.config.msg_bytes);
      if (bw != floors.memcpy_bytes_per_s.end()) {
        c["x_floor_bw"] = bw->second / (static_cast<double>(spec.config.msg_bytes) / per_msg_s);
      }
    }
    if (!label.empty()) state.SetLabel(label);
    if (!pingpong) {
      c["stamp_stride"] = static_cast<double>(r.stamp_stride);
      // What verification adds to the consumer, next to the per-message time it
      // shares: a reader sees at once whether the check is small against the mechanism.
      c["verify_ns_per_msg"] = r.verify_ns_per_msg;
    }
  }
}

}  // namespace

void register_cases(const std::vector<Case>& cases, const Floors& floors) {
  for (const Case& c : cases) {
    benchmark::RegisterBenchmark(c.name.c_str(), run_case, c.spec, std::cref(floors))
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kNanosecond);
  }
}

}  // namespace ipcbench
