#include "bench/placements.hpp"

#include <algorithm>
#include <map>

#include "harness/case_name.hpp"
#include "harness/topology.hpp"

namespace ipcbench {

std::vector<PlacementCpus> placements_used(const RunPlan& plan) {
  if (plan.placements.empty()) {
    const auto p = classify(read_topology(), plan.cpus);
    return {{.key = "", .name = p ? std::string(to_string(*p)) : "unknown", .cpus = plan.cpus}};
  }
  std::vector<PlacementCpus> used;
  for (const PlacementPlan& p : plan.placements) {
    if (!p.not_offered.empty()) continue;
    const std::string name(to_string(p.placement));
    used.push_back({.key = name, .name = name, .cpus = p.cpus});
  }
  // The run's own CPUs first: their floors are the context's own floor_* keys.
  std::stable_partition(used.begin(), used.end(),
                        [&](const PlacementCpus& p) { return p.cpus == plan.cpus; });
  return used;
}

FloorsByPlacement measure_placement_floors(const std::vector<PlacementCpus>& used,
                                           const std::vector<std::size_t>& sizes, double clock_ns) {
  FloorsByPlacement floors;
  for (const PlacementCpus& p : used) {
    Floors f = measure_floors(p.cpus, sizes, clock_ns);
    if (used.size() > 1) {
      for (std::string& e : f.errors) e = p.name + ": " + e;
    }
    floors.emplace(p.key, std::move(f));
  }
  return floors;
}

const PlacementCpus& placement_of(const std::vector<PlacementCpus>& used,
                                  const std::string& case_name) {
  const std::string key = case_field(case_name, "placement");
  for (const PlacementCpus& p : used) {
    if (p.key == key) return p;
  }
  return used.front();  // not reached: a case of a placement not offered never runs
}

void placements_to_context(const FloorsByPlacement& floors, const std::vector<PlacementCpus>& used,
                           const RunPlan& plan, nlohmann::json& env) {
  nlohmann::json& all = env["placements"];
  if (!all.is_object()) all = nlohmann::json::object();
  for (const PlacementCpus& p : used) {
    nlohmann::json& entry = all[p.name];
    entry["cpus"] = {p.cpus[0], p.cpus[1]};
    add_floors_to_context(floors.at(p.key), entry);
  }
  for (const PlacementPlan& p : plan.placements) {
    if (p.not_offered.empty()) continue;
    all[std::string(to_string(p.placement))] = {{"cpus", nullptr}, {"not_offered", p.not_offered}};
  }
  if (!used.empty()) add_floors_to_context(floors.at(used.front().key), env);
}

void recheck_placement_floors(FloorsByPlacement& floors, const std::vector<PlacementCpus>& used,
                              const RunPlan& plan, bool (*stop)() noexcept, nlohmann::json& env) {
  constexpr const char* kAfterKeys[] = {"floor_cacheline_rtt_ns_after", "floor_wake_rtt_ns_after",
                                        "floor_drift", "placement_drift"};
  for (std::size_t i = 0; i < used.size(); ++i) {
    const PlacementCpus& p = used[i];
    nlohmann::json own = {{"warnings", nlohmann::json::array()}};
    recheck_floors(floors.at(p.key), p.cpus, stop, own);
    nlohmann::json& entry = env["placements"][p.name];
    for (const char* key : kAfterKeys) {
      if (!own.contains(key)) continue;
      entry[key] = own[key];
      if (i == 0) env[key] = own[key];  // the context's own keys: the first placement's
    }
    for (const auto& w : own["warnings"]) {
      env["warnings"].push_back((used.size() > 1 ? p.name + ": " : "") + w.get<std::string>());
    }
  }
  placements_to_context(floors, used, plan, env);
}

void annotate_placements(nlohmann::json& doc, const std::vector<Case>& cases,
                         const std::vector<PlacementCpus>& used) {
  if (!doc.contains("benchmarks") || !doc["benchmarks"].is_array()) return;
  std::map<std::string, nlohmann::json> cpus_of, name_of;
  for (const Case& c : cases) {
    const bool offered = c.not_offered.empty();
    name_of[c.name] = c.placement.empty() ? placement_of(used, c.name).name : c.placement;
    cpus_of[c.name] = offered ? nlohmann::json{c.spec.cpus[0], c.spec.cpus[1]} : nlohmann::json();
  }
  for (nlohmann::json& row : doc["benchmarks"]) {
    const std::string name = row.value("run_name", row.value("name", ""));
    const auto it = name_of.find(name);
    if (it == name_of.end()) continue;
    row["placement"] = it->second;
    row["cpus"] = cpus_of[name];
  }
}

}  // namespace ipcbench
