#pragma once
// Comparing two result files: each case's repetitions in the base run against the
// same case's in the new run, per metric, with a Mann-Whitney U test deciding whether
// a difference is more than noise. Comparing several: the fleet view, each machine's
// figures over its own floors, side by side. `ipcbench compare` prints what this returns.
#include <array>
#include <cmath>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipcbench {

// Two-sided p-value of the Mann-Whitney U test of samples a and b: exact (the
// distribution of U counted) when neither sample has more than 20 values and there
// are no ties; otherwise the normal approximation with tie and continuity corrections
// (as scipy.stats.mannwhitneyu does). 1 when a sample is empty.
double mann_whitney_p(std::span<const double> a, std::span<const double> b);
// The smallest two-sided p-value any two samples of these sizes can give (no ties):
// 2 / C(n1 + n2, n1). Above alpha, no difference can be significant.
double smallest_p(std::size_t n1, std::size_t n2);

enum class Metric { p50, p99, throughput };
std::string_view to_string(Metric m) noexcept;

// What a results file says about the machine it ran on (from its JSON context); empty
// strings and NaN where the file does not say.
struct RunContext {
  std::string host_name, cpu_model, kernel, preset;
  double floor_cacheline_rtt_ns = NAN, floor_wake_rtt_ns = NAN;
  std::map<std::string, double> floor_memcpy_bytes_per_s;  // keyed by message size, as in JSON
  // A --placement run's round-trip floors by placement: {cache line, wake-up} (memcpy is
  // one core's, the same for every placement).
  std::map<std::string, std::array<double, 2>> placement_rtt_floors_ns;
};

// One result file, reduced to what compare needs: per case, the per-repetition values
// of each metric (already divided by the run's floor when normalised).
struct RunValues {
  std::string path;
  RunContext context;
  std::map<std::string, std::map<Metric, std::vector<double>>> cases;
  std::map<std::string, std::string> errors;  // cases that did not run, and why
};

// The largest results file a reader accepts (every reader: compare, plot.py, trend.py,
// bench_ci.py). A default run writes about 3.3 MB, so this leaves room for many more
// repetitions, while a runaway or wrong file is refused in a moment instead of being
// parsed into gigabytes.
inline constexpr std::size_t kMaxResultsBytes = std::size_t{64} << 20;
// Nesting deeper than this is no results file (ours nest four levels).
inline constexpr int kMaxResultsDepth = 64;

// Reads a results file: a regular file (or a pipe) of at most kMaxResultsBytes, then
// parse_run. Throws UsageError with one line for a missing, unreadable, oversized or
// malformed file.
RunValues load_run(const std::string& path, bool normalize);
// The first two steps of load_run, for other readers of results files (summary):
// the text of a regular file or pipe of at most kMaxResultsBytes, and that text parsed
// and checked (strict JSON, nesting, a benchmarks array, the types of the fields ipcbench
// reads). Both throw UsageError with one line, starting "compare: ".
std::string read_results_text(const std::string& path);
nlohmann::json parse_results(std::string_view text, const std::string& path);
// Parses the text of a results file; `path` only names it in messages. normalize:
// latencies over the run's matching round-trip floor (cache line for polling waits,
// wake-up for sleeping ones), throughput over the memcpy floor at the case's size, so
// runs from different machines compare. Throws UsageError with one line for anything
// that is not Google Benchmark JSON as ipcbench reads it: not JSON (NaN, Infinity and
// numbers past a double are not JSON either), no "benchmarks" array, an entry that is
// not an object with a string "name", or a field compare reads with the wrong type.
// Odd but valid, and accepted: entries without run_type (iterations), failed entries
// (error_occurred: recorded in `errors`), null or non-positive values (left out), names
// that are not ipcbench's (compared by name; not normalisable), unknown fields.
RunValues parse_run(std::string_view text, const std::string& path, bool normalize);

// unconfirmed: too few repetitions to test, but a change past the threshold.
enum class Verdict { same, regression, improvement, too_few, unconfirmed };
std::string_view to_string(Verdict v) noexcept;

struct CompareRow {
  std::string name;
  Metric metric;
  std::size_t n_base = 0, n_new = 0;
  double base = 0, now = 0;  // medians
  double change = 0;         // (now - base) / base
  double p = 1;
  Verdict verdict = Verdict::same;
};

struct CompareOptions {
  double threshold = 0.05;  // a change must exceed this share of the base median
  double alpha = 0.05;
  std::vector<Metric> metrics{Metric::p50, Metric::p99, Metric::throughput};
  // Instead of `metrics`: each case's own figure, the one its pattern exists to
  // measure: throughput for stream, p50 for pingpong and rate. A stream's latency
  // follows how full the queue happened to run and a pingpong's throughput is its
  // latency again, so neither adds evidence and both add false alarms.
  bool primary = false;
};

// Every case and metric present in both runs: regressions, improvements, unconfirmed,
// then the rest. A latency that rose, or a throughput that fell, by more than the
// threshold with p < alpha is a regression; the opposite an improvement. Samples that
// cannot reach p < alpha (too few repetitions) are never a regression: `unconfirmed`
// when the medians moved past the threshold, `too_few` otherwise.
std::vector<CompareRow> compare_runs(const RunValues& base, const RunValues& now,
                                     const CompareOptions& opt);

// Floors of two runs further apart than this share (of the lower) mean different
// machines, or one of them loaded: raw times do not compare.
inline constexpr double kFloorTolerance = 0.25;
// One line per way the two runs' machines differ (CPU model, kernel, a floor past
// kFloorTolerance), each ending with the advice to compare over floors unless
// `normalized` already does. Empty when the runs are alike, or do not say.
std::vector<std::string> context_warnings(const RunContext& base, const RunContext& now,
                                          bool normalized);

// A change at least this ratio either way reads as a ratio ("3.1x slower"); a smaller
// one as a percentage ("12.0% slower").
inline constexpr double kRatioFrom = 1.5;
// The change from base to now in words, the direction following the metric (a latency
// that rose is slower, a throughput that rose is faster).
std::string describe_change(Metric m, double base, double now);
// A figure in adaptive units: latency in ns, µs, ms or s; throughput in B/s, kB/s, MB/s
// or GB/s (decimal, as memcpy and network figures are quoted). Three significant digits.
std::string format_value(Metric m, double v);

// The fewest repetitions a side needs for the Mann-Whitney test to reach p < alpha
// against as many (at least 5: 4 against 4 can only just do it, with no overlap at all).
std::size_t repetitions_to_confirm(double alpha);
// The command that runs one case again with `repetitions`, so a change can be tested:
// `ipcbench run --repetitions 5 --benchmark_filter='^NAME(/|$)'`, NAME's regex
// characters escaped.
std::string confirm_command(const std::string& name, std::size_t repetitions);

// --- the fleet view: several runs side by side, each over its own floors ---------------

// A figure over its run's floor, as a cost (lower is better for every metric): latency
// over the round-trip floor of its wait mode (cache line when polling, wake-up when
// sleeping); memcpy's bandwidth at the case's size over the throughput. NaN when the
// run has no such floor.
double x_floor(const RunContext& ctx, const std::string& name, Metric m, double figure);

struct FleetCell {
  double raw = NAN;      // the median, in the metric's unit; NaN when the run lacks the case
  double x_floor = NAN;  // raw over that run's floor (see x_floor())
  std::size_t n = 0;     // repetitions
};
struct FleetRow {
  std::string name;
  Metric metric;
  std::vector<FleetCell> cells;  // one per run, in the order given
  int best = -1;                 // the cell with the lowest x_floor; -1 when none has one
};
// Every case in any run, with the metrics `opt` picks (primary: one per case), in name
// order. Threshold and alpha play no part: nothing is tested, only laid side by side.
std::vector<FleetRow> fleet_rows(std::span<const RunValues> runs, const CompareOptions& opt);

}  // namespace ipcbench
