#pragma once
// The answer a run exists for: per pattern, message size and way of waiting, which
// mechanism is fastest, by how much, and how sure the repetitions make it. Pure: it
// reads Google Benchmark JSON entries (the run's own, or a results file's) and
// computes; nothing here prints or measures, so the run and `ipcbench summary` agree.
//
// Rules:
//  - pingpong is ranked by p50_ns (lower is better), stream by msgs_per_s (higher is
//    better): each pattern's primary figure, as `compare --metric primary` reads it.
//    rate is not ranked: its cases answer how latency grows with load, not which is
//    fastest.
//  - Only the main grid's capacity counts: per pattern, the capacity most cases have
//    (a sweep spreads its points over many capacities, each with fewer cases). Ties go
//    to the smaller capacity.
//  - waiting "polling" is spin, spin_yield, adaptive and sqpoll; "sleeping" is block,
//    eventfd and sem. A mechanism's figure is its best case of that way of waiting.
//  - value is the median of the repetitions, spread their median absolute deviation.
//    ratio is how many times better the best is than the runner-up (>= 1), and
//    ratio_spread propagates the two relative spreads (hyperfine's "± x times");
//    null when either has a single repetition.
//  - Failed and not-runnable cases are left out of the ranking and reported apart.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ipcbench {

struct VerdictReport {
  // One entry per pattern x size x waiting, in the documented format (the results'
  // context.verdicts), ordered by pattern, size, then polling before sleeping.
  nlohmann::json verdicts = nlohmann::json::array();
  // Not runnable (and beyond-saturation) cases: reason -> case names.
  std::map<std::string, std::vector<std::string>> not_runnable;
  // Failed cases: name -> first error.
  std::map<std::string, std::string> failed;
};

// From a results document's "benchmarks" array (entries that are not iterations, or
// not ipcbench's case names, are ignored). Throws nothing for odd entries: a reader of
// untrusted files validates them first (harness/compare.hpp's load_run).
VerdictReport compute_verdicts(const nlohmann::json& benchmarks);

// "polling" for spin, spin_yield, adaptive, sqpoll; "sleeping" for block, eventfd, sem; "" else.
std::string waiting_of(const std::string& wait_mode);

// The verdict block printed after a run and by `ipcbench summary`: two lines per
// entry, then not-runnable cases one line per reason and failed cases one line each.
std::string format_verdicts(const VerdictReport& report);

// Engineering units: "180 ns", "1.25 µs", "3.1 ms"; "1.23 M msgs/s".
std::string format_metric(double value, const std::string& unit);

}  // namespace ipcbench
