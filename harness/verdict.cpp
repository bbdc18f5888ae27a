#include "harness/verdict.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <tuple>

#include "harness/case_name.hpp"
#include "harness/stats.hpp"

namespace ipcbench {
namespace {

// One case of a results file, its repetitions gathered.
struct CaseValues {
  std::string name, pattern, mechanism, wait;
  std::string shape;  // "3 consumers", "2 pairs", a placement: only equal shapes compete
  std::uint64_t size = 0, capacity = 0;
  std::vector<double> values;  // the pattern's primary metric, one per repetition
  std::string error;
};

std::uint64_t number_field(const std::string& name, const std::string& key) {
  const std::string text = case_field(name, key);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::stoull(text);
}

const char* metric_of(const std::string& pattern) {
  if (pattern == "pingpong") return "p50_ns";
  if (pattern == "stream" || pattern == "fanout" || pattern == "fanin" || pattern == "compete")
    return "msgs_per_s";
  return nullptr;
}

// The verdict's order of patterns.
int pattern_rank(const std::string& pattern) {
  for (int i = 0; const char* p : {"pingpong", "stream", "fanout", "fanin", "compete"}) {
    if (pattern == p) return i;
    ++i;
  }
  return 5;
}

// What else a case's name says of how it ran, beyond size, capacity and waiting:
// "3 consumers", "2 pairs", "same_l3". Cases of different shapes are not compared.
std::string shape_of(const std::string& name) {
  std::string shape;
  auto add = [&](const std::string& part) { shape += (shape.empty() ? "" : ", ") + part; };
  for (const std::string key : {"consumer", "producer"}) {
    if (const std::string n = case_field(name, key + "s"); !n.empty())
      add(n + " " + key + (n == "1" ? "" : "s"));
  }
  // A --pairs sweep's one pair is kept apart from its plain twin too: the same case,
  // run with fewer repetitions.
  if (const std::string n = case_field(name, "pairs"); !n.empty())
    add(n + (n == "1" ? " pair" : " pairs"));
  if (const std::string where = case_field(name, "placement"); !where.empty()) add(where);
  return shape;
}

// Every iteration entry with an ipcbench case name, by name, in file order.
std::vector<CaseValues> gather(const nlohmann::json& benchmarks) {
  std::vector<CaseValues> cases;
  std::map<std::string, std::size_t> index;
  if (!benchmarks.is_array()) return cases;
  for (const nlohmann::json& b : benchmarks) {
    if (!b.is_object() || !b.contains("name") || !b["name"].is_string()) continue;
    if (b.contains("run_type") && b["run_type"] != "iteration") continue;
    const std::string name = b.value("run_name", b["name"].get<std::string>());
    const std::size_t slash = name.find('/');
    const std::string wait = case_field(name, "wait");
    if (slash == std::string::npos || wait.empty()) continue;
    auto [it, fresh] = index.try_emplace(name, cases.size());
    if (fresh) {
      CaseValues c;
      c.name = name;
      c.pattern = name.substr(0, slash);
      c.mechanism = name.substr(slash + 1, name.find('/', slash + 1) - slash - 1);
      c.wait = wait;
      c.size = number_field(name, "size");
      // "max" (as much as the machine allows) sorts above every count, apart from 0.
      c.capacity =
          case_field(name, "capacity") == "max" ? UINT64_MAX : number_field(name, "capacity");
      c.shape = shape_of(name);
      cases.push_back(std::move(c));
    }
    CaseValues& c = cases[it->second];
    if (b.value("error_occurred", false)) {
      if (c.error.empty()) c.error = b.value("error_message", "failed");
      continue;
    }
    const char* metric = metric_of(c.pattern);
    if (metric != nullptr && b.contains(metric) && b[metric].is_number()) {
      const double v = b[metric].get<double>();
      if (std::isfinite(v) && v > 0) c.values.push_back(v);
    }
  }
  return cases;
}

// Per pattern, the capacity most cases have; ties to the smaller, but never to 0 while
// a buffered capacity ties with it: a rendezvous is a regime of its own, not the
// usual one.
std::map<std::string, std::uint64_t> main_capacities(const std::vector<CaseValues>& cases) {
  std::map<std::string, std::map<std::uint64_t, int>> counts;
  for (const CaseValues& c : cases) ++counts[c.pattern][c.capacity];
  std::map<std::string, std::uint64_t> out;
  for (const auto& [pattern, by_capacity] : counts) {
    int most = -1;
    for (const auto& [capacity, n] : by_capacity) {
      if (n > most || (n == most && out[pattern] == 0)) {
        most = n;
        out[pattern] = capacity;
      }
    }
  }
  return out;
}

double mad(const std::vector<double>& v) {
  const double m = median(v);
  std::vector<double> dev;
  for (double x : v) dev.push_back(std::fabs(x - m));
  return median(dev);
}

struct Candidate {
  const CaseValues* c = nullptr;
  double value = 0, spread = 0;
};

// Whether a is better than b: its figure, then (a tie) the mechanism's name.
bool better(const Candidate& a, const Candidate& b, bool lower) {
  if (a.value != b.value) return lower ? a.value < b.value : a.value > b.value;
  return a.c->mechanism < b.c->mechanism;
}

nlohmann::json verdict_entry(const std::string& pattern, std::uint64_t size,
                             const std::string& shape, const std::string& waiting,
                             std::vector<Candidate> ranked) {
  const bool lower = pattern == "pingpong";
  std::sort(ranked.begin(), ranked.end(),
            [&](const Candidate& a, const Candidate& b) { return better(a, b, lower); });
  const Candidate& best = ranked[0];
  nlohmann::json v = {{"pattern", pattern},
                      {"size", size},
                      {"shape", shape},
                      {"waiting", waiting},
                      {"metric", metric_of(pattern)},
                      {"unit", lower ? "ns" : "msgs/s"},
                      {"better", lower ? "lower" : "higher"},
                      {"best", best.c->mechanism},
                      {"best_case", best.c->name},
                      {"value", best.value},
                      {"spread", best.spread},
                      {"runner_up", nullptr},
                      {"runner_up_value", nullptr},
                      {"ratio", nullptr},
                      {"ratio_spread", nullptr},
                      {"repetitions", best.c->values.size()},
                      {"candidates", ranked.size()}};
  if (ranked.size() < 2) return v;
  const Candidate& second = ranked[1];
  const double ratio = lower ? second.value / best.value : best.value / second.value;
  v["runner_up"] = second.c->mechanism;
  v["runner_up_value"] = second.value;
  v["ratio"] = ratio;
  if (best.c->values.size() >= 2 && second.c->values.size() >= 2) {
    v["ratio_spread"] = ratio * std::hypot(best.spread / best.value, second.spread / second.value);
  }
  return v;
}

}  // namespace

std::string waiting_of(const std::string& wait_mode) {
  if (wait_mode == "spin" || wait_mode == "spin_yield" || wait_mode == "adaptive" ||
      wait_mode == "sqpoll")
    return "polling";
  if (wait_mode == "block" || wait_mode == "eventfd" || wait_mode == "sem") return "sleeping";
  return "";
}

VerdictReport compute_verdicts(const nlohmann::json& benchmarks) {
  VerdictReport report;
  const std::vector<CaseValues> cases = gather(benchmarks);
  const std::map<std::string, std::uint64_t> capacity = main_capacities(cases);
  // (pattern rank, size, shape, waiting) -> mechanism -> its best case.
  using Key = std::tuple<int, std::uint64_t, std::string, std::string>;
  std::map<Key, std::map<std::string, Candidate>> groups;
  for (const CaseValues& c : cases) {
    if (!c.error.empty()) {
      if (c.error.starts_with("not runnable") || c.error.starts_with("beyond saturation")) {
        report.not_runnable[c.error].push_back(c.name);
      } else if (c.error != "interrupted") {
        report.failed[c.name] = c.error;
      }
      continue;
    }
    const std::string waiting = waiting_of(c.wait);
    if (metric_of(c.pattern) == nullptr || waiting.empty() || c.values.empty() ||
        c.capacity != capacity.at(c.pattern)) {
      continue;
    }
    const Candidate cand{&c, median(c.values), mad(c.values)};
    auto& slot = groups[{pattern_rank(c.pattern), c.size, c.shape, waiting}];
    auto [it, fresh] = slot.try_emplace(c.mechanism, cand);
    if (!fresh && better(cand, it->second, c.pattern == "pingpong")) it->second = cand;
  }
  for (const auto& [key, by_mechanism] : groups) {
    std::vector<Candidate> ranked;
    for (const auto& [mechanism, cand] : by_mechanism) ranked.push_back(cand);
    const std::string& pattern = ranked.front().c->pattern;
    report.verdicts.push_back(
        verdict_entry(pattern, std::get<1>(key), std::get<2>(key), std::get<3>(key), ranked));
  }
  return report;
}

std::string format_metric(double value, const std::string& unit) {
  if (!std::isfinite(value)) return "-";
  char buf[48];
  if (unit == "ns") {
    const char* units[] = {"ns", "µs", "ms", "s"};
    int i = 0;
    while (std::fabs(value) >= 999.5 && i < 3) {
      value /= 1000;
      ++i;
    }
    std::snprintf(buf, sizeof buf, "%.3g %s", value, units[i]);
    return buf;
  }
  const char* prefix[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (std::fabs(value) >= 999.5 && i < 4) {
    value /= 1000;
    ++i;
  }
  // "1.23 M msgs/s" but "1.23 MB"
  const char* gap = unit == "msgs/s" && i > 0 ? " " : "";
  std::snprintf(buf, sizeof buf, "%.3g %s%s%s", value, prefix[i], gap, unit.c_str());
  return buf;
}

namespace {

std::string format_size(std::uint64_t b) {
  if (b >= (1u << 20) && b % (1u << 20) == 0) return std::to_string(b >> 20) + " MiB";
  if (b >= 1024 && b % 1024 == 0) return std::to_string(b >> 10) + " KiB";
  return std::to_string(b) + " B";
}

std::string format_ratio(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, r < 10 ? "%.2f" : "%.1f", r);
  return buf;
}

// "pingpong 64 B, polling:  shm_ring  p50 180 ns ± 3 ns" and the runner-up line.
void format_entry(std::ostringstream& out, const nlohmann::json& v) {
  const std::string unit = v["unit"];
  const std::string shape = v.value("shape", "");
  const std::string head =
      v["pattern"].get<std::string>() + " " + format_size(v["size"].get<std::uint64_t>()) + ", " +
      (shape.empty() ? "" : shape + ", ") + v["waiting"].get<std::string>() + ":";
  const std::string metric = v["pattern"] == "pingpong" ? "p50 " : "";
  constexpr int kHead = 27;
  out << head << std::string(head.size() < kHead ? kHead - head.size() : 1, ' ')
      << v["best"].get<std::string>() << "  " << metric
      << format_metric(v["value"].get<double>(), unit) << " ± "
      << format_metric(v["spread"].get<double>(), unit);
  if (v["repetitions"].get<int>() < 2) out << " (1 repetition)";
  out << "\n" << std::string(kHead, ' ');
  if (v["ratio"].is_null()) {
    out << "no runner-up (the only mechanism that ran)\n";
    return;
  }
  out << format_ratio(v["ratio"].get<double>());
  if (!v["ratio_spread"].is_null()) out << " ± " << format_ratio(v["ratio_spread"].get<double>());
  out << " times faster than " << v["runner_up"].get<std::string>() << " ("
      << format_metric(v["runner_up_value"].get<double>(), unit) << ")\n";
}

}  // namespace

namespace {

struct ReasonGroup {
  std::string example;  // the first reason, as the case gave it
  std::size_t variants = 0;
  std::vector<std::string> names;
};

// Reasons that differ only in their numbers (the size or capacity that did not fit)
// share a line: one line per kind of reason, not per case.
std::map<std::string, ReasonGroup> reason_groups(
    const std::map<std::string, std::vector<std::string>>& reasons) {
  std::map<std::string, ReasonGroup> groups;
  for (const auto& [reason, names] : reasons) {
    std::string key;
    for (char c : reason) {
      const bool digit = c >= '0' && c <= '9';
      if (!digit || key.empty() || key.back() != '#') key += digit ? '#' : c;
    }
    ReasonGroup& g = groups[key];
    if (g.variants++ == 0) g.example = reason;
    g.names.insert(g.names.end(), names.begin(), names.end());
  }
  return groups;
}

}  // namespace

std::string format_verdicts(const VerdictReport& report) {
  std::ostringstream out;
  for (const nlohmann::json& v : report.verdicts) format_entry(out, v);
  if (report.verdicts.empty())
    out << "no verdict: no pingpong, stream, fanout, fanin or compete case ran (rate cases are not "
           "ranked)\n";
  for (const auto& [key, group] : reason_groups(report.not_runnable)) {
    std::set<std::string> mechanisms;
    for (const std::string& n : group.names) {
      const std::size_t from = n.find('/') + 1;
      mechanisms.insert(n.substr(from, n.find('/', from) - from));
    }
    std::string which;
    for (const std::string& m : mechanisms) which += (which.empty() ? "" : ", ") + m;
    out << group.names.size() << (group.names.size() == 1 ? " case " : " cases ") << group.example
        << (group.variants > 1 ? " (and the same at other sizes or capacities)" : "") << " ("
        << which << ")\n";
  }
  for (const auto& [name, error] : report.failed) out << "FAILED " << name << ": " << error << "\n";
  return out.str();
}

}  // namespace ipcbench
