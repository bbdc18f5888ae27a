// The Mann-Whitney U test against scipy.stats.mannwhitneyu (values computed with
// Debian's python3-scipy 1.10, method exact below 21 values per side without ties,
// asymptotic with continuity correction otherwise), and compare's verdicts.
#include "harness/compare.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

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
  EXPECT_NEAR(mann_whitney_p(V{1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, V{5, 6, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16}),
              0.015092165306343913, 1e-9);
  V a(30), b(30);
  std::iota(a.begin(), a.end(), 0.0);
  std::iota(b.begin(), b.end(), 10.0);  // 30 per side: past the exact table
  EXPECT_NEAR(mann_whitney_p(a, b), 0.00022448380595775603, 1e-9);
}

TEST(MannWhitney, DegenerateSamples) {
  EXPECT_EQ(mann_whitney_p(V{}, V{1, 2}), 1.0);
  EXPECT_EQ(mann_whitney_p(V{5, 5, 5}, V{5, 5, 5}), 1.0);  // all tied: no evidence
  EXPECT_NEAR(smallest_p(3, 3), 0.1, 1e-12);
  EXPECT_NEAR(smallest_p(4, 4), 2.0 / 70, 1e-12);
}

RunValues run_with(double p50_scale, std::size_t reps) {
  RunValues r;
  for (const char* name : {"pingpong/pipe/size:64/capacity:16/wait:block", "stream/pipe/size:64/capacity:16/wait:block"}) {
    for (std::size_t i = 0; i < reps; ++i) {
      const double jitter = 1.0 + 0.01 * static_cast<double>(i);
      r.cases[name][Metric::p50].push_back(1000 * jitter * (std::string(name).starts_with("ping") ? p50_scale : 1));
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
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_EQ(rows[i].verdict, Verdict::same) << rows[i].name;
  // Faster is an improvement, not a regression.
  EXPECT_EQ(compare_runs(run_with(2, 5), run_with(1, 5), {}).front().verdict, Verdict::improvement);
}

TEST(Compare, ThreeRepetitionsCannotClaimSignificance) {
  for (const CompareRow& row : compare_runs(run_with(1, 3), run_with(2, 3), {})) {
    EXPECT_EQ(row.verdict, Verdict::too_few) << row.name;
  }
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

}  // namespace
}  // namespace ipcbench
