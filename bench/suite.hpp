#pragma once
// The suite: the cases a run consists of, and their registration with Google
// Benchmark. Each case is one benchmark with a fixed single iteration and manual
// time: the iteration runs one fresh process pair (run_pair) and reports what the
// pair measured; GB's repetitions give a fresh pair per repetition.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/counters.hpp"
#include "harness/floor.hpp"
#include "harness/pair.hpp"
#include "harness/topology.hpp"

namespace ipcbench {

// One grid of the plan, resolved: its own cartesian product, repetitions and case time.
struct GridPlan {
  std::string name;  // "main" or the sweep's name
  std::vector<const Mechanism*> mechanisms;
  std::vector<Pattern> patterns;
  std::vector<std::size_t> sizes;
  std::vector<std::size_t> capacities;
  std::vector<WaitMode> waits;
  std::vector<std::uint64_t> rates_msgs_per_s;  // the rate pattern's offered rates
  std::vector<unsigned> consumers = {2};        // fanout's and compete's, one case each
  std::vector<unsigned> producers = {2};        // fanin's, one case each
  std::vector<unsigned> pairs;                  // --pairs; empty: one, not named
  int repetitions = 1;
  double case_seconds = 0.2;
};

// One placement of a --placement sweep: its CPU pair, or why this machine has none.
struct PlacementPlan {
  Placement placement = Placement::same_cpu;
  std::array<int, 2> cpus{-1, -1};
  std::string not_offered;  // not empty: the machine has no such pair, and why
};

struct RunPlan {
  std::vector<GridPlan> grids;           // the main grid first, then the sweeps
  Backing backing = Backing::posix_shm;  // one per run, for shared-memory mechanisms
  std::string file_dir;                  // --dir: where the file mechanism's files go; "": /tmp
  std::array<int, 2> cpus{-1, -1};
  // --placement: every case runs once per entry, pinned to its pair (cpus unused);
  // empty: every case on `cpus`.
  std::vector<PlacementPlan> placements;
  std::uint64_t fixed_msgs = 0;
  double timeout_seconds = 30;
  bool verify = true;
};

struct Case {
  // pattern/mechanism/size:N/capacity:N/wait:W, and /rate:N for a rate case,
  // /consumers:N for fanout and compete, /producers:N for fanin, /pairs:N with --pairs; with
  // --placement, /placement:P before /rate:N
  std::string name;
  std::string grid;  // the grid that planned it (the first, when several did)
  int repetitions = 1;
  PairSpec spec;
  std::string placement;    // --placement's name for this case; "" without --placement
  std::string not_offered;  // not empty: the machine lacks the placement; not runnable
};

// The name of a rate case without its /rate:N: the series whose higher rates are
// skipped once one rate saturates.
std::string rate_series(const std::string& case_name);

// Every combination each grid asks for that the mechanism supports (a mechanism
// without a wait mode or pattern simply has no such case; sizes and capacities a
// mechanism cannot run stay in the suite and report why), grid by grid. A case that
// an earlier grid already planned is not planned again, so names are unique. Rate
// cases of one series come in increasing offered rate. With plan.placements, each
// case comes once per placement, in the order given.
std::vector<Case> plan_cases(const RunPlan& plan, double timer_cost_ns, std::uint64_t seed);

// Called after each repetition with its counters: may measure `floors` again (between
// cases, or because the counters show them contaminated), and returns true when it
// changed them, so the repetition is read again against the new ones.
using FloorCheck =
    std::function<bool(const std::string& case_name, const PairSpec&, const CaseCounters&)>;

// The floors of each placement a run uses, by Case::placement ("" : the run's own CPUs).
using FloorsByPlacement = std::map<std::string, Floors>;

// Registers each case, with its repetitions, with Google Benchmark. Results are also
// read against the floors of the case's placement (x_floor, x_floor_bw), which must
// outlive the run; a case whose placement is not offered is skipped as not runnable; `check`
// (may be empty) runs after each repetition. Rate cases
// share one record of saturation per series: once a rate saturates, the series's
// higher rates are skipped as "beyond saturation: ...".
void register_cases(const std::vector<Case>& cases, const FloorsByPlacement& floors,
                    FloorCheck check = {});

}  // namespace ipcbench
