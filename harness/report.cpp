#include "harness/report.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <sstream>
#include <utility>

#include "harness/case_name.hpp"
#include "harness/channel.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/floor.hpp"
#include "harness/stats.hpp"
#include "harness/topology.hpp"
#include "harness/verdict.hpp"

namespace ipcbench {
namespace {

TerminalReporter* g_running = nullptr;  // the reporter of the run in progress

std::string format_eta(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d:%02d", s / 60, s % 60);
  return buf;
}

}  // namespace

std::string format_ns(double ns) {
  if (!std::isfinite(ns)) return "-";
  char buf[32];
  if (ns < 1e3)
    std::snprintf(buf, sizeof buf, "%.0f ns", ns);
  else if (ns < 1e6)
    std::snprintf(buf, sizeof buf, "%.3g us", ns / 1e3);
  else if (ns < 1e9)
    std::snprintf(buf, sizeof buf, "%.3g ms", ns / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.3g s", ns / 1e9);
  return buf;
}

std::string format_rate(double per_s, const char* unit) {
  if (!std::isfinite(per_s)) return "-";
  const char* prefix[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (per_s >= 999.5 && i < 4) {  // 999.97 shows as "1 k", not "1e+03"
    per_s /= 1000;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g %s%s", per_s, prefix[i], unit);
  return buf;
}

void strip_run_name(benchmark::BenchmarkReporter::Run& run) {
  run.run_name.repetitions.clear();
  run.run_name.iterations.clear();
  run.run_name.time_type.clear();
}

void CaseJsonReporter::ReportRuns(const std::vector<Run>& runs) {
  std::vector<Run> renamed = runs;
  for (Run& r : renamed) strip_run_name(r);
  JSONReporter::ReportRuns(renamed);
}

TerminalReporter::TerminalReporter(std::size_t total_cases, nlohmann::json env,
                                   std::vector<std::string> warnings,
                                   std::map<std::string, double> expected_s, bool quiet)
    : total_(total_cases),
      expected_s_(std::move(expected_s)),
      quiet_(quiet),
      live_(::isatty(STDERR_FILENO) == 1),
      start_ns_(now_ns()),
      env_(std::move(env)),
      warnings_(std::move(warnings)) {
  for (const auto& [name, s] : expected_s_) expected_total_s_ += s;
  // Cases the map lacks count as average ones.
  if (!expected_s_.empty() && total_ > expected_s_.size()) {
    expected_total_s_ += expected_total_s_ / static_cast<double>(expected_s_.size()) *
                         static_cast<double>(total_ - expected_s_.size());
  }
}

TerminalReporter::~TerminalReporter() {
  if (g_running == this) g_running = nullptr;
}

void note_case_started(const std::string& case_name) {
  if (g_running != nullptr) g_running->case_started(case_name);
}

// Each placement of the run, its CPUs and its own round-trip floors (the line above
// gave the first one's); nothing for a run on one placement.
void TerminalReporter::print_placements(std::ostream& out) const {
  const auto all = env_.find("placements");
  if (all == env_.end() || !all->is_object() || all->size() < 2) return;
  const auto ns = [](const nlohmann::json& v) {
    return v.is_number() ? format_ns(v.get<double>()) : std::string("-");
  };
  for (Placement placement : kPlacements) {  // nearest first
    const std::string name(to_string(placement));
    if (!all->contains(name)) continue;
    const nlohmann::json& p = (*all)[name];
    out << "placement " << name;
    if (!p.value("cpus", nlohmann::json()).is_array()) {
      out << ": not offered (" << p.value("not_offered", "") << ")\n";
      continue;
    }
    out << " (CPUs " << p["cpus"][0] << "," << p["cpus"][1] << "): cache-line round trip "
        << ns(p.value("floor_cacheline_rtt_ns", nlohmann::json())) << ", wake-up round trip "
        << ns(p.value("floor_wake_rtt_ns", nlohmann::json())) << "\n";
  }
}

void TerminalReporter::print_header(const Context& context, std::ostream& out) const {
  out << "ipcbench " << env_.value("ipcbench_version", "") << " (" << env_.value("git_commit", "")
      << ", " << env_.value("build_type", "") << ") on " << env_.value("cpu_model", "") << ", "
      << context.cpu_info.num_cpus << " CPUs, " << env_.value("kernel", "") << "\n";
  out << "pinning: side a on CPU " << env_["cpu_pinning"][0] << ", side b on CPU "
      << env_["cpu_pinning"][1] << "; timer " << std::fixed << std::setprecision(1)
      << env_.value("timer_ns", 0.0) << " ns/read; verification " << env_.value("verification", "")
      << " (" << std::setprecision(3) << env_.value("checksum_ns_per_kib", 0.0) << " ns/KiB)\n"
      << std::defaultfloat;
  if (env_.contains("shm_backing")) {
    out << "shared memory: " << env_.value("shm_backing", "") << ", "
        << env_.value("shm_backing_detail", "") << "\n";
  }
  if (env_.contains("floor_wake_rtt_ns")) {
    const auto& cl = env_["floor_cacheline_rtt_ns"];
    out << "floor: cache-line round trip "
        << (cl.is_number() ? format_ns(cl.get<double>())
                           : std::string("not measured (one CPU, or a warning says why)"));
    const auto pair = env_.value("floor_cacheline_pair_rtt_ns", nlohmann::json());
    if (pair.is_number()) out << " (one line each way " << format_ns(pair.get<double>()) << ")";
    const auto& wake = env_["floor_wake_rtt_ns"];
    out << ", wake-up round trip "
        << (wake.is_number() ? format_ns(wake.get<double>()) : std::string("not measured"))
        << ", syscall " << format_ns(env_.value("floor_syscall_ns", 0.0)) << "\n";
  }
  print_placements(out);
  out << total_ << " cases\n";
}

bool TerminalReporter::ReportContext(const Context& context) {
  // Until now GB's error stream was held back (run_cases), so that a filter matching
  // nothing stays one line; from here on everything goes to stderr as it happens.
  SetErrorStream(&std::cerr);
  g_running = this;
  if (!quiet_) print_header(context, std::cerr);
  for (const std::string& w : warnings_) std::cerr << "warning: " << w << "\n";
  std::cerr.flush();
  return true;
}

double TerminalReporter::eta_s() const {
  const double elapsed = static_cast<double>(now_ns() - start_ns_) * 1e-9;
  if (expected_total_s_ > 0 && expected_done_s_ > 0) {
    return elapsed / expected_done_s_ * std::max(0.0, expected_total_s_ - expected_done_s_);
  }
  if (done_ == 0) return expected_total_s_;
  return elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_);
}

// On a terminal: the status line replaced by `text` (no newline). Elsewhere nothing:
// the plain lines of finished cases are the progress.
void TerminalReporter::status(const std::string& text) {
  if (quiet_ || !live_) return;
  std::cerr << "\r\033[K" << text << std::flush;
  status_shown_ = !text.empty();
}

void TerminalReporter::case_started(const std::string& case_name) {
  if (case_name == current_) return;  // its next repetition
  current_ = case_name;
  status("[" + std::to_string(done_ + 1) + "/" + std::to_string(total_) + "] ETA " +
         format_eta(eta_s()) + "  " + case_name);
}

void TerminalReporter::add_runs(const std::vector<Run>& runs) {
  // GB passes a case's repetitions, then its aggregates; with
  // --benchmark_display_aggregates_only it passes only the aggregates, and then the
  // median stands in for the repetitions.
  const bool aggregates = runs.front().run_type == Run::RT_Aggregate;
  for (Run r : runs) {
    strip_run_name(r);
    if (aggregates && r.aggregate_name != "median") continue;
    CaseRow& row = rows_[r.run_name.str()];
    row.name = r.run_name.str();
    if (r.error_occurred) {
      row.error = r.error_message;
      continue;
    }
    auto counter = [&](const char* key) {
      auto c = r.counters.find(key);
      return c == r.counters.end() ? NAN : c->second.value;
    };
    row.p50_ns.push_back(counter("p50_ns"));
    row.msgs_per_s.push_back(counter("msgs_per_s"));
  }
}

void TerminalReporter::ReportRuns(const std::vector<Run>& runs) {
  if (runs.empty()) return;
  Run first = runs.front();
  strip_run_name(first);
  const std::string case_name = first.run_name.str();
  if (first.run_type == Run::RT_Aggregate && rows_.count(case_name) != 0) return;  // seen
  add_runs(runs);
  ++done_;
  const auto it = expected_s_.find(case_name);
  expected_done_s_ +=
      it != expected_s_.end()
          ? it->second
          : expected_total_s_ / static_cast<double>(std::max<std::size_t>(total_, 1));
  const CaseRow& row = rows_[case_name];
  // Neither a case this machine cannot run nor a rate past its series's saturation
  // point is a failure: both say why they did not run.
  const bool failed = !row.error.empty() && !row.error.starts_with("not runnable") &&
                      !row.error.starts_with("beyond saturation") && row.error != "interrupted";
  if (failed) ++failed_;
  // After Ctrl-C every remaining case reports "interrupted": say it once.
  if (row.error == "interrupted" && std::exchange(said_interrupted_, true)) return;
  if (quiet_ && !failed && row.error != "interrupted") return;
  std::ostringstream line;
  line << "[" << std::setw(static_cast<int>(std::to_string(total_).size())) << done_ << "/"
       << total_ << "] " << std::left << std::setw(52) << row.name << std::right << " ";
  if (!row.error.empty()) {
    line << (failed ? "FAILED: " : "") << row.error;
  } else {
    line << "p50 " << std::setw(9) << format_ns(median(row.p50_ns)) << "  " << std::setw(10)
         << format_rate(median(row.msgs_per_s), "msg/s");
  }
  line << "   ETA " << format_eta(eta_s());
  // On a terminal a finished case leaves a line only when something went wrong; the
  // status line shows the rest.
  if (live_ && !quiet_ && row.error.empty()) {
    status(line.str());
    return;
  }
  if (status_shown_) status("");
  std::cerr << line.str() << std::endl;
}

void TerminalReporter::Finalize() {
  if (status_shown_) status("");
  std::cerr.flush();
  if (g_running == this) g_running = nullptr;
}

std::string strict_json_numbers(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size())
        out += text[++i];
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    const std::size_t sign = c == '-' ? 1 : 0;
    // GB 1.7 writes NaN and Infinity (a repetition of 0 messages has an infinite time
    // per message); "Inf" too, for other versions.
    const std::string_view rest = text.substr(i + sign);
    const std::size_t word = rest.starts_with("Infinity")                         ? 8
                             : rest.starts_with("NaN") || rest.starts_with("Inf") ? 3
                                                                                  : 0;
    if (word > 0) {
      out += "null";
      i += sign + word - 1;
      continue;
    }
    out += c;
  }
  return out;
}

nlohmann::json finish_json(const std::string& gb_path, const std::string& out_path,
                           const nlohmann::json& env,
                           const std::function<void(nlohmann::json&)>& amend) {
  std::ifstream in(gb_path);
  if (!in) throw SysError("open", gb_path);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(strict_json_numbers(text));
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error("Google Benchmark's JSON in " + gb_path +
                             " does not parse: " + e.what());
  }
  if (!doc.contains("context"))
    throw std::runtime_error("Google Benchmark's JSON in " + gb_path + " has no context");
  for (const auto& [key, value] : env.items()) doc["context"][key] = value;
  if (amend) amend(doc);
  doc["context"]["verdicts"] =
      compute_verdicts(doc.value("benchmarks", nlohmann::json::array())).verdicts;
  const std::string tmp = out_path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream o(tmp, std::ios::trunc);
    if (!o) throw SysError("open", tmp);
    o << doc.dump(2) << "\n";
    o.flush();
    if (!o) {
      ::unlink(tmp.c_str());
      throw SysError("write", tmp);
    }
  }
  if (::rename(tmp.c_str(), out_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw SysError("rename", out_path, err);
  }
  return doc.value("benchmarks", nlohmann::json::array());
}

// The finish_json post-pass: a results file's floor ratios from the floors in its
// context. Separate from the terminal's code: the counters computed during the run used
// the floors known at the time.
namespace {

const char* const kFloorRatios[] = {"x_floor", "x_floor_pair", "x_floor_bw"};

bool polling_case(const std::string& name) {
  const auto wait = parse_wait_mode(case_field(name, "wait"));
  return wait && polls(*wait);
}

bool is_repetition(const nlohmann::json& row) {
  return row.value("run_type", "") == "iteration" && !row.value("error_occurred", false);
}

double number(const nlohmann::json& row, const char* key) {
  const auto it = row.find(key);
  return it != row.end() && it->is_number() ? it->get<double>() : 0.0;
}

void set_ratio(nlohmann::json& row, const char* key, double value, double floor) {
  if (value > 0 && floor > 0) {
    row[key] = value / floor;
  } else {
    row.erase(key);
  }
}

// One repetition's ratios, as bench/counters.cpp computes them, from its own figures.
void rederive_repetition(nlohmann::json& row, const Floors& floors) {
  const std::string name = row.value("run_name", row.value("name", ""));
  const std::string size_text = case_field(name, "size");
  if (size_text.empty()) return;
  const std::size_t bytes = std::stoull(size_text);
  if (name.rfind("pingpong/", 0) == 0) {
    if (!row.contains("x_floor") && !row.contains("p50_ns")) return;
    const bool polling = polling_case(name);
    const double batched = number(row, "p50_batched_ns");
    const double rtt_ns = 2 * (polling && batched > 0 ? batched : number(row, "p50_ns"));
    set_ratio(row, "x_floor", rtt_ns, pingpong_floor_rtt_ns(floors, polling, bytes));
    if (polling) set_ratio(row, "x_floor_pair", rtt_ns, pingpong_pair_floor_rtt_ns(floors, bytes));
  } else if (name.rfind("stream/", 0) == 0) {
    const auto bw = floors.memcpy_bytes_per_s.find(bytes);
    set_ratio(row, "x_floor_bw", bw != floors.memcpy_bytes_per_s.end() ? bw->second : 0,
              number(row, "bytes_per_s"));
  }
}

}  // namespace

double gb_aggregate(const std::string& what, std::vector<double> v) {
  const double n = static_cast<double>(v.size());
  double mean = 0, squares = 0;
  for (double x : v) mean += x / n;
  for (double x : v) squares += (x - mean) * (x - mean);
  const double stddev = v.size() > 1 ? std::sqrt(squares / (n - 1)) : 0;
  if (what == "mean") return mean;
  if (what == "stddev") return stddev;
  if (what == "cv") return mean != 0 ? stddev / mean : 0;
  if (what != "median") return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

void rederive_floor_ratios(nlohmann::json& doc) {
  if (!doc.contains("benchmarks") || !doc["benchmarks"].is_array()) return;
  const Floors floors = floors_from_context(doc["context"]);
  // A case of a --placement sweep is read against its own placement's floors.
  std::map<std::string, Floors> by_placement;
  if (const auto p = doc["context"].find("placements");
      p != doc["context"].end() && p->is_object()) {
    for (const auto& [name, entry] : p->items()) by_placement[name] = floors_from_context(entry);
  }
  // The ratios of each case's repetitions, by case and ratio, for its aggregates.
  std::map<std::string, std::map<std::string, std::vector<double>>> values;
  for (nlohmann::json& row : doc["benchmarks"]) {
    if (!is_repetition(row)) continue;
    const auto own = by_placement.find(case_field(row.value("run_name", ""), "placement"));
    rederive_repetition(row, own != by_placement.end() ? own->second : floors);
    for (const char* key : kFloorRatios)
      if (row.contains(key)) values[row.value("run_name", "")][key].push_back(number(row, key));
  }
  for (nlohmann::json& row : doc["benchmarks"]) {
    if (row.value("run_type", "") != "aggregate") continue;
    const auto& of_case = values[row.value("run_name", "")];
    for (const char* key : kFloorRatios) {
      const auto v = of_case.find(key);
      if (v == of_case.end() || v->second.empty()) {
        row.erase(key);
      } else if (const double a = gb_aggregate(row.value("aggregate_name", ""), v->second);
                 !std::isnan(a)) {
        row[key] = a;
      }
    }
  }
}

std::vector<std::string> polling_under_floor(const nlohmann::json& doc) {
  std::vector<std::string> under;
  if (!doc.contains("benchmarks") || !doc["benchmarks"].is_array()) return under;
  std::map<std::string, double> lowest;  // by case, in name order
  for (const nlohmann::json& row : doc["benchmarks"]) {
    const std::string name = row.value("run_name", "");
    if (!is_repetition(row) || name.rfind("pingpong/", 0) != 0 || !polling_case(name) ||
        !row.contains("x_floor"))
      continue;
    const double x = number(row, "x_floor");
    if (x >= kMinPollingXFloor) continue;
    const auto [it, first] = lowest.emplace(name, x);
    if (!first) it->second = std::min(it->second, x);
  }
  for (const auto& [name, x] : lowest) {
    char text[64];
    std::snprintf(text, sizeof text, ": x_floor %.2f", x);
    under.push_back(name + text);
  }
  return under;
}

void settle_floor_ratios(nlohmann::json& doc, int max_retries,
                         const std::function<bool(nlohmann::json& context)>& measure_again) {
  nlohmann::json& context = doc["context"];
  for (int retry = 0;; ++retry) {
    rederive_floor_ratios(doc);
    const std::vector<std::string> under = polling_under_floor(doc);
    if (under.empty()) return;
    const std::string floor = format_ns(floors_from_context(context).cacheline_rtt_ns);
    const bool again = retry < max_retries;
    for (const std::string& u : under) {
      const std::string warning =
          u + " against a cache-line floor of " + floor + ", under the " +
          std::to_string(kMinPollingXFloor).substr(0, 3) + " a polling case can reach" +
          (again ? ": the floor was read while the CPUs were busy; measuring it again"
                 : ": left as measured");
      std::cerr << "warning: " << warning << "\n";
      context["warnings"].push_back(warning);
    }
    if (!again || !measure_again(context)) return;
  }
}

}  // namespace ipcbench
