#include "bench/run_cmd.hpp"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "bench/clean_cmd.hpp"
#include "bench/placements.hpp"
#include "bench/run_options.hpp"
#include "bench/suite.hpp"
#include "harness/clock.hpp"
#include "harness/environment.hpp"
#include "harness/error.hpp"
#include "harness/floor.hpp"
#include "harness/hgrm.hpp"
#include "harness/mechanism_facts.hpp"
#include "harness/owners.hpp"
#include "harness/report.hpp"
#include "harness/shared_region.hpp"
#include "harness/transport_ratio.hpp"
#include "harness/verdict.hpp"

namespace ipcbench {
namespace {

// The descriptors a run needs: a case's channel and death pipes (a dozen at most),
// the interrupt pipe, Google Benchmark's files, the results, with room to spare.
constexpr rlim_t kMinDescriptors = 32;

std::string default_out_path() {
  ::mkdir("results", 0755);  // EEXIST is fine; a real failure shows when the file is created
  char stamp[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H-%M-%S", std::localtime(&t));
  return std::string("results/") + stamp + ".json";
}

// Before anything is measured: the output path, the descriptor limit, what killed runs
// left behind, and Ctrl-C.
void preflight(RunArgs& r) {
  if (r.out.empty()) r.out = default_out_path();
  // Checked up front: Google Benchmark exits the process when it cannot open
  // /proc/cpuinfo or a sysfs file, skipping every clean-up, and a case fails without
  // the descriptors of its channel and death pipes (a dozen at most).
  if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < kMinDescriptors) {
    throw UsageError("RLIMIT_NOFILE is " + std::to_string(rl.rlim_cur) +
                     " open files; a run needs at least " + std::to_string(kMinDescriptors) +
                     " (raise it with ulimit -n " + std::to_string(kMinDescriptors) + ")");
  }
  sweep_and_tell(std::cerr);
  // From here on Ctrl-C ends the run through its normal path (skipped cases, an
  // incomplete file, the temporary file removed), never by the default action.
  install_interrupt_handlers();
}

// Google Benchmark writes `gb_path` first; finish_json() then writes the results file
// atomically. Creating it now proves the directory is writable before any case runs.
OwnedName create_gb_file(const std::string& gb_path, const std::string& out) {
  {
    UniqueFd probe(::open(gb_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!probe) {
      throw UsageError("--out: cannot write " + out + ": " + std::strerror(errno) +
                       limit_hint(errno));
    }
  }
  return OwnedName(gb_path, ::unlink);
}

// The results' context: the machine, and which preset and grids this file holds, so a
// reader knows what a sweep's points are.
nlohmann::json run_context(const RunArgs& r, const HarnessCosts& costs) {
  nlohmann::json env = capture_environment(r.plan.cpus, costs, r.plan.verify);
  env["shm_backing"] = to_string(r.plan.backing);
  env["preset"] = r.preset;
  env["repetition_order"] = r.interleave ? "interleaved" : "consecutive";
  nlohmann::json grids = nlohmann::json::array();
  for (const GridPlan& g : r.plan.grids) {
    grids.push_back(
        {{"name", g.name}, {"repetitions", g.repetitions}, {"case_seconds", g.case_seconds}});
  }
  env["grids"] = grids;
  env["shm_backing_detail"] = describe_backing(r.plan.backing);
  return env;
}

std::vector<Case> plan(const RunPlan& plan, double timer_ns) {
  std::uint64_t seed = 0;
  if (::getrandom(&seed, sizeof seed, 0) != sizeof seed) {
    seed = static_cast<std::uint64_t>(std::time(nullptr));
  }
  std::vector<Case> cases = plan_cases(plan, timer_ns, seed);
  if (cases.empty()) {
    throw UsageError(
        "run: no case to run (no chosen mechanism supports the chosen patterns and wait modes)");
  }
  return cases;
}

// The floors at every message size any grid sends, on each placement's CPUs.
FloorsByPlacement measure_run_floors(const RunPlan& plan, const std::vector<PlacementCpus>& used,
                                     double timer_ns) {
  std::set<std::size_t> all_sizes;
  for (const GridPlan& g : plan.grids) all_sizes.insert(g.sizes.begin(), g.sizes.end());
  return measure_placement_floors(
      used, std::vector<std::size_t>(all_sizes.begin(), all_sizes.end()), timer_ns);
}

// Floors are read again between cases about this often, and at once when a polling case
// beat its floor (floor_contamination).
constexpr double kFloorCheckSeconds = 30;
// How many times the end of the run measures the floors again while a polling case is
// under kMinPollingXFloor of them.
constexpr int kMaxFloorRetries = 2;

void warn_floor(const std::string& warning, nlohmann::json& env) {
  std::cerr << "warning: " << warning << "\n";
  env["warnings"].push_back(warning);
}

// Between cases: the floors again every kFloorCheckSeconds, and at once when the
// repetition just measured beat its floor (the warning names it and both figures), once
// per case: a case that beats the floors measured again is left to the end of the run.
// The floors are those of the case's placement, measured again on its CPUs.
FloorCheck floor_check(FloorsByPlacement& by_placement, const std::vector<PlacementCpus>& used,
                       nlohmann::json& env) {
  auto last_s = std::make_shared<double>(static_cast<double>(now_ns()) / 1e9);
  auto retried = std::make_shared<std::set<std::string>>();
  return [&by_placement, &used, &env, last_s, retried](
             const std::string& case_name, const PairSpec& spec, const CaseCounters& out) {
    const PlacementCpus& placement = placement_of(used, case_name);
    Floors& floors = by_placement.at(placement.key);
    const std::array<int, 2>& cpus = placement.cpus;
    const std::string contaminated = floor_contamination(case_name, spec, out, floors);
    const bool retry = !contaminated.empty() && retried->insert(case_name).second;
    const double now_s = static_cast<double>(now_ns()) / 1e9;
    if (!retry && now_s - *last_s < kFloorCheckSeconds) return false;
    if (retry) warn_floor(contaminated + "; measuring the floors again", env);
    std::vector<std::string> errors;
    measure_floors_again(floors, cpus, errors);
    for (const std::string& e : errors) warn_floor(e, env);
    *last_s = static_cast<double>(now_ns()) / 1e9;
    return true;
  };
}

// Before the file is written: the floors measured again while a polling case is under
// kMinPollingXFloor of them (settle_floor_ratios). False once interrupted.
bool floors_again_for_file(FloorsByPlacement& floors, const std::vector<PlacementCpus>& used,
                           const RunPlan& plan, nlohmann::json& context) {
  if (interrupted()) return false;
  for (const PlacementCpus& p : used) {
    std::vector<std::string> errors;
    measure_floors_again(floors.at(p.key), p.cpus, errors);
    for (const std::string& e : errors) warn_floor(e, context);
  }
  placements_to_context(floors, used, plan, context);
  return true;
}

// Google Benchmark keeps pointers into its argv (argv[0] names the executable in the
// JSON's context), so the strings and the array must live as long as the run.
struct BenchmarkArgs {
  std::vector<std::string> args;
  std::vector<char*> argv;
};

void init_benchmark(BenchmarkArgs& gb, const char* argv0, const std::string& gb_path,
                    const std::vector<std::string>& benchmark_flags) {
  // Repetitions are set per case (each grid has its own), not with GB's global flag.
  gb.args = {argv0, "--benchmark_out=" + gb_path, "--benchmark_out_format=json"};
  gb.args.insert(gb.args.end(), benchmark_flags.begin(), benchmark_flags.end());
  for (std::string& a : gb.args) gb.argv.push_back(a.data());
  int gb_argc = static_cast<int>(gb.argv.size());
  benchmark::Initialize(&gb_argc, gb.argv.data());
  if (gb_argc > 1) throw UsageError("unknown Google Benchmark flag " + std::string(gb.argv[1]));
}

// What each case should cost, for the ETA: every repetition measures for its case
// time, warms up for a tenth of it (pingpong adds a quarter for its batch-timed
// trips), and pays ~30 ms to fork and reap a pair.
std::map<std::string, double> expected_seconds(const std::vector<Case>& cases) {
  std::map<std::string, double> expected_s;
  for (const Case& c : cases) {
    expected_s[c.name] = c.repetitions * (c.spec.target_seconds * 1.25 + 0.03);
  }
  return expected_s;
}

// Runs the registered cases. False when there are no results to write: Google
// Benchmark ran nothing (--benchmark_list_tests).
bool run_cases(TerminalReporter& terminal, const RunArgs& r, const std::string& gb_path) {
  // GB reports a filter that matches nothing on this stream, before our own line;
  // caught here so that bad input stays one line. The terminal reporter switches to
  // stderr itself when the first case is about to run (ReportContext).
  std::ostringstream gb_errors;
  terminal.SetErrorStream(&gb_errors);
  CaseJsonReporter json;
  const std::size_t ran = benchmark::RunSpecifiedBenchmarks(&terminal, &json);
  benchmark::Shutdown();
  terminal.SetErrorStream(&std::cerr);  // gb_errors ends here
  if (ran == 0) {
    throw UsageError(r.benchmark_filter.empty()
                         ? std::string("run: no case ran")
                         : "--benchmark_filter: '" + r.benchmark_filter + "' matches no case");
  }
  std::cerr << gb_errors.str();
  struct stat written {};
  return !(::stat(gb_path.c_str(), &written) == 0 && written.st_size == 0);
}

bool listing_only(const RunArgs& r) {
  return std::any_of(r.benchmark_flags.begin(), r.benchmark_flags.end(), [](const std::string& f) {
    return f == "--benchmark_list_tests" || f == "--benchmark_list_tests=true" ||
           f == "--benchmark_list_tests=1";
  });
}

// Whether the "cases planned" line may print now: not when only listing, and not when
// the filter might match nothing (that must stay a one-line error). GB matches the
// filter against its own names with std::regex_search, a leading '-' negating.
bool announce_plan(const RunArgs& r, const std::vector<Case>& cases) {
  if (r.quiet || listing_only(r)) return false;
  if (r.benchmark_filter.empty()) return true;
  const bool negate = r.benchmark_filter[0] == '-';
  const std::regex re(negate ? r.benchmark_filter.substr(1) : r.benchmark_filter,
                      std::regex::extended);
  return std::any_of(cases.begin(), cases.end(),
                     [&](const Case& c) { return std::regex_search(c.name, re) != negate; });
}

// --hgrm DIR: the exporter the suite feeds (it creates DIR with its first file).
std::unique_ptr<HgrmExporter> start_hgrm(const std::string& dir) {
  if (dir.empty()) return nullptr;
  auto exporter = std::make_unique<HgrmExporter>(dir);
  set_hgrm_exporter(exporter.get());
  return exporter;
}

}  // namespace

int cmd_run(cli::Args& args, const char* argv0) {
  RunArgs r = parse_run(args);
  if (r.list_only) {  // before anything is created
    print_case_names(r);
    return 0;
  }
  preflight(r);
  const std::string gb_path = r.out + ".gb-" + std::to_string(::getpid()) + ".tmp";
  const OwnedName gb_file = create_gb_file(gb_path, r.out);

  const HarnessCosts costs = measure_harness_costs();
  nlohmann::json env = run_context(r, costs);
  const std::vector<Case> cases = plan(r.plan, costs.timer_ns);
  // Something on stderr within the first second: the floors take a few.
  if (announce_plan(r, cases)) {
    std::cerr << cases.size() << " cases planned; measuring the floors first\n" << std::flush;
  }
  const std::vector<PlacementCpus> used = placements_used(r.plan);
  FloorsByPlacement floors = measure_run_floors(r.plan, used, costs.timer_ns);
  placements_to_context(floors, used, r.plan, env);
  if (!r.topology_notes.empty()) env["topology_notes"] = r.topology_notes;
  env["mechanisms"] = mechanisms_context();
  register_cases(cases, floors, floor_check(floors, used, env));
  std::vector<std::string> warnings;
  for (const auto& [key, f] : floors)
    warnings.insert(warnings.end(), f.errors.begin(), f.errors.end());
  BenchmarkArgs gb_args;
  init_benchmark(gb_args, argv0, gb_path, r.benchmark_flags);

  // The warnings go into the results too, so a report drawn later shows them.
  for (std::string& w : noise_warnings(env)) warnings.push_back(std::move(w));
  env["warnings"] = warnings;
  TerminalReporter terminal(cases.size(), env, warnings, expected_seconds(cases), r.quiet);
  const std::unique_ptr<HgrmExporter> hgrm = listing_only(r) ? nullptr : start_hgrm(r.hgrm_dir);
  const bool ran = run_cases(terminal, r, gb_path);
  set_hgrm_exporter(nullptr);
  if (!ran) return 0;

  recheck_placement_floors(floors, used, r.plan, interrupted, env);
  env["incomplete"] = interrupted();
  const nlohmann::json benchmarks = finish_json(gb_path, r.out, env, [&](nlohmann::json& doc) {
    annotate_placements(doc, cases, used);
    settle_floor_ratios(doc, kMaxFloorRetries, [&](nlohmann::json& context) {
      return floors_again_for_file(floors, used, r.plan, context);
    });
    derive_transport_ratios(doc);
  });
  std::cout << "\n" << format_verdicts(compute_verdicts(benchmarks));
  if (hgrm) std::cout << "hgrm: " << hgrm->files() << " files in " << r.hgrm_dir << "\n";
  std::cout << "results: " << r.out << (interrupted() ? " (incomplete: interrupted)" : "") << "\n";
  if (interrupted()) return 130;
  return terminal.failed_cases() > 0 ? 1 : 0;
}

}  // namespace ipcbench
