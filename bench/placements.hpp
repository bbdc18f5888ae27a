#pragma once
// The placements a run uses, as `run` needs them: the CPU pair behind each
// Case::placement, their floors (each placement's cases are read against floors
// measured on its own CPUs), and what the results file says about them.
//
// Without --placement a run has one placement, keyed "", on its own CPUs (named by
// classify()); its floors are the context's floor_* keys, as they have always been.
// With --placement, each offered placement is keyed by its name; the floors of the one
// on the run's CPUs (the first offered on two CPUs) are also the context's floor_* keys,
// and context.placements holds every one's.
#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/suite.hpp"

namespace ipcbench {

struct PlacementCpus {
  std::string key;   // Case::placement: "" without --placement
  std::string name;  // same_cpu, ..., or "unknown" (CPUs the topology does not show)
  std::array<int, 2> cpus{-1, -1};
};

// The placements whose floors the run measures: the offered ones, the one on
// plan.cpus first.
std::vector<PlacementCpus> placements_used(const RunPlan& plan);

// The floors of each placement used, at `sizes`.
FloorsByPlacement measure_placement_floors(const std::vector<PlacementCpus>& used,
                                           const std::vector<std::size_t>& sizes, double clock_ns);

// The placement whose key a case name carries (its /placement:P, else "").
const PlacementCpus& placement_of(const std::vector<PlacementCpus>& used,
                                  const std::string& case_name);

// context.placements: for each placement of the plan, {"cpus": [a, b]} and its floors
// (add_floors_to_context's keys), or {"cpus": null, "not_offered": why}; the first used
// placement's floors also as the context's own floor_* keys.
void placements_to_context(const FloorsByPlacement& floors, const std::vector<PlacementCpus>& used,
                           const RunPlan& plan, nlohmann::json& env);

// After the suite: recheck_floors for each placement used (its *_after and drift keys
// in its context.placements entry; the first's at the top too), then
// placements_to_context.
void recheck_placement_floors(FloorsByPlacement& floors, const std::vector<PlacementCpus>& used,
                              const RunPlan& plan, bool (*stop)() noexcept, nlohmann::json& env);

// Each case row's "placement" (name) and "cpus" ([a, b], null when not offered).
void annotate_placements(nlohmann::json& doc, const std::vector<Case>& cases,
                         const std::vector<PlacementCpus>& used);

}  // namespace ipcbench
