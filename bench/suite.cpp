#include "bench/suite.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "bench/counters.hpp"
#include "harness/capacity.hpp"
#include "harness/hgrm.hpp"
#include "harness/report.hpp"

namespace ipcbench {

std::string rate_series(const std::string& case_name) {
  const std::size_t at = case_name.rfind("/rate:");
  return at == std::string::npos ? case_name : case_name.substr(0, at);
}

namespace {

// Each case once per placement of the sweep: "/placement:P" goes before any "/rate:N",
// so a rate series (rate_series) stays within one placement.
std::vector<Case> per_placement(const std::vector<Case>& cases,
                                const std::vector<PlacementPlan>& placements) {
  std::vector<Case> out;
  for (const Case& c : cases) {
    const std::size_t rate_at = c.name.rfind("/rate:");
    const std::size_t at = rate_at == std::string::npos ? c.name.size() : rate_at;
    for (const PlacementPlan& p : placements) {
      Case one = c;
      one.placement = std::string(to_string(p.placement));
      one.name.insert(at, "/placement:" + one.placement);
      one.spec.cpus = p.cpus;
      one.not_offered = p.not_offered;
      out.push_back(std::move(one));
    }
  }
  return out;
}

// What a case adds to its grid point: an offered rate (rate), a count of consumers
// (fanout, compete) or producers (fanin), pairs at once (--pairs), and the name's suffix for it.
struct Variant {
  std::uint64_t rate = 0;
  unsigned fan = 1;
  unsigned pairs = 1;
  std::string suffix;
};

std::vector<Variant> variants(const GridPlan& grid, Pattern pattern) {
  std::vector<Variant> out;
  if (pattern == Pattern::rate) {
    // Ascending, so a series meets its saturation point before the rates beyond it.
    std::vector<std::uint64_t> rates = grid.rates_msgs_per_s;
    std::sort(rates.begin(), rates.end());
    for (std::uint64_t r : rates)
      out.push_back({.rate = r, .suffix = "/rate:" + std::to_string(r)});
  } else if (pattern == Pattern::fanout || pattern == Pattern::fanin ||
             pattern == Pattern::compete) {
    const bool fanout = pattern != Pattern::fanin;  // counts consumers
    for (unsigned n : fanout ? grid.consumers : grid.producers) {
      out.push_back(
          {.fan = n, .suffix = (fanout ? "/consumers:" : "/producers:") + std::to_string(n)});
    }
  } else if (!grid.pairs.empty()) {
    for (unsigned n : grid.pairs)
      out.push_back({.pairs = n, .suffix = "/pairs:" + std::to_string(n)});
  } else {
    out.push_back({});
  }
  return out;
}

PairSpec case_spec(const RunPlan& plan, const GridPlan& grid, const Mechanism* m, Pattern pattern,
                   WaitMode wait, std::size_t size, std::size_t capacity, const Variant& v) {
  PairSpec spec;
  spec.mechanism = m;
  spec.config = {.pattern = pattern,
                 .msg_bytes = size,
                 .capacity_msgs = capacity,
                 .wait = wait,
                 .backing = plan.backing,
                 .consumers = pattern == Pattern::fanout || pattern == Pattern::compete ? v.fan : 1,
                 .producers = pattern == Pattern::fanin ? v.fan : 1,
                 .file_dir = plan.file_dir};
  spec.cpus = plan.cpus;
  spec.target_seconds = grid.case_seconds;
  spec.fixed_msgs = plan.fixed_msgs;
  spec.verify = plan.verify;
  spec.timeout_seconds = plan.timeout_seconds;
  spec.offered_msgs_per_s = v.rate;
  spec.pairs = v.pairs;
  return spec;
}

}  // namespace

std::vector<Case> plan_cases(const RunPlan& plan, double timer_cost_ns, std::uint64_t seed) {
  std::vector<Case> cases;
  std::set<std::string> planned;
  for (const GridPlan& grid : plan.grids) {
    for (Pattern pattern : grid.patterns) {
      const std::vector<Variant> vs = variants(grid, pattern);
      for (const Mechanism* m : grid.mechanisms) {
        if (!m->supports(pattern)) continue;
        for (WaitMode wait : grid.waits) {
          if (!m->supports(wait)) continue;
          for (std::size_t size : grid.sizes) {
            for (std::size_t capacity : grid.capacities) {
              for (const Variant& v : vs) {
                Case c;
                c.name = std::string(to_string(pattern)) + "/" + std::string(m->name) +
                         "/size:" + std::to_string(size) + "/capacity:" + capacity_text(capacity) +
                         "/wait:" + std::string(to_string(wait)) + v.suffix;
                if (!planned.insert(c.name).second) continue;  // an earlier grid has it
                c.grid = grid.name;
                c.repetitions = grid.repetitions;
                c.spec = case_spec(plan, grid, m, pattern, wait, size, capacity, v);
                c.spec.timer_cost_ns = timer_cost_ns;
                c.spec.seed = seed + cases.size();
                cases.push_back(std::move(c));
              }
            }
          }
        }
      }
    }
  }
  return plan.placements.empty() ? cases : per_placement(cases, plan.placements);
}

namespace {

using RateSeriesMap = std::map<std::string, RateSeries>;

// A case's first failure, by case name. A case whose repetition failed is failed, and
// its remaining repetitions are not run: they would only repeat the failure's cost,
// and Google Benchmark 1.7 crashes aggregating repetitions whose first one failed and
// at least two others did not (google/benchmark#1406, fixed upstream in 2026).
using CaseFailures = std::map<std::string, std::string>;

// One repetition per iteration: runs the pair unless an earlier repetition failed or
// the rate series saturated below this rate, and hands its counters to GB.
void run_case(benchmark::State& state, const PairSpec& spec, const Floors& floors,
              const FloorCheck& check, RateSeries* series, CaseFailures& failures,
              const std::string& case_name) {
  for (auto _ : state) {
    if (const auto failed = failures.find(case_name); failed != failures.end()) {
      state.SkipWithError(("not run: an earlier repetition failed: " + failed->second).c_str());
      break;
    }
    if (series != nullptr && series->saturated_at != 0 &&
        spec.offered_msgs_per_s > series->saturated_at) {
      state.SkipWithError(("beyond saturation: " + series->why).c_str());
      break;
    }
    note_case_started(case_name);  // progress: the terminal's status line
    const RateSeries seen = series != nullptr ? *series : RateSeries{};
    const PairResult result = run_pair(spec);
    CaseCounters out = counters_for(spec, result, floors, seen);
    // Floors measured again between cases: this repetition is read against the new ones.
    if (check && out.error.empty() && check(case_name, spec, out))
      out = counters_for(spec, result, floors, seen);
    if (!out.error.empty()) {
      if (out.failed) failures.emplace(case_name, out.error);
      state.SkipWithError(out.error.c_str());
      break;
    }
    if (HgrmExporter* hgrm = hgrm_exporter(); hgrm != nullptr) {
      // One way, as p50_ns: a pingpong's histogram holds round trips.
      hgrm->add(case_name, result.latency_ns, spec.config.pattern == Pattern::pingpong ? 0.5 : 1.0);
    }
    state.SetIterationTime(out.iteration_seconds);
    for (const auto& [name, value] : out.counters) state.counters[name] = value;
    if (!out.label.empty()) state.SetLabel(out.label);
    if (series != nullptr) note_rate(*series, spec.offered_msgs_per_s, out);
  }
}

// A case whose placement this machine lacks: every repetition says why.
void register_not_offered(const Case& c) {
  benchmark::RegisterBenchmark(c.name.c_str(),
                               [why = "not runnable: placement " + c.placement + ": " +
                                      c.not_offered](benchmark::State& st) {
                                 for (auto _ : st) {
                                   st.SkipWithError(why.c_str());
                                   break;
                                 }
                               })
      ->Repetitions(c.repetitions)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kNanosecond);
}

}  // namespace

void register_cases(const std::vector<Case>& cases, const FloorsByPlacement& floors_by,
                    FloorCheck check) {
  // Shared by every rate case of this run; lives as long as the registrations.
  auto series = std::make_shared<RateSeriesMap>();
  auto failures = std::make_shared<CaseFailures>();
  for (const Case& c : cases) {
    if (!c.not_offered.empty()) {
      register_not_offered(c);
      continue;
    }
    const Floors& floors = floors_by.at(c.placement);
    benchmark::RegisterBenchmark(
        c.name.c_str(),
        [spec = c.spec, &floors, check, series, failures, series_name = rate_series(c.name),
         case_name = c.name](benchmark::State& st) {
          RateSeries* rate =
              spec.config.pattern == Pattern::rate ? &(*series)[series_name] : nullptr;
          run_case(st, spec, floors, check, rate, *failures, case_name);
        })
        ->Repetitions(c.repetitions)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kNanosecond);
  }
}

}  // namespace ipcbench
