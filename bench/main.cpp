// ipcbench: which way of moving bytes between two processes is fastest on this
// machine, for my message size, buffer capacity and way of waiting?
#include <fcntl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>

#include "bench/compare_cmd.hpp"
#include "bench/presets.hpp"
#include "bench/suite.hpp"
#include "harness/cli.hpp"
#include "harness/environment.hpp"
#include "harness/error.hpp"
#include "harness/mechanism_facts.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"
#include "harness/report.hpp"
#include "harness/shared_region.hpp"
#include "harness/stale.hpp"

namespace ipcbench {
namespace {

constexpr std::uint64_t kMaxMsgBytes = 1ull << 30;
constexpr std::uint64_t kMaxCapacity = 1ull << 20;
// 10 ns between messages: faster than any mechanism here moves a message.
constexpr std::uint64_t kMaxRate = 100'000'000;

const char* kTopHelp = R"(usage: ipcbench <command> [options]

Measures latency and throughput of inter-process communication mechanisms
between two pinned processes, verifying every message.

commands:
  run       run a sweep of cases and write Google Benchmark JSON
  compare   compare two result files case by case (Mann-Whitney U), exit 1 on
            a significant regression
  plot      draw a result file's charts (PNG and SVG) and report.html:
            ipcbench plot RESULTS.json [--out DIR]; runs plots/plot.py with
            /usr/bin/python3
  list      list the mechanisms, their patterns, wait modes and capacity knob
  clean     remove what killed runs left behind (shm, mqueues, private
            directories, SysV objects whose creator is gone); run does this
            too before it starts. Never touches a live run's objects
  help      show this help, or `ipcbench help <command>`

`ipcbench <command> --help` describes a command's options.
)";

// Joins a preset's values for the help text: "1,64,4K,64K,1M".
template <typename T, typename Show>
std::string join_values(const std::vector<T>& values, Show show) {
  std::string out;
  for (const T& v : values) out += (out.empty() ? "" : ",") + show(v);
  return out;
}

std::string show_size(std::size_t b) {
  if (b >= (1u << 20) && b % (1u << 20) == 0) return std::to_string(b >> 20) + "M";
  if (b >= 1024 && b % 1024 == 0) return std::to_string(b >> 10) + "K";
  return std::to_string(b);
}

// "block, spin, spin_yield, ..." for messages and help.
std::string all_wait_modes() {
  std::string out;
  for (WaitMode w : kWaitModes) out += (out.empty() ? "" : ", ") + std::string(to_string(w));
  return out;
}

// Rates in decimal units: "1k", "300k", "10M".
std::string show_rate(std::uint64_t r) {
  if (r >= 1'000'000 && r % 1'000'000 == 0) return std::to_string(r / 1'000'000) + "M";
  if (r >= 1'000 && r % 1'000 == 0) return std::to_string(r / 1'000) + "k";
  return std::to_string(r);
}

// Words of `text` in lines of at most 79 columns, every line after `first` columns
// of indent: the help's preset table.
std::string wrap(const std::string& text, std::size_t first, std::size_t indent) {
  std::string out, line;
  std::size_t col = first;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && col + 1 + word.size() > 79) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
      col = indent;
    }
    col += (line.empty() ? 0 : 1) + word.size();
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line + "\n";
}

std::string preset_names() {
  std::string out;
  for (const Preset& p : presets()) out += (out.empty() ? "" : ", ") + std::string(p.name);
  return out;
}

std::string run_help() {
  // Defaults are read from the default preset, so the help cannot drift from it.
  const Preset& dp = *find_preset("default");
  const Grid& d = dp.main;
  std::string sweeps;
  for (const Grid& g : dp.sweeps) sweeps += (sweeps.empty() ? "" : ",") + std::string(g.name);
  char case_time[32];
  std::snprintf(case_time, sizeof case_time, "%g", d.case_seconds);
  std::string h = R"(usage: ipcbench run [options] [--benchmark_* flags]

Runs a preset: a main grid (every combination of the chosen mechanisms,
patterns, sizes, capacities and wait modes) plus the preset's sweeps, each
sweep a grid of its own with its own repetitions and case time. A case in two
grids runs once. Each case forks a fresh process pair (side a: pingpong client,
stream or rate producer; side b: server or consumer), warms up, then measures
for its case time. Results go to a Google Benchmark JSON file; the terminal
shows progress with an ETA and a summary table.

patterns: pingpong (request/echo: latency), stream (as fast as the channel
accepts: throughput), rate (open loop: the producer sends at a fixed offered
rate and latency counts from each message's intended send time; once a rate
saturates, the higher rates of that mechanism/size/wait are skipped).

options ([default] is the default preset's value; --patterns, --sizes,
--capacities, --wait, --repetitions and --case-time shape the main grid;
--mechanisms, --rates, --messages, --timeout and --no-verify apply to every
grid):
  --preset NAME          )" + preset_names() + R"(              [default]
  --sweeps LIST|none     the preset's sweeps to run: capacity, rate (a preset
                         without one takes the default preset's)   [)" +
                  sweeps + R"(]
  --mechanisms LIST      comma-separated names (see `ipcbench list`)      [all]
  --patterns LIST        pingpong,stream,rate             [)" +
                  join_values(d.patterns, [](Pattern p) { return std::string(to_string(p)); }) + R"(]
  --sizes LIST           message sizes in bytes, K/M/G binary suffixes
                                                          [)" +
                  join_values(d.sizes, show_size) + R"(]
  --capacities LIST      messages in flight the channel should hold      [)" +
                  join_values(d.capacities, [](std::size_t c) { return std::to_string(c); }) + R"(]
  --rates LIST           offered messages/s of rate cases, k and M decimal
                         suffixes              [)" +
                  join_values(d.rates_msgs_per_s, show_rate) + R"(]
  --wait LIST            how a side waits for data or space; each mechanism runs
                         the modes it supports (`ipcbench list`)  [)" +
                  join_values(d.waits, [](WaitMode w) { return std::string(to_string(w)); }) + R"(]
                         block       sleep in the kernel (every mechanism)
                         spin        poll, never leave the CPU (all but rpc_*)
                         spin_yield  poll, sched_yield() between polls (shm_ring)
                         adaptive    poll for a bounded time, then sleep (shm_ring)
                         eventfd     sleep in read() on an eventfd (shm_ring)
                         sem         process-shared POSIX semaphores (shm_ring)
  --backing NAME         shm_ring's shared memory: posix_shm, sysv_shm, memfd
                         or file (under /tmp); one per run        [posix_shm]
  --cpus A,B             CPUs for side a and side b   [first two allowed CPUs]
  --repetitions N        fresh pairs per main-grid case; spread is reported
                         across them                                       [)" +
                  std::to_string(d.repetitions) + R"(]
  --case-time SECONDS    measured time per main-grid case; the count adapts
                         to the pace                                     [)" +
                  case_time + R"(]
  --messages N           measure exactly N messages per case instead      [off]
  --timeout SECONDS      a case still running after this is killed         [30]
  --no-verify            skip payload checksums (sequence still checked)  [off]
  --interleave           run the repetitions of all cases in random order, so
                         a slow drift of the machine widens every case's spread
                         instead of shifting the cases that ran during it
                         (for comparing runs; the progress line then advances
                         in bursts)                                        [off]
  --out FILE             JSON output          [results/<date>T<time>.json]
  --benchmark_filter=REGEX
                         run only the cases whose names match (Google
                         Benchmark's filter; a leading '-' runs the others)
  --benchmark_list_tests list the cases that would run, run none, write no file
  --benchmark_display_aggregates_only
                         the summary table takes each case's median only
                         (the file still holds every repetition)
                         These three are passed to Google Benchmark; its other
                         flags set what ipcbench sets per case and are refused.
  --help                 this help

Numbers: sizes and counts take K, M, G (binary); rates k, M (decimal);
seconds are decimal, at least 0.001. Bad input (an unknown option or value, an
option given twice, a list with an empty or repeated item) is one line on
stderr and exit status 2, before any case runs.

presets:
)";
  for (const Preset& p : presets()) {
    h += "  " + std::string(p.name) + std::string(10 - p.name.size(), ' ') + wrap(std::string(p.about), 12, 12);
    for (const Grid& g : p.sweeps) {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", g.case_seconds);
      h += "            " + wrap("sweep " + std::string(g.name) + ": " +
           join_values(g.patterns, [](Pattern x) { return std::string(to_string(x)); }) + ", " +
           (g.mechanisms.empty() ? std::string("every mechanism")
                                 : [&] {
                                     std::string m;
                                     for (std::string_view n : g.mechanisms) m += (m.empty() ? "" : ", ") + std::string(n);
                                     return m;
                                   }()) +
           "; sizes " + join_values(g.sizes, show_size) + "; capacities " +
           join_values(g.capacities, [](std::size_t c) { return std::to_string(c); }) + "; " +
           join_values(g.waits, [](WaitMode w) { return std::string(to_string(w)); }) +
           (g.patterns == std::vector<Pattern>{Pattern::rate} ? "; rates " + join_values(g.rates_msgs_per_s, show_rate)
                                                               : std::string()) +
           "; " + std::to_string(g.repetitions) + " x " + seconds + " s", 12, 14);
    }
  }
  h += R"(
exit status: 0 all cases ran (some may be not runnable, with the reason);
1 a case failed (verification error, dead or hung peer); 2 bad input;
130 interrupted (the partial results are written, marked incomplete).
)";
  return h;
}

const char* kListHelp = R"(usage: ipcbench list [--json]

Lists each mechanism with its patterns, wait modes and how capacity maps onto
its own knob.
  --json    print a JSON array of objects with keys name, patterns,
            wait_modes, capacity_knob (and summary)
  --help    this help
)";

template <typename T, typename Parse>
std::vector<T> parse_each(std::string_view option, const std::string& text, Parse parse) {
  std::vector<T> out;
  for (const std::string& item : cli::parse_list(option, text)) out.push_back(parse(item));
  return out;
}

// An offered rate in messages per second: a whole number with an optional decimal
// suffix k (10^3) or M (10^6), from 1 to kMaxRate.
std::uint64_t parse_rate(std::string_view option, const std::string& item) {
  std::string_view digits = item;
  std::uint64_t multiplier = 1;
  if (!digits.empty() && (digits.back() == 'k' || digits.back() == 'K')) multiplier = 1'000;
  if (!digits.empty() && digits.back() == 'M') multiplier = 1'000'000;
  if (multiplier != 1) digits.remove_suffix(1);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value == 0 ||
      value > kMaxRate / multiplier) {
    throw UsageError(std::string(option) + ": '" + item + "' is not a rate from 1 to 100M messages/s (k and M are decimal: 300k, 1M)");
  }
  return value * multiplier;
}

// A list of counts, each from 1 to `max`.
std::vector<std::size_t> parse_counts(std::string_view option, const std::string& text, std::uint64_t max,
                                      const char* too_large) {
  const std::vector<std::size_t> counts = parse_each<std::size_t>(option, text, [&](const std::string& item) {
    const std::uint64_t v = cli::parse_count(option, item);
    if (v > max) throw UsageError(std::string(option) + ": " + item + " " + too_large);
    return static_cast<std::size_t>(v);
  });
  // parse_list catches "64,64"; "1K,1024" is the same value spelt twice.
  if (std::set<std::size_t>(counts.begin(), counts.end()).size() != counts.size()) {
    throw UsageError(std::string(option) + ": '" + text + "' lists one value twice");
  }
  return counts;
}

// The Google Benchmark flags `run` passes through, each checked here so that a bad one
// is one line and exit 2 before anything runs: GB itself prints a warning and a second
// line, or a usage page and exits 0 without the cleanup (a temporary file left behind).
// The rest set what ipcbench sets per case, or would change the file compare reads.
void check_benchmark_flag(cli::Args& args, std::vector<std::string>& pass, std::string& filter) {
  const std::string opt(args.option());
  const std::string raw = args.raw();
  const bool has_value = raw.find('=') != std::string::npos;
  const std::string value = has_value ? args.value() : (args.flag(), std::string());
  if (opt == "--benchmark_filter") {
    if (value.empty()) throw UsageError(opt + ": expected --benchmark_filter=REGEX");
    // GB's own test: extended POSIX syntax through std::regex, a leading '-' negating.
    try {
      const std::regex re(value[0] == '-' ? value.substr(1) : value, std::regex::extended);
    } catch (const std::regex_error& e) {
      throw UsageError(opt + ": bad regular expression '" + value + "' (" + e.what() + ")");
    }
    filter = value;
  } else if (opt == "--benchmark_list_tests" || opt == "--benchmark_display_aggregates_only") {
    if (has_value && value != "true" && value != "false" && value != "1" && value != "0") {
      throw UsageError(opt + ": expected true or false (got '" + value + "')");
    }
  } else {
    static const std::map<std::string, std::string, std::less<>> kInstead = {
        {"--benchmark_out", "ipcbench writes the JSON itself; use --out FILE"},
        {"--benchmark_out_format", "ipcbench writes the JSON itself; use --out FILE"},
        {"--benchmark_repetitions", "use --repetitions"},
        {"--benchmark_min_time", "use --case-time or --messages"},
        {"--benchmark_min_warmup_time", "each case warms up for a tenth of its case time"},
        {"--benchmark_enable_random_interleaving", "use --interleave"},
        {"--benchmark_report_aggregates_only", "compare and the charts need every repetition in the file"},
    };
    const auto it = kInstead.find(opt);
    throw UsageError(opt + ": not passed to Google Benchmark (" +
                     (it != kInstead.end() ? it->second
                                           : std::string("run passes only --benchmark_filter, --benchmark_list_tests "
                                                         "and --benchmark_display_aggregates_only")) +
                     ")");
  }
  pass.push_back(raw);
}

int cmd_list(cli::Args& args) {
  bool json = false;
  while (!args.done()) {
    const std::string_view opt = args.option();
    if (opt == "--help") {
      args.flag();
      std::cout << kListHelp;
      return 0;
    }
    if (opt != "--json") throw UsageError("list: unknown option " + std::string(opt));
    args.flag();
    json = true;
  }
  nlohmann::json all = nlohmann::json::array();
  for (const Mechanism* m : mechanisms()) {
    nlohmann::json patterns = nlohmann::json::array(), waits = nlohmann::json::array();
    for (Pattern p : {Pattern::pingpong, Pattern::stream, Pattern::rate}) {
      if (m->supports(p)) patterns.push_back(to_string(p));
    }
    for (WaitMode w : kWaitModes) {
      if (m->supports(w)) waits.push_back(to_string(w));
    }
    all.push_back({{"name", m->name},
                   {"patterns", patterns},
                   {"wait_modes", waits},
                   {"capacity_knob", m->capacity_knob},
                   {"summary", m->summary}});
  }
  if (json) {
    std::cout << all.dump(2) << "\n";
    return 0;
  }
  auto join = [](const nlohmann::json& a) {
    std::string s;
    for (const auto& x : a) s += (s.empty() ? "" : ",") + x.get<std::string>();
    return s;
  };
  int name_width = static_cast<int>(std::string_view("mechanism").size());
  int waits_width = static_cast<int>(std::string_view("wait modes").size());
  for (const auto& m : all) {
    name_width = std::max(name_width, static_cast<int>(m["name"].get<std::string>().size()));
    waits_width = std::max(waits_width, static_cast<int>(join(m["wait_modes"]).size()));
  }
  std::printf("%-*s %-22s %-*s %s\n", name_width, "mechanism", "patterns", waits_width, "wait modes", "capacity knob");
  for (const auto& m : all) {
    std::printf("%-*s %-22s %-*s %s\n", name_width, m["name"].get<std::string>().c_str(), join(m["patterns"]).c_str(),
                waits_width, join(m["wait_modes"]).c_str(), m["capacity_knob"].get<std::string>().c_str());
  }
  return 0;
}

struct RunArgs {
  RunPlan plan;
  std::string preset;
  std::string out;
  std::vector<std::string> benchmark_flags;
  std::string benchmark_filter;  // for the message when it matches nothing
  bool interleave = false;
};

RunArgs parse_run(cli::Args& args) {
  const Preset* preset = find_preset("default");
  std::optional<std::vector<const Mechanism*>> mechs;
  std::optional<std::vector<Pattern>> patterns;
  std::optional<std::vector<std::size_t>> sizes, capacities;
  std::optional<std::vector<WaitMode>> waits;
  std::optional<int> repetitions;
  std::optional<double> case_seconds;
  std::optional<std::vector<std::uint64_t>> rates;
  std::optional<std::vector<std::string>> sweeps;  // empty: none
  RunArgs r;
  while (!args.done()) {
    if (args.is_benchmark_flag()) {
      check_benchmark_flag(args, r.benchmark_flags, r.benchmark_filter);
      continue;
    }
    const std::string opt(args.option());
    if (opt == "--help") {
      args.flag();
      std::cout << run_help();
      std::exit(0);
    } else if (opt == "--preset") {
      const std::string name = args.value();
      preset = find_preset(name);
      if (preset == nullptr) throw UsageError("--preset: unknown preset '" + name + "' (known: " + preset_names() + ")");
    } else if (opt == "--sweeps") {
      const std::string text = args.value();
      sweeps = text == "none" ? std::vector<std::string>{} : cli::parse_list(opt, text);
      // Names no preset has are refused here, in order with the other options; whether
      // the chosen preset (or the default one) has the sweep is checked once all are read.
      for (const std::string& name : *sweeps) {
        const auto ps = presets();
        if (std::none_of(ps.begin(), ps.end(), [&](const Preset& p) { return find_sweep(p, name) != nullptr; })) {
          throw UsageError("--sweeps: unknown sweep '" + name + "' (known: " + std::string(sweep_names()) +
                           ", or none)");
        }
      }
    } else if (opt == "--rates") {
      const std::string text = args.value();
      rates = parse_each<std::uint64_t>(opt, text, [&](const std::string& item) { return parse_rate(opt, item); });
      if (std::set<std::uint64_t>(rates->begin(), rates->end()).size() != rates->size()) {
        throw UsageError("--rates: '" + text + "' lists one rate twice");
      }
    } else if (opt == "--mechanisms") {
      mechs = parse_each<const Mechanism*>(opt, args.value(), [&](const std::string& n) {
        const Mechanism* m = find_mechanism(n);
        if (m == nullptr) {
          std::string known;
          for (const Mechanism* k : mechanisms()) known += (known.empty() ? "" : ", ") + std::string(k->name);
          throw UsageError("--mechanisms: unknown mechanism '" + n + "' (known: " + known + ")");
        }
        return m;
      });
    } else if (opt == "--patterns") {
      patterns = parse_each<Pattern>(opt, args.value(), [&](const std::string& p) {
        if (p == "pingpong") return Pattern::pingpong;
        if (p == "stream") return Pattern::stream;
        if (p == "rate") return Pattern::rate;
        throw UsageError("--patterns: unknown pattern '" + p + "' (known: pingpong, stream, rate)");
      });
    } else if (opt == "--sizes") {
      sizes = parse_counts(opt, args.value(), kMaxMsgBytes, "exceeds the largest message ipcbench sends (1G)");
    } else if (opt == "--capacities") {
      capacities = parse_counts(opt, args.value(), kMaxCapacity, "is out of range (1 to 1M messages)");
    } else if (opt == "--wait") {
      waits = parse_each<WaitMode>(opt, args.value(), [&](const std::string& w) {
        if (const std::optional<WaitMode> mode = parse_wait_mode(w)) return *mode;
        throw UsageError("--wait: unknown wait mode '" + w + "' (known: " + all_wait_modes() + ")");
      });
    } else if (opt == "--backing") {
      const std::string name = args.value();
      const std::optional<Backing> b = parse_backing(name);
      if (!b) throw UsageError("--backing: unknown backing '" + name + "' (known: posix_shm, sysv_shm, file, memfd)");
      r.plan.backing = *b;
    } else if (opt == "--cpus") {
      // Not parse_list: the same CPU twice is allowed (both sides on one core; the run
      // warns that spinning cases will crawl).
      const std::string text = args.value();
      const std::size_t comma = text.find(',');
      if (comma == std::string::npos || text.find(',', comma + 1) != std::string::npos) {
        throw UsageError("--cpus: expected two CPUs A,B (got '" + text + "')");
      }
      const std::string list[2] = {text.substr(0, comma), text.substr(comma + 1)};
      const std::vector<int> allowed = allowed_cpus();
      for (int i = 0; i < 2; ++i) {
        const std::uint64_t cpu = cli::parse_whole(opt, list[i]);  // no K suffix: "0K" is no CPU
        if (std::find(allowed.begin(), allowed.end(), static_cast<int>(cpu)) == allowed.end() || cpu > 4096) {
          throw UsageError("--cpus: CPU " + list[i] + " is not one this process may run on");
        }
        r.plan.cpus[i] = static_cast<int>(cpu);
      }
    } else if (opt == "--repetitions") {
      const std::uint64_t n = cli::parse_count(opt, args.value());
      if (n > 1000) throw UsageError("--repetitions: at most 1000");
      repetitions = static_cast<int>(n);
    } else if (opt == "--case-time") {
      case_seconds = cli::parse_seconds(opt, args.value());
      if (*case_seconds > 3600) throw UsageError("--case-time: at most 3600 seconds");
    } else if (opt == "--messages") {
      r.plan.fixed_msgs = cli::parse_count(opt, args.value());
      if (r.plan.fixed_msgs > 1'000'000'000'000ull) throw UsageError("--messages: at most 10^12");
    } else if (opt == "--timeout") {
      r.plan.timeout_seconds = cli::parse_seconds(opt, args.value());
      if (r.plan.timeout_seconds > 86400) throw UsageError("--timeout: at most 86400 seconds");
    } else if (opt == "--no-verify") {
      args.flag();
      r.plan.verify = false;
    } else if (opt == "--interleave") {
      args.flag();
      r.interleave = true;
      r.benchmark_flags.push_back("--benchmark_enable_random_interleaving=true");
    } else if (opt == "--out") {
      r.out = args.value();
      if (r.out.empty()) throw UsageError("--out: empty file name");
      // Checked now, not when the results are renamed into place at the end: a
      // directory would fail the run after all its cases, and a device (/dev/null) would
      // be replaced by a regular file.
      struct stat st {};
      if (::stat(r.out.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        throw UsageError("--out: " + r.out + " exists and is not a regular file");
      }
    } else {
      throw UsageError("run: unknown option " + opt + " (see ipcbench run --help)");
    }
  }
  // Every grid: its own mechanisms, narrowed to --mechanisms when given.
  auto grid_plan = [&](const Grid& g) {
    GridPlan plan;
    plan.name = g.name;
    for (const Mechanism* m : mechanisms()) {
      const bool in_grid =
          g.mechanisms.empty() || std::find(g.mechanisms.begin(), g.mechanisms.end(), m->name) != g.mechanisms.end();
      const bool chosen = !mechs || std::find(mechs->begin(), mechs->end(), m) != mechs->end();
      if (in_grid && chosen) plan.mechanisms.push_back(m);
    }
    plan.patterns = g.patterns;
    plan.sizes = g.sizes;
    plan.capacities = g.capacities;
    plan.waits = g.waits;
    plan.rates_msgs_per_s = rates.value_or(g.rates_msgs_per_s);
    plan.repetitions = g.repetitions;
    plan.case_seconds = g.case_seconds;
    return plan;
  };
  r.preset = preset->name;
  GridPlan main_grid = grid_plan(preset->main);
  main_grid.patterns = patterns.value_or(main_grid.patterns);
  main_grid.sizes = sizes.value_or(main_grid.sizes);
  main_grid.capacities = capacities.value_or(main_grid.capacities);
  main_grid.waits = waits.value_or(main_grid.waits);
  main_grid.repetitions = repetitions.value_or(main_grid.repetitions);
  main_grid.case_seconds = case_seconds.value_or(main_grid.case_seconds);
  r.plan.grids.push_back(std::move(main_grid));
  if (!sweeps) {
    sweeps.emplace();
    for (const Grid& g : preset->sweeps) sweeps->emplace_back(g.name);
  }
  for (const std::string& name : *sweeps) {
    const Grid* g = find_sweep(*preset, name);
    if (g == nullptr) {
      throw UsageError("--sweeps: unknown sweep '" + name + "' (known: " + std::string(sweep_names()) + ", or none)");
    }
    r.plan.grids.push_back(grid_plan(*g));
  }
  if (r.plan.cpus[0] < 0) {
    const std::vector<int> allowed = allowed_cpus();
    if (allowed.empty()) throw UsageError("--cpus: this process may run on no CPU?");
    r.plan.cpus = {allowed[0], allowed.size() > 1 ? allowed[1] : allowed[0]};
  }
  return r;
}

// `ipcbench plot`, a thin front: plot.py owns the charts, their options and their
// errors. IPCBENCH_PLOT_VIA makes it name itself `ipcbench plot` in its usage and
// start its one line of bad input with "ipcbench: plot: ", as every other command's.
[[noreturn]] void exec_plot(const std::vector<std::string>& plot_args) {
  std::vector<std::string> a = {"/usr/bin/python3", IPCBENCH_PLOT_PY};
  a.insert(a.end(), plot_args.begin(), plot_args.end());
  std::vector<char*> py_argv;
  for (std::string& s : a) py_argv.push_back(s.data());
  py_argv.push_back(nullptr);
  ::setenv("IPCBENCH_PLOT_VIA", "ipcbench", 1);
  ::execv(py_argv[0], py_argv.data());
  throw std::runtime_error(std::string("plot: cannot run /usr/bin/python3 ") + IPCBENCH_PLOT_PY + ": " +
                           std::strerror(errno) + " (scripts/setup.sh installs python3-matplotlib)");
}

std::string default_out_path() {
  ::mkdir("results", 0755);  // EEXIST is fine; a real failure shows when the file is created
  char stamp[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H-%M-%S", std::localtime(&t));
  return std::string("results/") + stamp + ".json";
}

// A floor measured again after the suite; 0 (and a warning) when its processes hung or
// died: the results are written all the same.
double measure_floor_again(const char* what, double (*measure)(const std::array<int, 2>&),
                           const std::array<int, 2>& cpus, nlohmann::json& env) {
  try {
    return measure(cpus);
  } catch (const std::exception& e) {
    const std::string warning = std::string("floor ") + what + " after the run not measured: " + e.what();
    std::cerr << "warning: " << warning << "\n";
    env["warnings"].push_back(warning);
    return 0;
  }
}

// Removes what SIGKILLed runs left behind (harness/stale.hpp) and says what it did.
void sweep_and_tell(std::ostream& out) {
  const SweepResult swept = sweep_stale();
  for (const std::string& what : swept.removed) out << "removed, left by a dead run: " << what << "\n";
  for (const std::string& what : swept.errors) out << "could not remove, left by a dead run: " << what << "\n";
}

const char* kCleanHelp = R"(usage: ipcbench clean

Removes the IPC objects of ipcbench runs that were killed (SIGKILL skips every
clean-up): /dev/shm/ipcbench-<pid>-*, /dev/mqueue/ipcbench-<pid>-*, the private
directories /tmp/ipcbench-<pid>-*, and the SysV queues and segments recorded in
/dev/shm, when no process <pid> runs (or it started after the object was last
changed: a reused pid). Only this user's objects; a live run's are never
touched. `ipcbench run` does the same before it starts. Prints one line per
object removed.
)";

int cmd_clean(cli::Args& args) {
  if (!args.done()) {
    const std::string_view opt = args.option();
    if (opt == "--help") {
      std::cout << kCleanHelp;
      return 0;
    }
    throw UsageError("clean: unknown option " + std::string(opt) + " (clean takes none)");
  }
  sweep_and_tell(std::cout);
  return 0;
}

// The descriptors a run needs: a case's channel and death pipes (a dozen at most),
// the interrupt pipe, Google Benchmark's files, the results, with room to spare.
constexpr rlim_t kMinDescriptors = 32;

int cmd_run(cli::Args& args, const char* argv0) {
  RunArgs r = parse_run(args);
  if (r.out.empty()) r.out = default_out_path();
  // Checked up front: Google Benchmark exits the process when it cannot open
  // /proc/cpuinfo or a sysfs file, skipping every clean-up, and a case fails without
  // the descriptors of its channel and death pipes (a dozen at most).
  if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < kMinDescriptors) {
    throw UsageError("RLIMIT_NOFILE is " + std::to_string(rl.rlim_cur) + " open files; a run needs at least " +
                     std::to_string(kMinDescriptors) + " (raise it with ulimit -n " + std::to_string(kMinDescriptors) +
                     ")");
  }
  sweep_and_tell(std::cerr);
  // From here on Ctrl-C ends the run through its normal path (skipped cases, an
  // incomplete file, the temporary file removed), never by the default action.
  install_interrupt_handlers();

  // Google Benchmark writes here first; finish_json() then writes r.out atomically.
  // Creating it now proves the directory is writable before any case runs.
  const std::string gb_path = r.out + ".gb-" + std::to_string(::getpid()) + ".tmp";
  {
    UniqueFd probe(::open(gb_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!probe) throw UsageError("--out: cannot write " + r.out + ": " + std::strerror(errno) + limit_hint(errno));
  }
  OwnedName gb_file(gb_path, ::unlink);

  const HarnessCosts costs = measure_harness_costs();
  nlohmann::json env = capture_environment(r.plan.cpus, costs, r.plan.verify);
  env["shm_backing"] = to_string(r.plan.backing);
  // Which preset and grids this file holds, so a reader knows what a sweep's points are.
  env["preset"] = r.preset;
  env["repetition_order"] = r.interleave ? "interleaved" : "consecutive";
  nlohmann::json grids = nlohmann::json::array();
  for (const GridPlan& g : r.plan.grids) {
    grids.push_back({{"name", g.name}, {"repetitions", g.repetitions}, {"case_seconds", g.case_seconds}});
  }
  env["grids"] = grids;
  env["shm_backing_detail"] = describe_backing(r.plan.backing);
  std::uint64_t seed = 0;
  if (::getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = static_cast<std::uint64_t>(std::time(nullptr));
  const std::vector<Case> cases = plan_cases(r.plan, costs.timer_ns, seed);
  if (cases.empty()) throw UsageError("run: no case to run (no chosen mechanism supports the chosen patterns and wait modes)");
  std::set<std::size_t> all_sizes;
  for (const GridPlan& g : r.plan.grids) all_sizes.insert(g.sizes.begin(), g.sizes.end());
  const Floors floors = measure_floors(r.plan.cpus, std::vector<std::size_t>(all_sizes.begin(), all_sizes.end()),
                                       costs.timer_ns);
  add_floors_to_context(floors, env);
  env["mechanisms"] = mechanisms_context();
  register_cases(cases, floors);
  std::vector<std::string> warnings = floors.errors;

  // Repetitions are set per case (each grid has its own), not with GB's global flag.
  std::vector<std::string> gb_args = {argv0, "--benchmark_out=" + gb_path, "--benchmark_out_format=json"};
  gb_args.insert(gb_args.end(), r.benchmark_flags.begin(), r.benchmark_flags.end());
  std::vector<char*> gb_argv;
  for (std::string& a : gb_args) gb_argv.push_back(a.data());
  int gb_argc = static_cast<int>(gb_argv.size());
  benchmark::Initialize(&gb_argc, gb_argv.data());
  if (gb_argc > 1) throw UsageError("unknown Google Benchmark flag " + std::string(gb_argv[1]));

  // What each case should cost, for the ETA: every repetition measures for its case
  // time, warms up for a tenth of it (pingpong adds a quarter for its batch-timed
  // trips), and pays ~30 ms to fork and reap a pair.
  std::map<std::string, double> expected_s;
  for (const Case& c : cases) expected_s[c.name] = c.repetitions * (c.spec.target_seconds * 1.25 + 0.03);
  // The warnings go into the results too, so a report drawn later shows them.
  for (std::string& w : noise_warnings(env)) warnings.push_back(std::move(w));
  env["warnings"] = warnings;
  TerminalReporter terminal(cases.size(), env, warnings, std::move(expected_s));
  // GB reports a filter that matches nothing on this stream, before our own line;
  // caught here so that bad input stays one line.
  std::ostringstream gb_errors;
  terminal.SetErrorStream(&gb_errors);
  CaseJsonReporter json;
  const std::size_t ran = benchmark::RunSpecifiedBenchmarks(&terminal, &json);
  benchmark::Shutdown();
  if (ran == 0) {
    throw UsageError(r.benchmark_filter.empty() ? std::string("run: no case ran")
                                                : "--benchmark_filter: '" + r.benchmark_filter + "' matches no case");
  }
  std::cerr << gb_errors.str();
  struct stat written {};
  if (::stat(gb_path.c_str(), &written) == 0 && written.st_size == 0) {
    return 0;  // GB ran nothing (--benchmark_list_tests): there are no results to write
  }

  // The cache-line round trip again: on a VM the two vCPUs can move between near and
  // far cores mid-run, and every spinning figure moves with them.
  const double cacheline_after =
      floors.cacheline_rtt_ns > 0 && !interrupted()
          ? measure_floor_again("cacheline_rtt_ns", measure_cacheline_rtt_ns, r.plan.cpus, env)
          : 0;
  if (cacheline_after > 0) {
    const double after = cacheline_after;
    const double drift = std::abs(after - floors.cacheline_rtt_ns) / floors.cacheline_rtt_ns;
    env["floor_cacheline_rtt_ns_after"] = after;
    env["floor_drift"] = drift;
    env["placement_drift"] = drift > kDriftLimit;
    if (drift > kDriftLimit) {
      const std::string warning = "the cache-line round trip moved from " +
                                  std::to_string(static_cast<int>(floors.cacheline_rtt_ns)) + " ns to " +
                                  std::to_string(static_cast<int>(after)) + " ns during the run (" +
                                  std::to_string(static_cast<int>(drift * 100)) +
                                  "%): the CPUs likely moved between near and far cores; compare spinning "
                                  "results only within one run";
      std::cerr << "warning: " << warning << "\n";
      env["warnings"].push_back(warning);
    }
  }
  // The wake-up floor too: a VM's wake-up cost drifts over minutes, and blocking cases
  // sit at about 1x it, so a reader needs both ends of the run to judge x_floor.
  if (!interrupted()) {
    if (const double after = measure_floor_again("wake_rtt_ns", measure_wake_rtt_ns, r.plan.cpus, env); after > 0) {
      env["floor_wake_rtt_ns_after"] = after;
    }
  }
  env["incomplete"] = interrupted();
  finish_json(gb_path, r.out, env);
  std::cout << "\nresults: " << r.out << (interrupted() ? " (incomplete: interrupted)" : "") << "\n";
  if (interrupted()) return 130;
  return terminal.failed_cases() > 0 ? 1 : 0;
}

}  // namespace
}  // namespace ipcbench

int main(int argc, char** argv) {
  using namespace ipcbench;
  try {
    if (argc < 2) throw UsageError("no command given (try: ipcbench --help)");
    const std::string_view cmd = argv[1];
    cli::Args args(argc, argv, 2);
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      if (argc > (cmd == "help" ? 3 : 2)) {
        throw UsageError(std::string(cmd) + ": unexpected argument '" + argv[cmd == "help" ? 3 : 2] + "'");
      }
      if (cmd == "help" && argc > 2) {
        const std::string_view sub = argv[2];
        if (sub == "run") std::cout << run_help();
        else if (sub == "list") std::cout << kListHelp;
        else if (sub == "compare") std::cout << kCompareHelp;
        else if (sub == "clean") std::cout << kCleanHelp;
        else if (sub == "plot") exec_plot({"--help"});
        else throw UsageError("help: unknown command '" + std::string(sub) + "'");
      } else {
        std::cout << kTopHelp;
      }
      return 0;
    }
    if (cmd == "list") return cmd_list(args);
    if (cmd == "run") return cmd_run(args, argv[0]);
    if (cmd == "clean") return cmd_clean(args);
    if (cmd == "compare") return cmd_compare(args);
    if (cmd == "plot") exec_plot(std::vector<std::string>(argv + 2, argv + argc));
    throw UsageError("unknown command '" + std::string(cmd) + "' (commands: run, compare, plot, list, clean, help)");
  } catch (const UsageError& e) {
    std::cerr << "ipcbench: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ipcbench: " << e.what() << "\n";
    return 1;
  }
}
