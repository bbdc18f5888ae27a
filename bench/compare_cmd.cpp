#include "bench/compare_cmd.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/cli_util.hpp"
#include "harness/compare.hpp"
#include "harness/error.hpp"

namespace ipcbench {

const char* const kCompareHelp = R"(usage: ipcbench compare BASE.json NEW.json [options]
       ipcbench compare A.json B.json C.json... [options]     (the fleet view)

Two files: matches the cases by name and compares each case's repetitions, per
metric, with a two-sided Mann-Whitney U test. A latency that rose (or a
throughput that fell) by more than the threshold with p < alpha is a
regression. With too few repetitions to ever reach p < alpha (3 against 3 can
reach 0.10 at best; 4 against 4, 0.029) a change past the threshold is shown
as "unconfirmed", with the command that runs it again with enough repetitions;
it is never a regression. Warnings come first when the runs differ in CPU
model, kernel, or floors by more than 25%: raw figures from two machines do
not compare, figures over each run's floors (--normalize floor) do. Large
changes read as ratios ("3.1x slower"), small ones as percentages.

Three files or more (or --fleet): the fleet view. One row per case (its
primary metric unless --metric says otherwise), one column per file, each
figure over that run's own floors (x_floor: latency over the round-trip floor
of its wait mode, memcpy's bandwidth over the throughput; lower is better)
with the raw figure beside it, and the lowest x_floor of each row marked.
Nothing is tested: threshold, alpha and --all do not apply.

options:
  --threshold PCT      smallest change that counts, in percent      [5%]
  --alpha A            significance level                            [0.05]
  --metric LIST        p50, p99, throughput (comma-separated)        [all three]
                       or primary: each case's own figure, throughput for
                       stream and p50 for pingpong and rate (for a CI gate;
                       the fleet view's default)
  --normalize floor    compare each value over its own run's floor: latency
                       over the round-trip floor of its wait mode, throughput
                       over memcpy at its size (runs from different machines)
  --fleet              the fleet view, even of two files
  --format F           table, markdown or json                       [table]
  --all                list unchanged rows too (default: changes and a summary)
  -h, --help           this help

Reads Google Benchmark JSON of at most 64 MiB; a file that is not (truncated,
NaN or Infinity, a field of the wrong type, a directory, larger) is bad input.
A failed case (error_occurred) is valid and left out of the comparison. The
fleet view needs the floors ipcbench records in each file.

exit status: 0 no regression (the fleet view: always), 1 a confirmed
regression, 2 bad input (missing or malformed file, no case in common, a bad
option), with one line on stderr.

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

// A figure as the table shows it: over the floor ("3.2x") or in adaptive units.
std::string show_value(Metric m, double v, bool normalized) {
  if (!normalized) return format_value(m, v);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3gx", v);
  return buf;
}

std::string show_p(const CompareRow& r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g (%zu/%zu)", r.p, r.n_base, r.n_new);
  return buf;
}

// `s` padded with spaces to `width` columns (right-aligned unless `left`): counts
// characters, not bytes, so "µs" takes one column per letter.
std::string pad(const std::string& s, std::size_t width, bool left = false) {
  std::size_t cols = 0;
  for (unsigned char ch : s) cols += (ch & 0xC0) != 0x80 ? 1 : 0;
  const std::string fill(cols < width ? width - cols : 0, ' ');
  return left ? s + fill : fill + s;
}

struct CompareArgs {
  std::vector<std::string> files;
  CompareOptions opt;
  bool normalize = false, all = false, help = false, fleet = false, metric_given = false;
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
    c.metric_given = true;
  } else if (o == "--fleet") {
    args.flag();
    c.fleet = true;
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

std::size_t count_of(const std::vector<CompareRow>& rows, Verdict v) {
  return static_cast<std::size_t>(
      std::count_if(rows.begin(), rows.end(), [v](const CompareRow& r) { return r.verdict == v; }));
}

std::string summary_line(const CompareArgs& c, const RunValues& base, const RunValues& now,
                         const std::vector<CompareRow>& rows) {
  std::ostringstream summary;
  summary << rows.size() << " comparisons (" << base.cases.size() << " cases in base, "
          << now.cases.size() << " in new): " << count_of(rows, Verdict::regression)
          << " regressions, " << count_of(rows, Verdict::improvement) << " improvements, "
          << count_of(rows, Verdict::same) << " within threshold or noise, "
          << count_of(rows, Verdict::unconfirmed) << " unconfirmed changes past the threshold, "
          << count_of(rows, Verdict::too_few) << " with too few repetitions to tell (threshold "
          << 100 * c.opt.threshold << "%, alpha " << c.opt.alpha
          << (c.normalize ? ", over each run's floor" : "") << ")";
  return summary.str();
}

// How to turn unconfirmed changes into tested ones: one command per case when they are
// few, the whole run again when they are many (a filter of dozens of names helps no one).
std::vector<std::string> confirm_lines(const CompareArgs& c, const RunValues& base,
                                       const std::vector<CompareRow>& rows) {
  constexpr std::size_t kListedMax = 5;
  std::vector<std::string> names;
  std::size_t n_base = SIZE_MAX;
  for (const CompareRow& r : rows) {
    if (r.verdict != Verdict::unconfirmed) continue;
    if (std::find(names.begin(), names.end(), r.name) == names.end()) names.push_back(r.name);
    n_base = std::min(n_base, r.n_base);
  }
  if (names.empty()) return {};
  const std::size_t reps = repetitions_to_confirm(c.opt.alpha);
  const bool listed = names.size() <= kListedMax;
  std::vector<std::string> out;
  out.push_back(std::to_string(names.size()) +
                " case(s) changed past the threshold with too few repetitions to test; " +
                std::to_string(reps) + " against " + std::to_string(reps) +
                " can confirm them. Run " + (listed ? "them" : "the whole run") + " again with" +
                (listed ? "" : " (a command per case: --format json)") + ":");
  if (listed) {
    for (const std::string& n : names) out.push_back("  " + confirm_command(n, reps));
  } else {
    const std::string& preset = base.context.preset;
    out.push_back("  ipcbench run --repetitions " + std::to_string(reps) +
                  (preset.empty() ? "" : " --preset " + preset));
  }
  if (n_base < reps)
    out.push_back("and run the base the same way: it has " + std::to_string(n_base) +
                  " repetition(s) of these cases");
  return out;
}

nlohmann::json row_json(const CompareRow& r, std::size_t reps) {
  nlohmann::json j{{"name", r.name},
                   {"metric", to_string(r.metric)},
                   {"base", r.base},
                   {"new", r.now},
                   {"change", r.change},
                   {"ratio", r.now / r.base},
                   {"change_text", describe_change(r.metric, r.base, r.now)},
                   {"p", r.p},
                   {"n_base", r.n_base},
                   {"n_new", r.n_new},
                   {"verdict", to_string(r.verdict)}};
  if (r.verdict == Verdict::unconfirmed) j["confirm"] = confirm_command(r.name, reps);
  return j;
}

void print_json(const CompareArgs& c, const std::vector<CompareRow>& rows,
                const std::vector<std::string>& warnings, const std::string& summary,
                std::size_t regressions) {
  nlohmann::json out = nlohmann::json::array();
  const std::size_t reps = repetitions_to_confirm(c.opt.alpha);
  for (const CompareRow& r : rows) out.push_back(row_json(r, reps));
  std::cout << nlohmann::json{{"mode", "pair"},
                              {"warnings", warnings},
                              {"summary", summary},
                              {"regressions", regressions},
                              {"unconfirmed", count_of(rows, Verdict::unconfirmed)},
                              {"rows", out}}
                   .dump(1)
            << "\n";
}

// The table (or markdown table) of the rows worth reading: all of them with --all.
void print_rows(const CompareArgs& c, const std::vector<CompareRow>& rows) {
  const bool md = c.format == Format::markdown;
  if (md) {
    std::cout << "| case | metric | base | new | change | p (n base/new) | verdict |\n"
                 "|---|---|---|---|---|---|---|\n";
  } else {
    std::cout << pad("case", 62, true) << " " << pad("metric", 10, true) << " " << pad("base", 11)
              << " " << pad("new", 11) << " " << pad("change", 13) << " "
              << pad("p (n base/new)", 16) << "  verdict\n";
  }
  for (const CompareRow& r : rows) {
    if (!c.all && (r.verdict == Verdict::same || r.verdict == Verdict::too_few)) continue;
    const std::string b = show_value(r.metric, r.base, c.normalize),
                      n = show_value(r.metric, r.now, c.normalize),
                      change = describe_change(r.metric, r.base, r.now),
                      metric(to_string(r.metric)), verdict(to_string(r.verdict));
    if (md) {
      std::cout << "| `" << r.name << "` | " << metric << " | " << b << " | " << n << " | "
                << change << " | " << show_p(r) << " | " << verdict << " |\n";
    } else {
      std::cout << pad(r.name, 62, true) << " " << pad(metric, 10, true) << " " << pad(b, 11) << " "
                << pad(n, 11) << " " << pad(change, 13) << " " << pad(show_p(r), 16) << "  "
                << verdict << "\n";
    }
  }
}

// Lines before a table: "warning: ..." in a table, a quoted note in markdown.
void print_notes(const CompareArgs& c, const std::vector<std::string>& lines, const char* lead) {
  for (const std::string& w : lines)
    std::cout << (c.format == Format::markdown ? "> " : "") << lead << w << "\n";
  if (!lines.empty()) std::cout << "\n";
}

int compare_pair(const CompareArgs& c) {
  const RunValues base = load_run(c.files[0], c.normalize);
  const RunValues now = load_run(c.files[1], c.normalize);
  const std::vector<CompareRow> rows = compare_runs(base, now, c.opt);
  if (rows.empty())
    throw UsageError("compare: " + c.files[0] + " and " + c.files[1] + " have no case in common");
  const std::size_t regressions = count_of(rows, Verdict::regression);
  const std::vector<std::string> warnings =
      context_warnings(base.context, now.context, c.normalize);
  const std::string summary = summary_line(c, base, now, rows);
  if (c.format == Format::json) {
    print_json(c, rows, warnings, summary, regressions);
  } else {
    print_notes(c, warnings, "warning: ");
    print_rows(c, rows);
    std::cout << "\n";
    const std::vector<std::string> confirm = confirm_lines(c, base, rows);
    for (const std::string& line : confirm) {
      const bool command = line.starts_with("  ");
      if (c.format == Format::markdown && command)
        std::cout << "- `" << line.substr(2) << "`\n";
      else
        std::cout << line << "\n";
    }
    if (!confirm.empty()) std::cout << "\n";
    std::cout << summary << "\n";
  }
  return regressions > 0 ? 1 : 0;
}

// --- the fleet view --------------------------------------------------------------

// "vm, Intel(R) Xeon(R) Processor, Linux 6.1 x86_64"
std::string machine_of(const RunContext& ctx) {
  std::string out;
  for (const std::string* part : {&ctx.host_name, &ctx.cpu_model, &ctx.kernel}) {
    if (part->empty()) continue;
    out += (out.empty() ? "" : ", ") + *part;
  }
  return out.empty() ? "machine not recorded" : out;
}

std::string fleet_cell(const FleetCell& cell, Metric m, bool best, bool md) {
  if (!(cell.raw > 0)) return "-";
  char x[32];
  std::snprintf(x, sizeof x, "%.3gx", cell.x_floor);
  const std::string xs = std::isfinite(cell.x_floor) ? std::string(x) : "?";
  if (md) return (best ? "**" + xs + "**" : xs) + " (" + format_value(m, cell.raw) + ")";
  return xs + " (" + format_value(m, cell.raw) + ")" + (best ? " *" : "");
}

void print_fleet_json(const std::vector<RunValues>& runs, const std::vector<FleetRow>& rows) {
  nlohmann::json machines = nlohmann::json::array(), out = nlohmann::json::array();
  for (const RunValues& r : runs) {
    machines.push_back({{"file", r.path},
                        {"host_name", r.context.host_name},
                        {"cpu_model", r.context.cpu_model},
                        {"kernel", r.context.kernel},
                        {"floor_cacheline_rtt_ns", r.context.floor_cacheline_rtt_ns},
                        {"floor_wake_rtt_ns", r.context.floor_wake_rtt_ns}});
  }
  for (const FleetRow& row : rows) {
    nlohmann::json cells = nlohmann::json::array();
    for (const FleetCell& cell : row.cells) {
      if (!(cell.raw > 0)) {
        cells.push_back(nullptr);
        continue;
      }
      cells.push_back({{"raw", cell.raw},
                       {"x_floor", std::isfinite(cell.x_floor) ? nlohmann::json(cell.x_floor)
                                                               : nlohmann::json(nullptr)},
                       {"n", cell.n}});
    }
    out.push_back({{"name", row.name},
                   {"metric", to_string(row.metric)},
                   {"best", row.best >= 0 ? nlohmann::json(row.best) : nlohmann::json(nullptr)},
                   {"cells", cells}});
  }
  std::cout << nlohmann::json{{"mode", "fleet"},
                              {"warnings", nlohmann::json::array()},
                              {"machines", machines},
                              {"rows", out}}
                   .dump(1)
            << "\n";
}

void print_fleet_table(const CompareArgs& c, const std::vector<RunValues>& runs,
                       const std::vector<FleetRow>& rows) {
  const bool md = c.format == Format::markdown;
  std::cout << "Fleet view: each figure over its own run's floor (x_floor, lower is better), "
               "the raw figure in brackets; "
            << (md ? "bold" : "*") << " marks the lowest x_floor of the row.\n\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunContext& ctx = runs[i].context;
    std::cout << (md ? "- " : "  ") << "[" << i + 1 << "] " << runs[i].path << ": "
              << machine_of(ctx) << "; floors: cache line "
              << format_value(Metric::p50, ctx.floor_cacheline_rtt_ns) << ", wake-up "
              << format_value(Metric::p50, ctx.floor_wake_rtt_ns) << "\n";
  }
  std::cout << "\n";
  constexpr std::size_t kCell = 22;
  if (md) {
    std::cout << "| case | metric |";
    for (std::size_t i = 0; i < runs.size(); ++i) std::cout << " [" << i + 1 << "] |";
    std::cout << "\n|---|---|" << [&] {
      std::string s;
      for (std::size_t i = 0; i < runs.size(); ++i) s += "---|";
      return s;
    }() << "\n";
  } else {
    std::cout << pad("case", 62, true) << " " << pad("metric", 10, true);
    std::string heads;
    for (std::size_t i = 0; i < runs.size(); ++i)
      heads += " " + pad("[" + std::to_string(i + 1) + "]", kCell, true);
    std::cout << heads.erase(heads.find_last_not_of(' ') + 1) << "\n";
  }
  for (const FleetRow& row : rows) {
    const std::string metric(to_string(row.metric));
    std::cout << (md ? "| `" + row.name + "` | " + metric + " |"
                     : pad(row.name, 62, true) + " " + pad(metric, 10, true));
    std::string cells;
    for (std::size_t i = 0; i < row.cells.size(); ++i) {
      const std::string cell =
          fleet_cell(row.cells[i], row.metric, row.best == static_cast<int>(i), md);
      cells += md ? " " + cell + " |" : " " + pad(cell, kCell, true);
    }
    std::cout << cells.erase(cells.find_last_not_of(' ') + 1) << "\n";
  }
}

int compare_fleet(const CompareArgs& c) {
  std::vector<RunValues> runs;
  for (const std::string& path : c.files) {
    runs.push_back(load_run(path, false));
    if (!(runs.back().context.floor_wake_rtt_ns > 0))
      throw UsageError("compare: the fleet view needs floors: " + path +
                       " records none (run it with this ipcbench)");
  }
  const std::vector<FleetRow> rows = fleet_rows(runs, c.opt);
  if (rows.empty()) throw UsageError("compare: the files hold no case to lay side by side");
  if (c.format == Format::json)
    print_fleet_json(runs, rows);
  else
    print_fleet_table(c, runs, rows);
  return 0;
}

}  // namespace

int cmd_compare(cli::Args& args) {
  CompareArgs c = parse_compare(args);
  if (c.help) {
    std::cout << kCompareHelp;
    return 0;
  }
  if (c.files.size() < 2) {
    throw UsageError(
        "compare: expected two result files, BASE.json NEW.json, or more for the fleet view "
        "(see --help)");
  }
  if (c.fleet || c.files.size() > 2) {
    if (!c.metric_given) c.opt.primary = true;
    return compare_fleet(c);
  }
  return compare_pair(c);
}

}  // namespace ipcbench
