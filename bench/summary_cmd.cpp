#include "bench/summary_cmd.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "harness/compare.hpp"
#include "harness/error.hpp"
#include "harness/report.hpp"
#include "harness/stats.hpp"
#include "harness/verdict.hpp"

namespace ipcbench {

const char* const kSummaryHelp = R"(usage: ipcbench summary RESULTS.json [options]

Prints a results file's verdict, as the run printed it: for each pattern,
message size and way of waiting (polling: spin, spin_yield, adaptive, sqpoll;
sleeping: block, eventfd, sem), the fastest mechanism's median and spread
(median absolute deviation) across repetitions, and how many times faster it is
than the runner-up. pingpong is ranked by one-way p50, stream by messages/s;
only the main grid's capacity counts, and rate cases are not ranked. With
--all, every case instead: p50, p99, messages/s, bytes/s, x floor, x transport,
CPU per message.

options:
  --format F           table, markdown, csv or json                  [table]
                       json: {"verdicts": [...]} (with --all, "cases" too)
  --all                every case, not the verdict
  -h, --help           this help

Reads Google Benchmark JSON of at most 64 MiB, checked as compare checks it.

exit status: 0, or 2 for bad input (missing or malformed file, a bad option),
with one line on stderr.

examples:
  ipcbench summary results/2026-01-01T12-00-00.json
  ipcbench summary results/2026-01-01T12-00-00.json --all --format csv
)";

namespace {

enum class Format { table, markdown, csv, json };

struct SummaryArgs {
  std::string file;
  Format format = Format::table;
  bool all = false;
  bool help = false;
};

SummaryArgs parse_summary(cli::Args& args) {
  SummaryArgs s;
  std::vector<std::string> files;
  while (!args.done()) {
    const std::string& raw = args.raw();
    if (raw.starts_with("-") && !raw.starts_with("--") && raw != "-" && raw != "-h") {
      throw UsageError("summary: unknown option " + raw + " (see ipcbench summary --help)");
    }
    if (!raw.starts_with("--") && raw != "-h") {
      if (raw.empty()) throw UsageError("summary: empty file name");
      files.push_back(raw);
      args.skip();
      continue;
    }
    const std::string opt(args.option());
    if (opt == "--help") {
      args.flag();
      s.help = true;
    } else if (opt == "--all") {
      args.flag();
      s.all = true;
    } else if (opt == "--format") {
      const std::string f = args.value();
      static const std::map<std::string, Format> kFormats = {{"table", Format::table},
                                                             {"markdown", Format::markdown},
                                                             {"csv", Format::csv},
                                                             {"json", Format::json}};
      const auto it = kFormats.find(f);
      if (it == kFormats.end()) {
        throw UsageError("--format: unknown format '" + f +
                         "' (known: table, markdown, csv, json)");
      }
      s.format = it->second;
    } else {
      const std::string hint = cli::suggestion(opt, {"--format", "--all", "--help"});
      throw UsageError("summary: unknown option " + opt +
                       (hint.empty() ? " (see ipcbench summary --help)" : hint));
    }
  }
  if (s.help) return s;
  if (files.size() != 1) {
    throw UsageError("summary: expected one results file, RESULTS.json (got " +
                     std::to_string(files.size()) + ")");
  }
  s.file = files[0];
  return s;
}

// A results file, read and checked by compare's reader (size, strict JSON, nesting,
// field types), its messages naming this command.
nlohmann::json load_results(const std::string& path) {
  try {
    return parse_results(read_results_text(path), path);
  } catch (const UsageError& e) {
    std::string what = e.what();
    if (what.starts_with("compare: ")) what.replace(0, 9, "summary: ");
    throw UsageError(what);
  }
}

// One case of the file with its repetitions' medians, for --all.
struct CaseSummary {
  std::string name, error;
  std::map<std::string, std::vector<double>> values;  // counter -> per repetition
  double at(const std::string& key) const {
    const auto it = values.find(key);
    return it == values.end() || it->second.empty() ? NAN : median(it->second);
  }
};

const char* const kCounters[] = {
    "p50_ns",     "p99_ns",      "msgs_per_s",        "bytes_per_s",      "x_floor",
    "x_floor_bw", "x_transport", "cpu_ns_per_msg_tx", "cpu_ns_per_msg_rx"};

std::vector<CaseSummary> gather_cases(const nlohmann::json& benchmarks) {
  std::vector<CaseSummary> cases;
  std::map<std::string, std::size_t> index;
  for (const nlohmann::json& b : benchmarks) {
    if (!b.is_object() || b.value("run_type", "iteration") != "iteration") continue;
    const std::string name = b.value("run_name", b.value("name", std::string()));
    auto [it, fresh] = index.try_emplace(name, cases.size());
    if (fresh) {
      cases.emplace_back();
      cases.back().name = name;
    }
    CaseSummary& c = cases[it->second];
    if (b.value("error_occurred", false)) {
      if (c.error.empty()) c.error = b.value("error_message", "failed");
      continue;
    }
    for (const char* key : kCounters) {
      if (b.contains(key) && b[key].is_number()) c.values[key].push_back(b[key].get<double>());
    }
  }
  return cases;
}

double x_floor(const CaseSummary& c) {
  const double x = c.at("x_floor");
  return std::isfinite(x) ? x : c.at("x_floor_bw");
}

std::string show_x(double x) {
  if (!std::isfinite(x)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, x < 10 ? "%.1fx" : "%.0fx", x);
  return buf;
}

using Table = std::vector<std::vector<std::string>>;  // first row: the header

Table cases_table(const std::vector<CaseSummary>& cases) {
  Table t = {{"case", "p50", "p99", "msgs/s", "bytes/s", "x floor", "x transport", "cpu/msg a",
              "cpu/msg b", "error"}};
  for (const CaseSummary& c : cases) {
    t.push_back({c.name, format_metric(c.at("p50_ns"), "ns"), format_metric(c.at("p99_ns"), "ns"),
                 format_metric(c.at("msgs_per_s"), ""), format_metric(c.at("bytes_per_s"), "B/s"),
                 show_x(x_floor(c)), show_x(c.at("x_transport")),
                 format_metric(c.at("cpu_ns_per_msg_tx"), "ns"),
                 format_metric(c.at("cpu_ns_per_msg_rx"), "ns"), c.error});
  }
  return t;
}

std::string show_number(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v.get<double>());
  return buf;
}

Table verdicts_table(const nlohmann::json& verdicts) {
  const std::vector<std::string> keys = {
      "pattern",     "size",       "waiting",   "metric", "unit",         "best",
      "value",       "spread",     "runner_up", "ratio",  "ratio_spread", "runner_up_value",
      "repetitions", "candidates", "best_case"};
  Table t = {keys};
  for (const nlohmann::json& v : verdicts) {
    std::vector<std::string> row;
    for (const std::string& k : keys) row.push_back(show_number(v[k]));
    t.push_back(row);
  }
  return t;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// Columns on screen: UTF-8 continuation bytes ("µ" is two bytes) take none.
std::size_t display_width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

void print_table(const Table& t, Format f) {
  std::vector<std::size_t> width(t[0].size(), 0);
  for (const auto& row : t) {
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], display_width(row[i]));
  }
  for (std::size_t r = 0; r < t.size(); ++r) {
    std::string line;
    for (std::size_t i = 0; i < t[r].size(); ++i) {
      const std::string& cell = t[r][i];
      if (f == Format::csv) {
        line += (i ? "," : "") + csv_field(cell);
      } else if (f == Format::markdown) {
        line += "| " + cell + " ";
      } else {
        line += cell + std::string(width[i] - display_width(cell) + 2, ' ');
      }
    }
    if (f == Format::markdown) line += "|";
    while (f == Format::table && !line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
    if (f == Format::markdown && r == 0) {
      for (std::size_t i = 0; i < t[r].size(); ++i) std::cout << "|---";
      std::cout << "|\n";
    }
  }
}

nlohmann::json cases_json(const std::vector<CaseSummary>& cases) {
  nlohmann::json out = nlohmann::json::array();
  for (const CaseSummary& c : cases) {
    nlohmann::json j = {{"name", c.name}};
    for (const char* key : kCounters) {
      const double v = c.at(key);
      if (std::isfinite(v)) j[key] = v;
    }
    if (!c.error.empty()) j["error"] = c.error;
    out.push_back(j);
  }
  return out;
}

}  // namespace

int cmd_summary(cli::Args& args) {
  const SummaryArgs s = parse_summary(args);
  if (s.help) {
    std::cout << kSummaryHelp;
    return 0;
  }
  const nlohmann::json doc = load_results(s.file);
  const nlohmann::json& benchmarks = doc["benchmarks"];
  const VerdictReport report = compute_verdicts(benchmarks);
  if (s.format == Format::json) {
    nlohmann::json out = {{"verdicts", report.verdicts}};
    if (s.all) out["cases"] = cases_json(gather_cases(benchmarks));
    std::cout << out.dump(1) << "\n";
  } else if (s.all) {
    print_table(cases_table(gather_cases(benchmarks)), s.format);
  } else if (s.format == Format::table) {
    std::cout << format_verdicts(report);
  } else {
    print_table(verdicts_table(report.verdicts), s.format);
  }
  return 0;
}

}  // namespace ipcbench
