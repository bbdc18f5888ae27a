#pragma once
// Comparing two result files: each case's repetitions in the base run against the
// same case's in the new run, per metric, with a Mann-Whitney U test deciding whether
// a difference is more than noise. `ipcbench compare` prints what this returns.
#include <cstddef>
#include <map>
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

// One result file, reduced to what compare needs: per case, the per-repetition values
// of each metric (already divided by the run's floor when normalised).
struct RunValues {
  std::string path;
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

enum class Verdict { same, regression, improvement, too_few };
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

// Every case and metric present in both runs, regressions first. A latency that
// rose, or a throughput that fell, by more than the threshold with p < alpha is a
// regression; the opposite an improvement. Samples that cannot reach p < alpha
// (too few repetitions) are `too_few`, never a regression.
std::vector<CompareRow> compare_runs(const RunValues& base, const RunValues& now,
                                     const CompareOptions& opt);

}  // namespace ipcbench
