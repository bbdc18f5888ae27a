#include "bench/run_options.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string_view>

#include "bench/cli_util.hpp"
#include "bench/presets.hpp"
#include "harness/capacity.hpp"
#include "harness/environment.hpp"
#include "harness/error.hpp"
#include "harness/registry.hpp"
#include "harness/shared_region.hpp"
#include "harness/topology.hpp"

namespace ipcbench {
namespace {

constexpr std::uint64_t kMaxMsgBytes = 1ull << 30;
// 10 ns between messages: faster than any mechanism here moves a message.
constexpr std::uint64_t kMaxRate = 100'000'000;

// What the options chose before the grids are resolved; nullopt keeps the preset's value.
struct Choices {
  const Preset* preset = find_preset("default");
  std::optional<std::vector<const Mechanism*>> mechs;
  std::optional<std::vector<Pattern>> patterns;
  std::optional<std::vector<std::size_t>> sizes, capacities;
  std::optional<std::vector<WaitMode>> waits;
  std::optional<int> repetitions;
  std::optional<double> case_seconds;
  std::optional<std::vector<std::uint64_t>> rates;
  std::optional<std::vector<unsigned>> consumers, producers, pairs;
  std::optional<std::vector<std::string>> sweeps;      // empty: none
  std::optional<std::vector<std::string>> placements;  // {"all"}: every one offered
};

// "; did you mean 'x'?" for a name close to one of `known` ("a, b, c"), else the list.
std::string hint_or_known(const std::string& name, const std::string& known) {
  std::vector<std::string> names;
  for (std::size_t start = 0; start < known.size();) {
    std::size_t end = known.find(", ", start);
    if (end == std::string::npos) end = known.size();
    names.push_back(known.substr(start, end - start));
    start = end + 2;
  }
  const std::string hint = cli::suggestion(name, names);
  return hint.empty() ? " (known: " + known + ")" : hint;
}

// The Google Benchmark flags `run` passes through, each checked here so that a bad one
// is one line and exit 2 before anything runs: GB itself prints a warning and a second
// line, or a usage page and exits 0 without the cleanup (a temporary file left behind).
// The rest set what ipcbench sets per case, or would change the file compare reads.
void check_benchmark_flag(cli::Args& args, RunArgs& r) {
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
    r.benchmark_filter = value;
  } else if (opt == "--benchmark_list_tests" || opt == "--benchmark_display_aggregates_only") {
    if (has_value && value != "true" && value != "false" && value != "1" && value != "0") {
      throw UsageError(opt + ": expected true or false (got '" + value + "')");
    }
    // Listed here, not by Google Benchmark: its names carry the registration's
    // "/iterations:1/repeats:N/manual_time", which the results file does not.
    if (opt == "--benchmark_list_tests")
      r.list_only = !has_value || value == "true" || value == "1";
  } else {
    static const std::map<std::string, std::string, std::less<>> kInstead = {
        {"--benchmark_out", "ipcbench writes the JSON itself; use --out FILE"},
        {"--benchmark_out_format", "ipcbench writes the JSON itself; use --out FILE"},
        {"--benchmark_repetitions", "use --repetitions"},
        {"--benchmark_min_time", "use --case-time or --messages"},
        {"--benchmark_min_warmup_time", "each case warms up for a tenth of its case time"},
        {"--benchmark_enable_random_interleaving", "use --interleave"},
        {"--benchmark_report_aggregates_only",
         "compare and the charts need every repetition in the file"},
    };
    const auto it = kInstead.find(opt);
    throw UsageError(
        opt + ": not passed to Google Benchmark (" +
        (it != kInstead.end()
             ? it->second
             : std::string("run passes only --benchmark_filter, --benchmark_list_tests "
                           "and --benchmark_display_aggregates_only")) +
        ")");
  }
  r.benchmark_flags.push_back(raw);
}

std::vector<std::string> parse_sweeps(const std::string& opt, const std::string& text) {
  std::vector<std::string> sweeps =
      text == "none" ? std::vector<std::string>{} : cli::parse_list(opt, text);
  // Names no preset has are refused here, in order with the other options; whether
  // the chosen preset (or the default one) has the sweep is checked once all are read.
  for (const std::string& name : sweeps) {
    const auto ps = presets();
    if (std::none_of(ps.begin(), ps.end(),
                     [&](const Preset& p) { return find_sweep(p, name) != nullptr; })) {
      throw UsageError("--sweeps: unknown sweep '" + name + "'" +
                       hint_or_known(name, sweep_names() + ", none"));
    }
  }
  return sweeps;
}

// --placement LIST: the names are checked now; the CPU pairs are read from the
// topology once every option is (resolve_placements).
std::vector<std::string> parse_placements(const std::string& opt, const std::string& text) {
  if (text == "all") return {"all"};
  std::vector<std::string> names = cli::parse_list(opt, text);
  for (const std::string& name : names) {
    if (name == "all") throw UsageError("--placement: 'all' stands alone (got '" + text + "')");
    if (!parse_placement(name)) {
      throw UsageError("--placement: unknown placement '" + name + "'" +
                       hint_or_known(name, placement_names() + ", all"));
    }
  }
  return names;
}

// The named placements (or every one this machine offers, for "all"), nearest first,
// each with its CPU pair or why the machine has none.
std::vector<PlacementPlan> resolve_placements(const std::vector<std::string>& names, RunArgs& r) {
  const Topology t = read_topology();
  r.topology_notes = t.notes;
  const bool all = names == std::vector<std::string>{"all"};
  std::vector<PlacementPlan> plans;
  for (const PlacementChoice& c : derive_placements(t)) {
    const bool named = std::find(names.begin(), names.end(), to_string(c.placement)) != names.end();
    if (all ? !c.cpus : !named) continue;
    plans.push_back({.placement = c.placement,
                     .cpus = c.cpus.value_or(std::array<int, 2>{-1, -1}),
                     .not_offered = c.cpus ? "" : why_not_offered(t, c.placement)});
  }
  return plans;
}

std::vector<const Mechanism*> parse_mechanisms(const std::string& opt, const std::string& text) {
  return parse_each<const Mechanism*>(opt, text, [&](const std::string& n) {
    const Mechanism* m = find_mechanism(n);
    if (m == nullptr) {
      std::string known;
      for (const Mechanism* k : mechanisms()) {
        known += (known.empty() ? "" : ", ") + std::string(k->name);
      }
      throw UsageError("--mechanisms: unknown mechanism '" + n + "'" + hint_or_known(n, known));
    }
    return m;
  });
}

std::vector<Pattern> parse_patterns(const std::string& opt, const std::string& text) {
  return parse_each<Pattern>(opt, text, [&](const std::string& p) {
    if (p == "pingpong") return Pattern::pingpong;
    if (p == "stream") return Pattern::stream;
    if (p == "rate") return Pattern::rate;
    if (p == "fanout") return Pattern::fanout;
    if (p == "fanin") return Pattern::fanin;
    if (p == "compete") return Pattern::compete;
    throw UsageError("--patterns: unknown pattern '" + p + "'" +
                     hint_or_known(p, "pingpong, stream, rate, fanout, fanin, compete"));
  });
}

std::vector<WaitMode> parse_waits(const std::string& opt, const std::string& text) {
  return parse_each<WaitMode>(opt, text, [&](const std::string& w) {
    if (const std::optional<WaitMode> mode = parse_wait_mode(w)) return *mode;
    throw UsageError("--wait: unknown wait mode '" + w + "'" + hint_or_known(w, all_wait_modes()));
  });
}

// --preset, --sweeps, --mechanisms, --patterns, --wait: which cases run. False when
// `opt` is none of them.
bool parse_selection(const std::string& opt, cli::Args& args, Choices& c) {
  if (opt == "--preset") {
    const std::string name = args.value();
    c.preset = find_preset(name);
    if (c.preset == nullptr) {
      throw UsageError("--preset: unknown preset '" + name + "'" +
                       hint_or_known(name, preset_names()));
    }
  } else if (opt == "--sweeps") {
    c.sweeps = parse_sweeps(opt, args.value());
  } else if (opt == "--mechanisms") {
    c.mechs = parse_mechanisms(opt, args.value());
  } else if (opt == "--patterns") {
    c.patterns = parse_patterns(opt, args.value());
  } else if (opt == "--wait") {
    c.waits = parse_waits(opt, args.value());
  } else {
    return false;
  }
  return true;
}

// Capacities: 0 (a rendezvous) to 1M messages, or `max` (harness/capacity.hpp).
std::vector<std::size_t> parse_capacities(const std::string& opt, const std::string& text) {
  const std::vector<std::size_t> caps =
      parse_each<std::size_t>(opt, text, [&](const std::string& item) {
        if (item == "max") return kCapacityMax;
        const std::uint64_t v = cli::parse_count(opt, item, true);
        if (v > kMaxCapacityMsgs) {
          throw UsageError(opt + ": " + item + " is out of range (0 to 1M messages, or max)");
        }
        return static_cast<std::size_t>(v);
      });
  if (std::set<std::size_t>(caps.begin(), caps.end()).size() != caps.size())
    throw UsageError(opt + ": '" + text + "' lists one value twice");
  return caps;
}

// --sizes, --capacities, --rates, --repetitions, --case-time: the grids' values. False
// when `opt` is none of them.
bool parse_grid_values(const std::string& opt, cli::Args& args, Choices& c) {
  if (opt == "--sizes") {
    c.sizes = parse_counts(opt, args.value(), kMaxMsgBytes,
                           "exceeds the largest message ipcbench sends (1G)", true);
  } else if (opt == "--capacities") {
    c.capacities = parse_capacities(opt, args.value());
  } else if (opt == "--rates") {
    const std::string text = args.value();
    c.rates = parse_each<std::uint64_t>(
        opt, text, [&](const std::string& item) { return parse_rate(opt, item, kMaxRate); });
    if (std::set<std::uint64_t>(c.rates->begin(), c.rates->end()).size() != c.rates->size()) {
      throw UsageError("--rates: '" + text + "' lists one rate twice");
    }
  } else if (opt == "--repetitions") {
    const std::uint64_t n = cli::parse_count(opt, args.value());
    if (n > 1000) throw UsageError("--repetitions: at most 1000");
    c.repetitions = static_cast<int>(n);
  } else if (opt == "--placement") {
    c.placements = parse_placements(opt, args.value());
  } else if (opt == "--consumers" || opt == "--producers" || opt == "--pairs") {
    std::vector<unsigned> counts;
    for (std::size_t n : parse_counts(opt, args.value(), kMaxFan, "is out of range (1 to 64)"))
      counts.push_back(static_cast<unsigned>(n));
    (opt == "--consumers" ? c.consumers : opt == "--producers" ? c.producers : c.pairs) = counts;
  } else if (opt == "--case-time") {
    c.case_seconds = cli::parse_seconds(opt, args.value());
    if (*c.case_seconds > 3600) throw UsageError("--case-time: at most 3600 seconds");
  } else {
    return false;
  }
  return true;
}

// Not parse_list: the same CPU twice is allowed (both sides on one core; the run warns
// that spinning cases will crawl).
std::array<int, 2> parse_cpus(const std::string& opt, const std::string& text) {
  const std::size_t comma = text.find(',');
  if (comma == std::string::npos || text.find(',', comma + 1) != std::string::npos) {
    throw UsageError("--cpus: expected two CPUs A,B (got '" + text + "')");
  }
  const std::string list[2] = {text.substr(0, comma), text.substr(comma + 1)};
  const std::vector<int> allowed = allowed_cpus();
  std::array<int, 2> cpus{};
  for (int i = 0; i < 2; ++i) {
    const std::uint64_t cpu = cli::parse_whole(opt, list[i]);  // no K suffix: "0K" is no CPU
    if (std::find(allowed.begin(), allowed.end(), static_cast<int>(cpu)) == allowed.end() ||
        cpu > 4096) {
      throw UsageError("--cpus: CPU " + list[i] + " is not one this process may run on");
    }
    cpus[i] = static_cast<int>(cpu);
  }
  return cpus;
}

std::string parse_out(const std::string& out) {
  if (out.empty()) throw UsageError("--out: empty file name");
  // Checked now, not when the results are renamed into place at the end: a directory
  // would fail the run after all its cases, and a device (/dev/null) would be replaced
  // by a regular file.
  struct stat st {};
  if (::stat(out.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    throw UsageError("--out: " + out + " exists and is not a regular file");
  }
  return out;
}

// --hgrm DIR: created by the run if missing (after every option is checked, so bad
// input writes nothing); an existing non-directory is refused now.
std::string parse_hgrm_dir(const std::string& dir) {
  if (dir.empty()) throw UsageError("--hgrm: empty directory name");
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    throw UsageError("--hgrm: " + dir + " exists and is not a directory");
  }
  return dir;
}

// --dir DIR: an existing directory this user may create in; the file mechanism makes
// its private directory there.
std::string parse_file_dir(const std::string& dir) {
  if (dir.empty()) throw UsageError("--dir: empty directory name");
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) throw UsageError("--dir: " + dir + ": no such directory");
  if (!S_ISDIR(st.st_mode)) throw UsageError("--dir: " + dir + " is not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw UsageError("--dir: " + dir + " is not writable by this user");
  return dir;
}

// --backing, --dir, --cpus, --messages, --timeout, --no-verify, --interleave, --out: how the
// run goes. False when `opt` is none of them.
bool parse_run_settings(const std::string& opt, cli::Args& args, RunArgs& r) {
  if (opt == "--backing") {
    const std::string name = args.value();
    const std::optional<Backing> b = parse_backing(name);
    if (!b) {
      throw UsageError("--backing: unknown backing '" + name +
                       "' (known: posix_shm, sysv_shm, file, memfd)");
    }
    r.plan.backing = *b;
  } else if (opt == "--dir") {
    r.plan.file_dir = parse_file_dir(args.value());
  } else if (opt == "--cpus") {
    r.plan.cpus = parse_cpus(opt, args.value());
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
    r.out = parse_out(args.value());
  } else if (opt == "--quiet") {
    args.flag();
    r.quiet = true;
  } else if (opt == "--hgrm") {
    r.hgrm_dir = parse_hgrm_dir(args.value());
  } else {
    return false;
  }
  return true;
}

// A grid of the preset, with its own mechanisms narrowed to --mechanisms when given. The
// main grid's families give way to --mechanisms: a mechanism the user named runs there.
GridPlan grid_plan(const Grid& g, const Choices& c, bool main) {
  GridPlan plan;
  plan.name = g.name;
  for (const Mechanism* m : mechanisms()) {
    const bool chosen =
        !c.mechs || std::find(c.mechs->begin(), c.mechs->end(), m) != c.mechs->end();
    Grid own = g;
    if (main && c.mechs) own.families.clear(), own.except.clear();
    if (chosen && grid_has(own, *m)) plan.mechanisms.push_back(m);
  }
  plan.patterns = g.patterns;
  plan.sizes = g.sizes;
  plan.capacities = g.capacities;
  plan.waits = g.waits;
  plan.rates_msgs_per_s = c.rates.value_or(g.rates_msgs_per_s);
  plan.repetitions = g.repetitions;
  plan.case_seconds = g.case_seconds;
  plan.consumers = c.consumers.value_or(g.fan_counts);
  plan.producers = c.producers.value_or(g.fan_counts);
  plan.pairs = c.pairs.value_or(g.pairs);
  return plan;
}

// The main grid with the options' values, then the chosen sweeps (the preset's own when
// --sweeps is not given).
std::vector<GridPlan> resolve_grids(const Choices& c) {
  std::vector<GridPlan> grids;
  GridPlan main_grid = grid_plan(c.preset->main, c, true);
  main_grid.patterns = c.patterns.value_or(main_grid.patterns);
  main_grid.sizes = c.sizes.value_or(main_grid.sizes);
  main_grid.capacities = c.capacities.value_or(main_grid.capacities);
  main_grid.waits = c.waits.value_or(main_grid.waits);
  main_grid.repetitions = c.repetitions.value_or(main_grid.repetitions);
  main_grid.case_seconds = c.case_seconds.value_or(main_grid.case_seconds);
  grids.push_back(std::move(main_grid));
  std::vector<std::string> sweeps;
  if (c.sweeps) {
    sweeps = *c.sweeps;
  } else {
    for (const Grid& g : c.preset->sweeps) sweeps.emplace_back(g.name);
  }
  for (const std::string& name : sweeps) {
    const Grid* g = find_sweep(*c.preset, name);
    if (g == nullptr) {
      throw UsageError("--sweeps: unknown sweep '" + name + "' (known: " + sweep_names() +
                       ", or none)");
    }
    grids.push_back(grid_plan(*g, c, false));
  }
  return grids;
}

}  // namespace

void print_case_names(const RunArgs& r) {
  // Google Benchmark's test: a search (not a whole match) in extended POSIX syntax, a
  // leading '-' selecting the names that do not match, "all" matching every name.
  const std::string& f = r.benchmark_filter;
  const bool negate = !f.empty() && f[0] == '-';
  const std::string pattern = negate ? f.substr(1) : (f.empty() || f == "all" ? "." : f);
  const std::regex re(pattern, std::regex::extended);
  std::string names;
  for (const Case& c : plan_cases(r.plan, 0, 0)) {
    if (std::regex_search(c.name, re) != negate) names += c.name + "\n";
  }
  if (names.empty()) {
    throw UsageError(f.empty() ? std::string("run: no case to run")
                               : "--benchmark_filter: '" + f + "' matches no case");
  }
  std::cout << names;
}

RunArgs parse_run(cli::Args& args) {
  Choices c;
  RunArgs r;
  while (!args.done()) {
    if (args.is_benchmark_flag()) {
      check_benchmark_flag(args, r);
      continue;
    }
    const std::string opt(args.option());
    if (opt == "--help") {
      args.flag();
      std::cout << run_help();
      std::exit(0);
    }
    if (!parse_selection(opt, args, c) && !parse_grid_values(opt, args, c) &&
        !parse_run_settings(opt, args, r)) {
      unknown_option("run", opt, run_help());
    }
  }
  r.preset = c.preset->name;
  r.plan.grids = resolve_grids(c);
  if (c.placements) {
    if (r.plan.cpus[0] >= 0) {
      throw UsageError("--placement: --cpus chooses the CPUs too; give one or the other");
    }
    r.plan.placements = resolve_placements(*c.placements, r);
    // The run's own CPUs (its environment, busy-CPU check, the header's floors): the
    // first placement offered on two CPUs, else same_cpu.
    for (const PlacementPlan& p : r.plan.placements) {
      if (p.not_offered.empty() && (r.plan.cpus[0] < 0 || r.plan.cpus[0] == r.plan.cpus[1])) {
        r.plan.cpus = p.cpus;
      }
    }
  }
  if (r.plan.cpus[0] < 0) {
    const std::vector<int> allowed = allowed_cpus();
    if (allowed.empty()) throw UsageError("--cpus: this process may run on no CPU?");
    r.plan.cpus = {allowed[0], allowed.size() > 1 ? allowed[1] : allowed[0]};
  }
  return r;
}

}  // namespace ipcbench
