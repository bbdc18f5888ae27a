#include "bench/compare_cmd.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/cli_util.hpp"
#include "harness/compare.hpp"
#include "harness/error.hpp"

namespace ipcbench {

const char* const kCompareHelp = R"(usage: ipcbench compare BASE.json NEW.json [options]

Matches the cases of two result files by name and compares each case's
repetitions, per metric, with a two-sided Mann-Whitney U test. A latency that
rose (or a throughput that fell) by more than the threshold with p < alpha is a
regression. With too few repetitions to ever reach p < alpha (3 against 3 can
reach 0.10 at best; 4 against 4, 0.029) a case is reported as such, never as a
regression.

options:
  --threshold PCT      smallest change that counts, in percent      [5%]
  --alpha A            significance level                            [0.05]
  --metric LIST        p50, p99, throughput (comma-separated)        [all three]
                       or primary: each case's own figure, throughput for
                       stream and p50 for pingpong and rate (for a CI gate)
  --normalize floor    compare each value over its own run's floor: latency
                       over the round-trip floor of its wait mode, throughput
                       over memcpy at its size (runs from different machines)
  --format F           table, markdown or json                       [table]
  --all                list unchanged rows too (default: changes and a summary)
  -h, --help           this help

Reads Google Benchmark JSON of at most 64 MiB; a file that is not (truncated,
NaN or Infinity, a field of the wrong type, a directory, larger) is bad input.
A failed case (error_occurred) is valid and left out of the comparison.

exit status: 0 no regression, 1 a regression, 2 bad input (missing or malformed
file, no case in common, a bad option), with one line on stderr.

examples:
  ipcbench compare baseline.json results/2026-01-01T12-00-00.json
  ipcbench compare a.json b.json --metric primary --format markdown
)";

namespace {

enum class Format { table, markdown, json };

// A plain decimal number, NaN when `text` is anything else: from_chars, not strtod, so
// no hex floats ("0x10"), no leading space, no locale, and an exponent past a double's
// range is an error rather than inf or 0.
double parse_decimal(std::string_view text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return NAN;
  return v;
}

// "5%", "5", "0.5%": a percentage, returned as a share.
double parse_percent(std::string_view text) {
  std::string_view s = text;
  if (!s.empty() && s.back() == '%') s.remove_suffix(1);
  const double v = parse_decimal(s);
  if (!(v >= 0) || v > 1000) {  // NaN fails both
    throw UsageError("--threshold: expected a percentage from 0% to 1000%, such as 5% (got '" +
                     std::string(text) + "')");
  }
  return v / 100.0;
}

std::string show_value(Metric m, double v, bool normalized) {
  char buf[64];
  if (normalized) {
    std::snprintf(buf, sizeof buf, "%.3gx", v);
  } else if (m == Metric::throughput) {
    std::snprintf(buf, sizeof buf, "%.3g GB/s", v / 1e9);
  } else if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.3g ms", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.3g us", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g ns", v);
  }
  return buf;
}

std::string show_change(double c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f%%", 100 * c);
  return buf;
}

std::string show_p(const CompareRow& r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g (%zu/%zu)", r.p, r.n_base, r.n_new);
  return buf;
}

struct CompareArgs {
  std::vector<std::string> files;
  CompareOptions opt;
  bool normalize = false, all = false, help = false;
  Format format = Format::table;
};

// --metric p50,p99 | throughput | primary (alone: one metric per case, its pattern's).
void parse_metrics(std::string_view o, const std::string& value, CompareOptions& opt) {
  opt.metrics.clear();
  opt.primary = false;
  const std::vector<std::string> names = cli::parse_list(o, value);
  for (const std::string& m : names) {
    if (m == "primary" && names.size() == 1)
      opt.primary = true;
    else if (m == "primary")
      throw UsageError("--metric: 'primary' stands alone (it picks one metric per case)");
    else if (m == "p50")
      opt.metrics.push_back(Metric::p50);
    else if (m == "p99")
      opt.metrics.push_back(Metric::p99);
    else if (m == "throughput")
      opt.metrics.push_back(Metric::throughput);
    else
      throw UsageError("--metric: unknown metric '" + m +
                       "' (known: p50, p99, throughput, primary)");
  }
}

Format parse_format(const std::string& v) {
  if (v == "table") return Format::table;
  if (v == "markdown") return Format::markdown;
  if (v == "json") return Format::json;
  throw UsageError("--format: unknown format '" + v + "' (known: table, markdown, json)");
}

// One option (args is on it).
void parse_option(cli::Args& args, CompareArgs& c) {
  const std::string_view o = args.option();
  if (o == "--help") {
    args.flag();
    c.help = true;
  } else if (o == "--threshold") {
    c.opt.threshold = parse_percent(args.value());
  } else if (o == "--alpha") {
    const std::string v = args.value();
    c.opt.alpha = parse_decimal(v);
    if (!(c.opt.alpha > 0 && c.opt.alpha < 1)) {
      throw UsageError("--alpha: expected a number between 0 and 1 (got '" + v + "')");
    }
  } else if (o == "--metric") {
    parse_metrics(o, args.value(), c.opt);
  } else if (o == "--normalize") {
    const std::string v = args.value();
    if (v != "floor") throw UsageError("--normalize: only 'floor' is known (got '" + v + "')");
    c.normalize = true;
  } else if (o == "--format") {
    c.format = parse_format(args.value());
  } else if (o == "--all") {
    args.flag();
    c.all = true;
  } else {
    unknown_option("compare", o, kCompareHelp);
  }
}

CompareArgs parse_compare(cli::Args& args) {
  CompareArgs c;
  while (!args.done() && !c.help) {
    // "-x" is an option this command does not know, not a file (none of ours starts
    // with '-'; ./-x still names one).
    if (args.raw().starts_with("-") && !args.raw().starts_with("--") && args.raw() != "-" &&
        args.raw() != "-h") {
      throw UsageError("compare: unknown option " + args.raw() + " (see ipcbench compare --help)");
    }
    if (args.raw().starts_with("--") || args.raw() == "-h") {
      parse_option(args, c);
      continue;
    }
    if (args.raw().empty()) throw UsageError("compare: empty file name");
    c.files.push_back(args.raw());
    args.skip();
  }
  return c;
}

std::string summary_line(const CompareArgs& c, const RunValues& base, const RunValues& now,
                         const std::vector<CompareRow>& rows) {
  std::size_t count[4] = {};
  for (const CompareRow& r : rows) ++count[static_cast<int>(r.verdict)];
  std::ostringstream summary;
  summary << rows.size() << " comparisons (" << base.cases.size() << " cases in base, "
          << now.cases.size() << " in new): " << count[static_cast<int>(Verdict::regression)]
          << " regressions, " << count[static_cast<int>(Verdict::improvement)] << " improvements, "
          << count[static_cast<int>(Verdict::same)] << " within threshold or noise, "
          << count[static_cast<int>(Verdict::too_few)]
          << " with too few repetitions to tell (threshold " << 100 * c.opt.threshold << "%, alpha "
          << c.opt.alpha << (c.normalize ? ", over each run's floor" : "") << ")";
  return summary.str();
}

void print_json(const std::vector<CompareRow>& rows, const std::string& summary,
                std::size_t regressions) {
  nlohmann::json out = nlohmann::json::array();
  for (const CompareRow& r : rows) {
    out.push_back({{"name", r.name},
                   {"metric", to_string(r.metric)},
                   {"base", r.base},
                   {"new", r.now},
                   {"change", r.change},
                   {"p", r.p},
                   {"n_base", r.n_base},
                   {"n_new", r.n_new},
                   {"verdict", to_string(r.verdict)}});
  }
  std::cout
      << nlohmann::json{{"summary", summary}, {"regressions", regressions}, {"rows", out}}.dump(1)
      << "\n";
}

// The table (or markdown table) of the rows worth reading: all of them with --all.
void print_rows(const CompareArgs& c, const std::vector<CompareRow>& rows) {
  const bool md = c.format == Format::markdown;
  if (md) {
    std::cout << "| case | metric | base | new | change | p (n base/new) | verdict |\n"
                 "|---|---|---|---|---|---|---|\n";
  } else {
    std::printf("%-62s %-10s %11s %11s %8s %16s  %s\n", "case", "metric", "base", "new", "change",
                "p (n base/new)", "verdict");
  }
  for (const CompareRow& r : rows) {
    if (!c.all && (r.verdict == Verdict::same || r.verdict == Verdict::too_few)) continue;
    const std::string b = show_value(r.metric, r.base, c.normalize),
                      n = show_value(r.metric, r.now, c.normalize);
    if (md) {
      std::cout << "| `" << r.name << "` | " << to_string(r.metric) << " | " << b << " | " << n
                << " | " << show_change(r.change) << " | " << show_p(r) << " | "
                << to_string(r.verdict) << " |\n";
    } else {
      std::printf("%-62s %-10s %11s %11s %8s %16s  %s\n", r.name.c_str(),
                  std::string(to_string(r.metric)).c_str(), b.c_str(), n.c_str(),
                  show_change(r.change).c_str(), show_p(r).c_str(),
                  std::string(to_string(r.verdict)).c_str());
    }
  }
}

}  // namespace

int cmd_compare(cli::Args& args) {
  const CompareArgs c = parse_compare(args);
  if (c.help) {
    std::cout << kCompareHelp;
    return 0;
  }
  if (c.files.size() != 2)
    throw UsageError("compare: expected two result files, BASE.json NEW.json (see --help)");
  const RunValues base = load_run(c.files[0], c.normalize);
  const RunValues now = load_run(c.files[1], c.normalize);
  const std::vector<CompareRow> rows = compare_runs(base, now, c.opt);
  if (rows.empty())
    throw UsageError("compare: " + c.files[0] + " and " + c.files[1] + " have no case in common");
  std::size_t regressions = 0;
  for (const CompareRow& r : rows) regressions += r.verdict == Verdict::regression ? 1 : 0;
  const std::string summary = summary_line(c, base, now, rows);
  if (c.format == Format::json) {
    print_json(rows, summary, regressions);
  } else {
    print_rows(c, rows);
    std::cout << (c.format == Format::markdown ? "\n" : "") << summary << "\n";
  }
  return regressions > 0 ? 1 : 0;
}

}  // namespace ipcbench
