// The Mann-Whitney U test against scipy.stats.mannwhitneyu (values computed with
// Debian's python3-scipy 1.10, method exact below 21 values per side without ties,
// asymptotic with continuity correction otherwise), compare's verdicts, and the
// results reader's answer to files that are not results.
#include "harness/compare.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "harness/error.hpp"

namespace ipcbench {
namespace {

using V = std::vector<double>;

TEST(MannWhitney, ExactPValuesMatchScipy) {
  EXPECT_NEAR(mann_whitney_p(V{1, 2, 3}, V{4, 5, 6}), 0.1, 1e-12);
  EXPECT_NEAR(mann_whitney_p(V{4, 5, 6}, V{1, 2, 3}), 0.1, 1e-12);  // two-sided
  EXPECT_NEAR(mann_whitney_p(V{1, 2, 3, 4}, V{5, 6, 7, 8}), 0.02857142857142857, 1e-12);
  EXPECT_NEAR(mann_whitney_p(V{1, 2, 3, 4, 5}, V{6, 7, 8, 9, 10}), 0.007936507936507936, 1e-12);
  EXPECT_NEAR(mann_whitney_p(V{1, 3, 5, 7, 9}, V{2, 4, 6, 8, 10}), 0.6904761904761905, 1e-12);
}

TEST(MannWhitney, NormalApproximationWithTiesMatchesScipy) {
  EXPECT_NEAR(mann_whitney_p(V{1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
                             V{5, 6, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16}),
              0.015092165306343913, 1e-9);
  V a(30), b(30);
  std::iota(a.begin(), a.end(), 0.0);
  std::iota(b.begin(), b.end(), 10.0);  // 30 per side: past the exact table
  EXPECT_NEAR(mann_whitney_p(a, b), 0.00022448380595775603, 1e-9);
}

// U from rank sums (what compare uses) against U counted pair by pair, the definition,
// on small samples full of ties.
double p_by_pairs(const std::vector<double>& a, const std::vector<double>& b) {
  double u = 0;
  for (double x : a) {
    for (double y : b) u += x > y ? 1.0 : x == y ? 0.5 : 0.0;
  }
  // Same tie correction and normal approximation as mann_whitney_p's asymptotic branch.
  std::vector<double> pooled(a);
  pooled.insert(pooled.end(), b.begin(), b.end());
  std::sort(pooled.begin(), pooled.end());
  double ties = 0;
  for (std::size_t i = 0; i < pooled.size();) {
    std::size_t j = i;
    while (j < pooled.size() && pooled[j] == pooled[i]) ++j;
    ties += std::pow(static_cast<double>(j - i), 3) - static_cast<double>(j - i);
    i = j;
  }
  const double n1 = static_cast<double>(a.size()), n2 = static_cast<double>(b.size()), n = n1 + n2;
  const double var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)));
  if (var <= 0) return 1;
  const double z = std::max(0.0, (std::abs(u - n1 * n2 / 2) - 0.5) / std::sqrt(var));
  return std::min(1.0, std::erfc(z / std::sqrt(2.0)));
}

TEST(MannWhitney, RankSumsAgreeWithCountingPairs) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::uniform_int_distribution<int> len(1, 30), value(0, 5);  // few values: many ties
    std::vector<double> a(static_cast<std::size_t>(len(rng))),
        b(static_cast<std::size_t>(len(rng)));
    for (double& x : a) x = value(rng);
    for (double& y : b) y = value(rng);
    EXPECT_NEAR(mann_whitney_p(a, b), p_by_pairs(a, b), 1e-12) << "trial " << trial;
  }
}

TEST(MannWhitney, AMillionValuesASideStillCompare) {
  // A results file may hold one case a million times (64 MiB of minimal entries);
  // counting 10^12 pairs would take hours, ranks take a moment.
  std::vector<double> a(1'000'000), b(1'000'000);
  std::iota(a.begin(), a.end(), 0.0);
  std::iota(b.begin(), b.end(), 0.5);
  EXPECT_GT(mann_whitney_p(a, b), 0.5);  // interleaved: no difference
  for (double& y : b) y += 1e6;          // every b above every a
  EXPECT_LT(mann_whitney_p(a, b), 1e-100);
}

TEST(MannWhitney, DegenerateSamples) {
  EXPECT_EQ(mann_whitney_p(V{}, V{1, 2}), 1.0);
  EXPECT_EQ(mann_whitney_p(V{5, 5, 5}, V{5, 5, 5}), 1.0);  // all tied: no evidence
  EXPECT_NEAR(smallest_p(3, 3), 0.1, 1e-12);
  EXPECT_NEAR(smallest_p(4, 4), 2.0 / 70, 1e-12);
}

RunValues run_with(double p50_scale, std::size_t reps) {
  RunValues r;
  for (const char* name : {"pingpong/pipe/size:64/capacity:16/wait:block",
                           "stream/pipe/size:64/capacity:16/wait:block"}) {
    for (std::size_t i = 0; i < reps; ++i) {
      const double jitter = 1.0 + 0.01 * static_cast<double>(i);
      r.cases[name][Metric::p50].push_back(1000 * jitter *
                                           (std::string(name).starts_with("ping") ? p50_scale : 1));
      r.cases[name][Metric::throughput].push_back(1e9 * jitter);
    }
  }
  return r;
}

TEST(Compare, IdenticalRunsHaveNoRegression) {
  for (const CompareRow& row : compare_runs(run_with(1, 5), run_with(1, 5), {})) {
    EXPECT_EQ(row.verdict, Verdict::same) << row.name;
  }
}

TEST(Compare, TwiceSlowerOverFiveRepetitionsIsARegressionOfThatCaseOnly) {
  const std::vector<CompareRow> rows = compare_runs(run_with(1, 5), run_with(2, 5), {});
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().verdict, Verdict::regression);  // regressions first
  EXPECT_EQ(rows.front().name, "pingpong/pipe/size:64/capacity:16/wait:block");
  EXPECT_EQ(rows.front().metric, Metric::p50);
  EXPECT_NEAR(rows.front().change, 1.0, 1e-9);
  for (std::size_t i = 1; i < rows.size(); ++i)
    EXPECT_EQ(rows[i].verdict, Verdict::same) << rows[i].name;
  // Faster is an improvement, not a regression.
  EXPECT_EQ(compare_runs(run_with(2, 5), run_with(1, 5), {}).front().verdict, Verdict::improvement);
}

TEST(Compare, ThreeRepetitionsCannotClaimSignificance) {
  for (const CompareRow& row : compare_runs(run_with(1, 3), run_with(2, 3), {})) {
    // The doubled pingpong latency is shown, unconfirmed; the unchanged rest cannot tell.
    EXPECT_EQ(row.verdict, row.name.starts_with("pingpong") && row.metric == Metric::p50
                               ? Verdict::unconfirmed
                               : Verdict::too_few)
        << row.name << " " << to_string(row.metric);
  }
}

TEST(Compare, ChangesPastTheThresholdWithOneRepetitionAreUnconfirmedLargestFirst) {
  RunValues base = run_with(1, 1), now = run_with(3, 1);
  const std::string stream = "stream/pipe/size:64/capacity:16/wait:block";
  now.cases[stream][Metric::throughput] = {1.2e9};  // 20% faster: past 5%, smaller than 3x
  const std::vector<CompareRow> rows = compare_runs(base, now, {});
  ASSERT_GE(rows.size(), 2u);
  EXPECT_EQ(rows[0].verdict, Verdict::unconfirmed);
  EXPECT_EQ(rows[0].name, "pingpong/pipe/size:64/capacity:16/wait:block");
  EXPECT_EQ(rows[1].verdict, Verdict::unconfirmed);
  EXPECT_EQ(rows[1].name, stream);
  for (const CompareRow& row : rows) EXPECT_NE(row.verdict, Verdict::regression) << row.name;
  // Within the threshold it is too few to tell, not unconfirmed.
  CompareOptions wide;
  wide.threshold = 5;  // 500%
  for (const CompareRow& row : compare_runs(base, now, wide))
    EXPECT_EQ(row.verdict, Verdict::too_few) << row.name;
}

TEST(Compare, ConfirmCommandRunsTheCaseAgainWithEnoughRepetitions) {
  EXPECT_EQ(repetitions_to_confirm(0.05), 5u);   // 5 against 5 reach p = 0.008
  EXPECT_EQ(repetitions_to_confirm(0.001), 7u);  // 6 against 6: 0.0022; 7 against 7: 0.0006
  EXPECT_EQ(confirm_command("pingpong/pipe/size:64/capacity:16/wait:block", 5),
            "ipcbench run --repetitions 5 "
            "--benchmark_filter='^pingpong/pipe/size:64/capacity:16/wait:block(/|$)'");
  EXPECT_EQ(confirm_command("a.b(c)'d", 5),
            "ipcbench run --repetitions 5 --benchmark_filter='^a\\.b\\(c\\)'\\''d(/|$)'");
}

TEST(Compare, LargeChangesReadAsRatiosSmallOnesAsPercentages) {
  EXPECT_EQ(describe_change(Metric::p50, 100, 310), "3.1x slower");
  EXPECT_EQ(describe_change(Metric::p50, 310, 100), "3.1x faster");
  EXPECT_EQ(describe_change(Metric::throughput, 1e9, 2e9), "2.0x faster");
  EXPECT_EQ(describe_change(Metric::throughput, 2e9, 1e9), "2.0x slower");
  EXPECT_EQ(describe_change(Metric::p99, 100, 2500), "25x slower");
  EXPECT_EQ(describe_change(Metric::p50, 100, 112), "12.0% slower");
  EXPECT_EQ(describe_change(Metric::throughput, 100, 90), "10.0% slower");
  EXPECT_EQ(describe_change(Metric::p50, 100, 100), "same");
  EXPECT_EQ(describe_change(Metric::p50, 0, 100), "-");
}

TEST(Compare, FiguresInAdaptiveUnits) {
  EXPECT_EQ(format_value(Metric::p50, 412), "412 ns");
  EXPECT_EQ(format_value(Metric::p50, 73513), "73.5 µs");
  EXPECT_EQ(format_value(Metric::p99, 2.5e6), "2.5 ms");
  EXPECT_EQ(format_value(Metric::p99, 3e9), "3 s");
  EXPECT_EQ(format_value(Metric::throughput, 512), "512 B/s");
  EXPECT_EQ(format_value(Metric::throughput, 16.3e6), "16.3 MB/s");
  EXPECT_EQ(format_value(Metric::throughput, 5.37e9), "5.37 GB/s");
  EXPECT_EQ(format_value(Metric::throughput, 2e3), "2 kB/s");
  EXPECT_EQ(format_value(Metric::p50, NAN), "-");
}

RunContext machine(const char* cpu, double cacheline_ns) {
  RunContext c;
  c.host_name = "h";
  c.cpu_model = cpu;
  c.kernel = "Linux 6.1.0 x86_64";
  c.floor_cacheline_rtt_ns = cacheline_ns;
  c.floor_wake_rtt_ns = 60000;
  c.floor_memcpy_bytes_per_s = {{"64", 6e10}};
  return c;
}

// A --placement run's case is read against its own placement's round-trip floors.
TEST(Compare, XFloorOfAPlacementUsesItsOwnFloors) {
  const RunValues r = parse_run(R"({"context": {"floor_cacheline_rtt_ns": 100,
    "floor_wake_rtt_ns": 40000, "floor_memcpy_bytes_per_s": {"64": 6.4e10},
    "placements": {"same_l3": {"floor_cacheline_rtt_ns": 100, "floor_wake_rtt_ns": 40000},
                   "same_cpu": {"floor_cacheline_rtt_ns": null, "floor_wake_rtt_ns": 2000}}},
    "benchmarks": []})",
                                "r.json", false);
  const std::string base = "pingpong/pipe/size:64/capacity:16/wait:";
  // One way over half the round trip (2 ns of copying at 64 B): 1001 / (2002 / 2).
  EXPECT_DOUBLE_EQ(x_floor(r.context, base + "block/placement:same_cpu", Metric::p50, 1001), 1.0);
  EXPECT_DOUBLE_EQ(x_floor(r.context, base + "block/placement:same_l3", Metric::p50, 20001), 1.0);
  EXPECT_DOUBLE_EQ(x_floor(r.context, base + "block", Metric::p50, 20001), 1.0);
  EXPECT_TRUE(std::isnan(x_floor(r.context, base + "spin/placement:same_cpu", Metric::p50, 51)));
  EXPECT_DOUBLE_EQ(x_floor(r.context, base + "spin/placement:same_l3", Metric::p50, 51), 1.0);
}

TEST(ContextWarnings, AlikeRunsGiveNone) {
  EXPECT_TRUE(context_warnings(machine("Xeon", 120), machine("Xeon", 140), false).empty());
  EXPECT_TRUE(context_warnings(RunContext{}, machine("Xeon", 120), false).empty());  // unknown
}

TEST(ContextWarnings, DifferentCpuKernelAndFloorsEachWarnAndSuggestNormalizing) {
  RunContext other = machine("AMD EPYC 7B13", 410);
  other.kernel = "Linux 6.18.0 x86_64";
  other.floor_memcpy_bytes_per_s["64"] = 2e10;
  const std::vector<std::string> w = context_warnings(machine("Xeon", 120), other, false);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_NE(w[0].find("different CPUs: 'Xeon' and 'AMD EPYC 7B13'"), std::string::npos) << w[0];
  EXPECT_NE(w[1].find("different kernels"), std::string::npos) << w[1];
  EXPECT_NE(w[2].find("cache-line round-trip floors differ by more than 25%: 120 ns and 410 ns"),
            std::string::npos)
      << w[2];
  EXPECT_NE(w[3].find("memcpy floors differ by more than 25% at sizes 64 B"), std::string::npos)
      << w[3];
  for (const std::string& line : w) EXPECT_NE(line.find("--normalize floor"), std::string::npos);
  // Already over floors: still said, without the advice.
  for (const std::string& line : context_warnings(machine("Xeon", 120), other, true))
    EXPECT_EQ(line.find("--normalize floor"), std::string::npos) << line;
  // 25% apart exactly is still the same machine; past it is not.
  EXPECT_TRUE(context_warnings(machine("Xeon", 100), machine("Xeon", 125), false).empty());
  EXPECT_EQ(context_warnings(machine("Xeon", 100), machine("Xeon", 126), false).size(), 1u);
}

TEST(Fleet, EachRunOverItsOwnFloorsTheLowestMarked) {
  std::vector<RunValues> runs(3);
  const std::string spin = "pingpong/shm_ring/size:64/capacity:16/wait:spin",
                    block = "pingpong/pipe/size:64/capacity:16/wait:block",
                    stream = "stream/pipe/size:64/capacity:16/wait:block";
  runs[0].context = machine("Xeon", 100);
  runs[1].context = machine("EPYC", 400);
  runs[2].context = machine("Arm", 50);
  // One-way latencies over the one-way floor: half the round trip plus 64 B copied at
  // memcpy speed (6e10 B/s in every machine here: 1.07 ns).
  const double copy_ns = 64 / 6e10 * 1e9;
  runs[0].cases[spin][Metric::p50] = {300, 200, 250};  // median 250 over 50 + copy
  runs[1].cases[spin][Metric::p50] = {800};            // slower raw, nearer its floor
  runs[2].cases[spin][Metric::p50] = {200};            // over 25 + copy
  runs[0].cases[block][Metric::p50] = {120000};        // 4x half the 60 us wake-up
  runs[0].cases[stream][Metric::throughput] = {3e10};  // memcpy 6e10 over 3e10: 2x
  runs[0].cases[stream][Metric::p50] = {1};            // not the primary metric of a stream
  CompareOptions opt;
  opt.primary = true;
  const std::vector<FleetRow> rows = fleet_rows(runs, opt);
  ASSERT_EQ(rows.size(), 3u);  // in name order
  EXPECT_EQ(rows[0].name, block);
  EXPECT_NEAR(rows[0].cells[0].x_floor, 120000 / (30000 + copy_ns), 1e-9);
  EXPECT_TRUE(std::isnan(rows[0].cells[1].raw));  // the case is not in that run
  EXPECT_EQ(rows[0].best, 0);
  EXPECT_EQ(rows[1].name, spin);
  EXPECT_EQ(rows[1].cells[0].n, 3u);
  EXPECT_NEAR(rows[1].cells[0].x_floor, 250 / (50 + copy_ns), 1e-9);
  EXPECT_NEAR(rows[1].cells[1].x_floor, 800 / (200 + copy_ns), 1e-9);
  EXPECT_NEAR(rows[1].cells[2].x_floor, 200 / (25 + copy_ns), 1e-9);
  EXPECT_EQ(rows[1].best, 1);
  EXPECT_EQ(rows[2].name, stream);
  EXPECT_EQ(rows[2].metric, Metric::throughput);
  EXPECT_NEAR(rows[2].cells[0].x_floor, 2.0, 1e-12);
}

TEST(ParseRun, ReadsTheMachineFromTheContext) {
  const RunValues r = parse_run(R"({"context": {"host_name": "vm", "cpu_model": "Xeon",
    "kernel": "Linux 6.1", "preset": "quick", "floor_cacheline_rtt_ns": 121,
    "floor_wake_rtt_ns": 73513, "floor_memcpy_bytes_per_s": {"64": 6e10, "128": "x"}},
    "benchmarks": []})",
                                "f.json", false);
  EXPECT_EQ(r.context.host_name, "vm");
  EXPECT_EQ(r.context.cpu_model, "Xeon");
  EXPECT_EQ(r.context.kernel, "Linux 6.1");
  EXPECT_EQ(r.context.preset, "quick");
  EXPECT_EQ(r.context.floor_cacheline_rtt_ns, 121);
  EXPECT_EQ(r.context.floor_wake_rtt_ns, 73513);
  EXPECT_EQ(r.context.floor_memcpy_bytes_per_s.size(), 1u);  // "x" is no bandwidth
  const RunValues bare = parse_run(R"({"benchmarks": []})", "f.json", false);
  EXPECT_TRUE(bare.context.cpu_model.empty());
  EXPECT_TRUE(std::isnan(bare.context.floor_wake_rtt_ns));
}

TEST(Compare, ChangesWithinTheThresholdAreNotRegressions) {
  CompareOptions opt;
  opt.threshold = 1.5;  // 150%: a doubling is within it
  for (const CompareRow& row : compare_runs(run_with(1, 5), run_with(2, 5), opt)) {
    EXPECT_NE(row.verdict, Verdict::regression) << row.name;
  }
}

TEST(Compare, PrimaryComparesStreamThroughputAndPingpongLatencyOnly) {
  CompareOptions opt;
  opt.primary = true;
  const std::vector<CompareRow> rows = compare_runs(run_with(1, 5), run_with(2, 5), opt);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "pingpong/pipe/size:64/capacity:16/wait:block");
  EXPECT_EQ(rows[0].metric, Metric::p50);
  EXPECT_EQ(rows[0].verdict, Verdict::regression);
  EXPECT_EQ(rows[1].name, "stream/pipe/size:64/capacity:16/wait:block");
  EXPECT_EQ(rows[1].metric, Metric::throughput);
  EXPECT_EQ(rows[1].verdict, Verdict::same);
}

// --- the results reader: parse_run (text) and load_run (files) ---------------------

std::string error_of(std::string_view text, bool normalize = false) {
  try {
    parse_run(text, "f.json", normalize);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(ParseRun, ReadsCasesRepetitionsAndFailures) {
  const RunValues r = parse_run(R"({"context": {"floor_wake_rtt_ns": 1000},
    "benchmarks": [
      {"name": "pingpong/pipe/size:64/capacity:16/wait:block", "run_type": "iteration", "p50_ns": 100, "p99_ns": 200},
      {"name": "pingpong/pipe/size:64/capacity:16/wait:block", "run_type": "iteration", "p50_ns": 110, "p99_ns": null},
      {"name": "pingpong/pipe/size:64/capacity:16/wait:block_median", "run_type": "aggregate", "p50_ns": 105},
      {"name": "stream/pipe/size:64/capacity:16/wait:block", "bytes_per_s": 1180591620717411303424},
      {"name": "stream/tcp/size:64/capacity:16/wait:block", "error_occurred": true, "error_message": "boom"},
      {"name": "pingpong/x", "p50_ns": -5, "unknown": [1, {"a": null}]}
    ]})",
                                "f.json", false);
  ASSERT_EQ(r.cases.size(), 3u);  // the failed case is not among them, the aggregate neither
  EXPECT_EQ(r.cases.at("pingpong/pipe/size:64/capacity:16/wait:block").at(Metric::p50),
            (std::vector<double>{100, 110}));
  EXPECT_EQ(r.cases.at("pingpong/pipe/size:64/capacity:16/wait:block").at(Metric::p99),
            (std::vector<double>{200}));
  // No run_type: an iteration; 2^70 is a number like any other.
  EXPECT_EQ(r.cases.at("stream/pipe/size:64/capacity:16/wait:block").at(Metric::throughput),
            (std::vector<double>{1180591620717411303424.0}));
  EXPECT_TRUE(r.cases.at("pingpong/x").empty());  // a non-positive value is left out
  EXPECT_EQ(r.errors.at("stream/tcp/size:64/capacity:16/wait:block"), "boom");
  // A byte-order mark is skipped.
  EXPECT_EQ(parse_run("\xEF\xBB\xBF{\"benchmarks\": []}", "f.json", false).cases.size(), 0u);
}

TEST(ParseRun, RefusesWhatIsNotAResultsFileWithOneLine) {
  const std::pair<const char*, const char*> bad[] = {
      {"", "is empty"},
      {R"({"benchmarks": [{"name": "a", "p50_ns": 1})", "not valid JSON"},  // truncated
      {R"({"benchmarks": [}])", "not valid JSON"},
      {R"({"benchmarks": [{"name": "a", "p50_ns": NaN}]})", "not valid JSON"},
      {R"({"benchmarks": [{"name": "a", "p50_ns": Infinity}]})", "not valid JSON"},
      {R"({"benchmarks": [{"name": "a", "p50_ns": 1e400}]})", "not valid JSON"},
      {"{\"benchmarks\": [{\"name\": \"\xff\"}]}", "not valid JSON"},  // not UTF-8
      {"[1, 2]", "no \"benchmarks\" array"},
      {"null", "no \"benchmarks\" array"},
      {R"({"context": {}})", "no \"benchmarks\" array"},
      {R"({"benchmarks": {"name": "a"}})", "no \"benchmarks\" array"},
      {R"({"benchmarks": [], "context": []})", "\"context\" is not an object"},
      {R"({"benchmarks": [7]})", "benchmarks[0] is not an object"},
      {R"({"benchmarks": [{"p50_ns": 1}]})", "benchmarks[0].name is not a string"},
      {R"({"benchmarks": [{"name": 5}]})", "benchmarks[0].name is not a string"},
      {R"({"benchmarks": [{"name": "a"}, {"name": "a", "run_type": 1}]})",
       "benchmarks[1].run_type is not a string"},
      {R"({"benchmarks": [{"name": "a", "run_name": ["a"]}]})",
       "benchmarks[0].run_name is not a string"},
      {R"({"benchmarks": [{"name": "a", "error_occurred": "yes"}]})",
       "error_occurred is not a boolean"},
      {R"({"benchmarks": [{"name": "a", "error_occurred": true, "error_message": 3}]})",
       "error_message is not a string"},
      {R"({"benchmarks": [{"name": "a", "p50_ns": "12"}]})",
       "benchmarks[0].p50_ns is not a number"},
      {R"({"benchmarks": [{"name": "a", "p99_ns": {}}]})", "benchmarks[0].p99_ns is not a number"},
      {R"({"benchmarks": [{"name": "a", "bytes_per_s": [1]}]})",
       "benchmarks[0].bytes_per_s is not a number"},
  };
  for (const auto& [text, want] : bad) {
    const std::string e = error_of(text);
    EXPECT_NE(e.find(want), std::string::npos) << text << " -> " << e;
    EXPECT_TRUE(e.starts_with("compare: ")) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  EXPECT_NE(error_of(deep).find("nested deeper than 64 levels"), std::string::npos)
      << error_of(deep);
  EXPECT_NE(error_of(R"({"benchmarks": []})", true).find("records no floors"), std::string::npos);
}

TEST(LoadRun, RefusesDirectoriesDevicesMissingAndOversizedFiles) {
  auto error_of_file = [](const std::string& path) {
    try {
      load_run(path, false);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of_file("/").find("is a directory"), std::string::npos);
  EXPECT_NE(error_of_file("/dev/zero").find("not a regular file"), std::string::npos);
  EXPECT_NE(error_of_file("/nonexistent/x.json").find("cannot read"), std::string::npos);
  // One byte over the limit, as a sparse file: refused from its size, never read.
  char path[] = "/tmp/ipcbench-compare-test-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const bool sized = ::ftruncate(fd, static_cast<off_t>(kMaxResultsBytes + 1)) == 0;
  ::close(fd);
  const std::string e = error_of_file(path);
  ::unlink(path);
  ASSERT_TRUE(sized);
  EXPECT_NE(e.find("larger than 64 MiB"), std::string::npos) << e;
}

}  // namespace
}  // namespace ipcbench
