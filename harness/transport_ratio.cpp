#include "harness/transport_ratio.hpp"

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "harness/report.hpp"
#include "harness/stats.hpp"

namespace ipcbench {
namespace {

// The figure x_transport divides, and whether lower is better for it.
struct Metric {
  const char* key = nullptr;
  bool lower_is_better = true;
};

Metric metric_of(const std::string& case_name) {
  if (case_name.rfind("pingpong/", 0) == 0) return {"p50_ns", true};
  // A fan-out against its transport's (often by copies: what broadcasting saves over
  // sending each consumer its own), a fan-in against its transport's.
  for (const char* p : {"stream/", "fanout/", "fanin/"}) {
    if (case_name.rfind(p, 0) == 0) return {"bytes_per_s", false};
  }
  return {};
}

bool is_good_repetition(const nlohmann::json& row) {
  return row.value("run_type", "") == "iteration" && !row.value("error_occurred", false);
}

double figure(const nlohmann::json& row, const char* key) {
  const auto it = row.find(key);
  return it != row.end() && it->is_number() ? it->get<double>() : NAN;
}

// "pingpong/zmq_ipc/size:64/..." -> the mechanism, "zmq_ipc"; "" for another name.
std::string mechanism_of(const std::string& case_name) {
  const std::size_t from = case_name.find('/');
  if (from == std::string::npos) return "";
  const std::size_t to = case_name.find('/', from + 1);
  return to == std::string::npos ? "" : case_name.substr(from + 1, to - from - 1);
}

// The same case run by another mechanism.
std::string with_mechanism(const std::string& case_name, const std::string& mechanism) {
  const std::size_t from = case_name.find('/');
  const std::size_t to = case_name.find('/', from + 1);
  return case_name.substr(0, from + 1) + mechanism + case_name.substr(to);
}

// Each case's repetitions' figures, by case name; a case with a failed repetition is
// left out: its figures would be of a case that did not complete.
std::map<std::string, std::vector<double>> figures_by_case(const nlohmann::json& rows) {
  std::map<std::string, std::vector<double>> by_case;
  std::map<std::string, bool> failed;
  for (const nlohmann::json& row : rows) {
    const std::string name = row.value("run_name", "");
    const Metric m = metric_of(name);
    if (m.key == nullptr || row.value("run_type", "") != "iteration") continue;
    if (row.value("error_occurred", false)) failed[name] = true;
    const double v = figure(row, m.key);
    if (std::isfinite(v) && v > 0) by_case[name].push_back(v);
  }
  for (const auto& [name, f] : failed) by_case.erase(name);
  return by_case;
}

// The transport's median for each case of a mechanism with a transport, by case name.
std::map<std::string, double> transport_medians(
    const nlohmann::json& context, const std::map<std::string, std::vector<double>>& by_case) {
  std::map<std::string, double> medians;
  const nlohmann::json facts = context.value("mechanisms", nlohmann::json::object());
  for (const auto& [name, values] : by_case) {
    const std::string mechanism = mechanism_of(name);
    if (!facts.contains(mechanism) || !facts[mechanism].is_object()) continue;
    const std::string transport = facts[mechanism].value("transport", "");
    if (transport.empty()) continue;
    const auto of_transport = by_case.find(with_mechanism(name, transport));
    if (of_transport != by_case.end()) medians[name] = median(of_transport->second);
  }
  return medians;
}

}  // namespace

void derive_transport_ratios(nlohmann::json& doc) {
  if (!doc.contains("benchmarks") || !doc["benchmarks"].is_array()) return;
  nlohmann::json& rows = doc["benchmarks"];
  const std::map<std::string, double> over =
      transport_medians(doc.value("context", nlohmann::json::object()), figures_by_case(rows));
  std::map<std::string, std::vector<double>> ratios;
  for (nlohmann::json& row : rows) {
    const std::string name = row.value("run_name", "");
    const auto t = over.find(name);  // found: a pingpong or stream case
    if (t == over.end() || !is_good_repetition(row)) continue;
    const Metric m = metric_of(name);
    const double v = figure(row, m.key);
    if (!(v > 0)) continue;
    const double x = m.lower_is_better ? v / t->second : t->second / v;
    row["x_transport"] = x;
    ratios[name].push_back(x);
  }
  for (nlohmann::json& row : rows) {
    const auto r = ratios.find(row.value("run_name", ""));
    if (row.value("run_type", "") != "aggregate" || r == ratios.end()) continue;
    const double a = gb_aggregate(row.value("aggregate_name", ""), r->second);
    if (!std::isnan(a)) row["x_transport"] = a;
  }
}

}  // namespace ipcbench
