#pragma once
// Reporting: Google Benchmark's reporters do the formatting of runs; these classes
// only rename runs to the case names users see, print progress,
// and finish the JSON file (typed environment added, written atomically).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ipcbench {

// GB appends "/repeats:N/iterations:1/manual_time" to the name of a benchmark
// registered with its own repetitions, a fixed iteration count and manual time;
// ipcbench's case names are "pattern/mechanism/size:N/capacity:N/wait:W" (and
// "/rate:N"), so the suffix is removed.
void strip_run_name(benchmark::BenchmarkReporter::Run& run);

// GB's own JSON reporter, with case names as above.
class CaseJsonReporter : public benchmark::JSONReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;
};

// Terminal output, all on stderr as it happens: the environment, floors and noise
// warnings before the first case; then progress. On a terminal one status line,
// rewritten in place when a case starts and ends ("[i/n] ETA m:ss  case"); elsewhere
// a plain line per finished case. Failed cases always get a line of their own; quiet
// silences everything else but the warnings. The verdict comes after the run, from the
// results file (harness/verdict.hpp).
class TerminalReporter : public benchmark::BenchmarkReporter {
 public:
  // `expected_s`: each case's expected cost in seconds (repetitions x case time, and
  // then some), by case name. The ETA spreads the time spent so far over the cost
  // done, so a main grid of long cases and a sweep of short points both estimate
  // right; a case missing from the map counts as an average one.
  TerminalReporter(std::size_t total_cases, nlohmann::json env, std::vector<std::string> warnings,
                   std::map<std::string, double> expected_s = {}, bool quiet = false);
  ~TerminalReporter() override;
  TerminalReporter(const TerminalReporter&) = delete;
  TerminalReporter& operator=(const TerminalReporter&) = delete;
  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;
  // A case is about to run a repetition (called by the suite through note_case_started).
  void case_started(const std::string& case_name);

  std::size_t failed_cases() const { return failed_; }

 private:
  struct CaseRow {
    std::string name, error;
    std::vector<double> p50_ns, msgs_per_s;
  };
  void add_runs(const std::vector<Run>& runs);
  double eta_s() const;
  void status(const std::string& text);
  void print_header(const Context& context, std::ostream& out) const;
  void print_placements(std::ostream& out) const;
  std::size_t total_;
  std::size_t done_ = 0;
  std::map<std::string, double> expected_s_;
  double expected_total_s_ = 0;
  double expected_done_s_ = 0;
  std::size_t failed_ = 0;
  bool said_interrupted_ = false;
  bool quiet_;
  bool live_;                  // stderr is a terminal: one status line rewritten in place
  bool status_shown_ = false;  // the status line is on screen (and must be erased first)
  std::string current_;        // the case running now
  std::uint64_t start_ns_;
  nlohmann::json env_;
  std::vector<std::string> warnings_;
  std::map<std::string, CaseRow> rows_;
};

// The suite calls this before each repetition of a case; it reaches the
// TerminalReporter running now, if any (none in tests).
void note_case_started(const std::string& case_name);

// Google Benchmark writes NaN and Inf for undefined statistics (the coefficient of
// variation of a counter that is always 0); strict JSON has neither, so outside
// strings they become null.
std::string strict_json_numbers(std::string_view text);

// Merges `env` into the context of the GB JSON file at gb_path, adds the verdicts
// computed from its benchmarks (context.verdicts, harness/verdict.hpp), and writes the
// result to out_path through a temporary file and rename(), so out_path is either
// absent or complete. `amend`, when given, edits the document (context merged) before
// the verdicts are added and it is written. Returns the written document's benchmarks
// array. Throws on a missing or unparsable gb_path.
nlohmann::json finish_json(const std::string& gb_path, const std::string& out_path,
                           const nlohmann::json& env,
                           const std::function<void(nlohmann::json&)>& amend = {});

// "812 ns", "12.3 us", "4.56 ms".
std::string format_ns(double ns);
// "1.23 M/s", "3.45 GB/s" (decimal units).
std::string format_rate(double per_s, const char* unit);

// The finish_json post-pass: every x_floor, x_floor_pair and x_floor_bw of a results
// document derived again from the floors in its context (floors_from_context, the model
// of pingpong_floor_rtt_ns; a /placement:P case from context.placements[P]'s), for each repetition
// from its own p50s and bandwidth, and each case's aggregates (mean, median, stddev, cv) again from
// its repetitions. So every ratio in a file uses the file's floors, whatever floors the run knew at
// the time.
void rederive_floor_ratios(nlohmann::json& doc);

// Google Benchmark's aggregate `what` (mean, median, stddev, cv) of values, as GB
// computes it; NAN for another aggregate (left as it is).
double gb_aggregate(const std::string& what, std::vector<double> v);

// The polling pingpong cases with a repetition whose x_floor is under kMinPollingXFloor,
// each as "<case>: x_floor <the lowest>".
std::vector<std::string> polling_under_floor(const nlohmann::json& doc);

// The finish_json post-pass with the check that the floors were clean: the ratios
// derived again (rederive_floor_ratios); while a polling repetition is under
// kMinPollingXFloor, each is warned about (stderr and context.warnings, with the floor)
// and `measure_again` updates the context's floors, at most max_retries times (it
// returns false when it cannot). A repetition still under them is warned about and left
// as measured: never clamped.
void settle_floor_ratios(nlohmann::json& doc, int max_retries,
                         const std::function<bool(nlohmann::json& context)>& measure_again);

}  // namespace ipcbench
