#include "bench/suite.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "harness/report.hpp"

namespace ipcbench {

std::string rate_series(const std::string& case_name) {
  const std::size_t at = case_name.rfind("/rate:");
  return at == std::string::npos ? case_name : case_name.substr(0, at);
}

std::vector<Case> plan_cases(const RunPlan& plan, double timer_cost_ns, std::uint64_t seed) {
  std::vector<Case> cases;
  std::set<std::string> planned;
  for (const GridPlan& grid : plan.grids) {
    // Ascending, so a series meets its saturation point before the rates beyond it.
    std::vector<std::uint64_t> rates = grid.rates_msgs_per_s;
    std::sort(rates.begin(), rates.end());
    const std::vector<std::uint64_t> no_rate = {0};
    for (Pattern pattern : grid.patterns) {
      for (const Mechanism* m : grid.mechanisms) {
        if (!m->supports(pattern)) continue;
        for (WaitMode wait : grid.waits) {
          if (!m->supports(wait)) continue;
          for (std::size_t size : grid.sizes) {
            for (std::size_t capacity : grid.capacities) {
              for (std::uint64_t rate : pattern == Pattern::rate ? rates : no_rate) {
                Case c;
                c.name = std::string(to_string(pattern)) + "/" + std::string(m->name) +
                         "/size:" + std::to_string(size) + "/capacity:" + std::to_string(capacity) +
                         "/wait:" + std::string(to_string(wait));
                if (pattern == Pattern::rate) c.name += "/rate:" + std::to_string(rate);
                if (!planned.insert(c.name).second) continue;  // an earlier grid has it
                c.grid = grid.name;
                c.repetitions = grid.repetitions;
                c.spec.mechanism = m;
                c.spec.config = {.pattern = pattern, .msg_bytes = size, .capacity_msgs = capacity, .wait = wait,
                                 .backing = plan.backing};
                c.spec.cpus = plan.cpus;
                c.spec.target_seconds = grid.case_seconds;
                c.spec.fixed_msgs = plan.fixed_msgs;
                c.spec.verify = plan.verify;
                c.spec.timeout_seconds = plan.timeout_seconds;
                c.spec.timer_cost_ns = timer_cost_ns;
                c.spec.seed = seed + cases.size();
                c.spec.offered_msgs_per_s = rate;
                cases.push_back(std::move(c));
              }
            }
          }
        }
      }
    }
  }
  return cases;
}

namespace {

// A rate case is saturated when
//  - the pair delivered under kSaturatedShare of the offered rate, and that shortfall
//    is sustained: most sends started late (the channel held the producer back), or
//    the p50 rose past kBacklogFactor x the series's base p50 (a backlog), or over
//    kLossShare of the messages were lost (a datagram channel dropping what it cannot
//    take). A single stall near the end of a short, slow case also lowers the
//    delivered rate (it stretches the last interval) but none of the three;
//  - or its p50 grew past kExplodeFactor x the p50 at the series's lowest rate: the
//    queue is building up, and a longer case would show a larger p50.
constexpr double kSaturatedShare = 0.95;
constexpr double kMostLate = 0.5;
constexpr double kBacklogFactor = 2;
constexpr double kLossShare = 0.05;
constexpr double kExplodeFactor = 10;

// What the series of rate cases (one mechanism, size, capacity and wait mode) has
// shown so far. GB runs cases in registration order, so a series's rates arrive in
// increasing order.
struct RateSeries {
  std::uint64_t base_rate = 0;      // the lowest rate that ran unsaturated
  double base_p50_ns = 0;           // its p50
  std::uint64_t saturated_at = 0;   // 0: not saturated yet
  std::string why;                  // what saturation looked like
};
using RateSeriesMap = std::map<std::string, RateSeries>;

// "300k", "1.5M", "10M" messages per second.
std::string show_rate(double per_s) {
  const char* suffix = "";
  if (per_s >= 1e6) {
    per_s /= 1e6;
    suffix = "M";
  } else if (per_s >= 1e3) {
    per_s /= 1e3;
    suffix = "k";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%s", per_s, suffix);
  return buf;
}

// A case's first failure, by case name. A case whose repetition failed is failed, and
// its remaining repetitions are not run: they would only repeat the failure's cost,
// and Google Benchmark 1.7 crashes aggregating repetitions whose first one failed and
// at least two others did not (google/benchmark#1406, fixed upstream in 2026).
using CaseFailures = std::map<std::string, std::string>;

void run_case(benchmark::State& state, const PairSpec& spec, const Floors& floors, RateSeriesMap& series_map,
              const std::string& series_name, CaseFailures& failures, const std::string& case_name) {
  const bool rate = spec.config.pattern == Pattern::rate;
  RateSeries* series = rate ? &series_map[series_name] : nullptr;
  for (auto _ : state) {
    if (const auto failed = failures.find(case_name); failed != failures.end()) {
      state.SkipWithError(("not run: an earlier repetition failed: " + failed->second).c_str());
      break;
    }
    if (series != nullptr && series->saturated_at != 0 && spec.offered_msgs_per_s > series->saturated_at) {
      state.SkipWithError(("beyond saturation: " + series->why).c_str());
      break;
    }
    const PairResult r = run_pair(spec);
    if (r.outcome == Outcome::not_runnable) {
      state.SkipWithError(("not runnable: " + r.message).c_str());
      break;
    }
    if (r.outcome != Outcome::ok) {
      if (r.outcome == Outcome::failed) failures.emplace(case_name, r.message);
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
      c["p9999_ns"] = r.latency_ns.percentile(0.9999) * one_way;
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
    if (rate) {
      const double offered = static_cast<double>(spec.offered_msgs_per_s);
      const double achieved = 1.0 / per_msg_s;
      const double p50 = r.latency_ns.count() > 0 ? r.latency_ns.percentile(0.50) : 0;
      const double late_ratio =
          r.sent_msgs > 0 ? static_cast<double>(r.late_sends) / static_cast<double>(r.sent_msgs) : 0;
      c["offered_msgs_per_s"] = offered;
      c["late_send_ratio"] = late_ratio;
      c["max_send_lag_ns"] = static_cast<double>(r.max_send_lag_ns);
      c["mean_send_lag_ns"] = r.mean_send_lag_ns;
      const double received = static_cast<double>(r.verify.verified + r.verify.lost);
      const double loss = received > 0 ? static_cast<double>(r.verify.lost) / received : 0;
      const bool backlog = series->base_rate != 0 && p50 > kBacklogFactor * series->base_p50_ns;
      std::string why;
      if (achieved < kSaturatedShare * offered && (late_ratio > kMostLate || backlog || loss > kLossShare)) {
        why = "achieved " + show_rate(achieved) + " of " + show_rate(offered) + " msgs/s offered";
      } else if (series->base_rate != 0 && series->base_rate < spec.offered_msgs_per_s &&
                 p50 > kExplodeFactor * series->base_p50_ns) {
        why = "p50 " + format_ns(p50) + " at " + show_rate(offered) + " msgs/s offered, over " +
              std::to_string(static_cast<int>(kExplodeFactor)) + "x the " + format_ns(series->base_p50_ns) +
              " at " + show_rate(static_cast<double>(series->base_rate));
      }
      c["saturated"] = why.empty() ? 0 : 1;
      if (!why.empty()) {
        label += std::string(label.empty() ? "" : "; ") + "saturated: " + why;
        if (series->saturated_at == 0) {
          series->saturated_at = spec.offered_msgs_per_s;
          series->why = "saturated at " + show_rate(offered) + " msgs/s offered (" + why + ")";
        }
      } else if (series->base_rate == 0 && p50 > 0) {
        series->base_rate = spec.offered_msgs_per_s;
        series->base_p50_ns = p50;
      }
    }
    if (spec.config.pattern == Pattern::stream) {
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
  // Shared by every rate case of this run; lives as long as the registrations.
  auto series = std::make_shared<RateSeriesMap>();
  auto failures = std::make_shared<CaseFailures>();
  for (const Case& c : cases) {
    benchmark::RegisterBenchmark(
        c.name.c_str(),
        [spec = c.spec, &floors, series, failures, series_name = rate_series(c.name), case_name = c.name](
            benchmark::State& st) { run_case(st, spec, floors, *series, series_name, *failures, case_name); })
        ->Repetitions(c.repetitions)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kNanosecond);
  }
}

}  // namespace ipcbench
