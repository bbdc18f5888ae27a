#include "harness/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

namespace ipcbench {
namespace {

// Nearest-rank percentile of exact values, the definition Histogram approximates.
double exact_percentile(std::vector<std::uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  const auto rank = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))));
  return static_cast<double>(v[rank - 1]);
}

TEST(Histogram, BucketsTileTheRangeWithBoundedWidth) {
  for (int i = 1; i < Histogram::kBuckets; ++i) {
    ASSERT_EQ(Histogram::bucket_low(i),
              Histogram::bucket_low(i - 1) + Histogram::bucket_width(i - 1))
        << i;
    if (i < static_cast<int>(Histogram::kExactBelow)) {
      ASSERT_EQ(Histogram::bucket_width(i), 1u);  // exact region
      continue;
    }
    ASSERT_LE(static_cast<double>(Histogram::bucket_width(i)) /
                  static_cast<double>(Histogram::bucket_low(i)),
              1.0 / 128 + 1e-12)
        << i;
  }
  for (std::uint64_t v :
       {0ull, 1ull, 255ull, 256ull, 257ull, 1000ull, 123456789ull, (1ull << 34) - 1}) {
    const int i = Histogram::index_of(v);
    EXPECT_GE(v, Histogram::bucket_low(i));
    EXPECT_LT(v, Histogram::bucket_low(i) + Histogram::bucket_width(i));
  }
}

TEST(Histogram, PercentilesMatchSortedValuesWithinOnePercent) {
  std::mt19937_64 rng(7);
  // Latency-like: log-normal around 2 us with a long tail, spanning 10 ns to seconds.
  std::lognormal_distribution<double> dist(std::log(2000.0), 2.0);
  std::vector<std::uint64_t> values;
  auto h = std::make_unique<Histogram>();
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<std::uint64_t>(std::clamp(dist(rng), 10.0, 1e10));
    values.push_back(v);
    h->record(v);
  }
  for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
    const double exact = exact_percentile(values, q);
    EXPECT_NEAR(h->percentile(q), exact, exact * 0.01) << "q=" << q;
  }
  EXPECT_EQ(h->count(), values.size());
  EXPECT_EQ(h->min_ns(), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(h->max_ns(), *std::max_element(values.begin(), values.end()));
}

TEST(Histogram, SmallValuesAreExactAndOverflowIsCounted) {
  auto h = std::make_unique<Histogram>();
  for (std::uint64_t v = 1; v <= 100; ++v) h->record(v);
  EXPECT_DOUBLE_EQ(h->percentile(0.5), 50);
  EXPECT_DOUBLE_EQ(h->percentile(0.99), 99);
  EXPECT_DOUBLE_EQ(h->mean_ns(), 50.5);
  h->record(100'000'000'000ull);  // 100 s: past the range
  EXPECT_EQ(h->overflow(), 1u);
  EXPECT_EQ(h->max_ns(), 100'000'000'000ull);
  EXPECT_DOUBLE_EQ(h->percentile(1.0), 100'000'000'000.0);
}

TEST(Histogram, EmptyAndMerge) {
  auto a = std::make_unique<Histogram>();
  auto b = std::make_unique<Histogram>();
  EXPECT_EQ(a->percentile(0.5), 0);
  EXPECT_EQ(a->min_ns(), 0u);
  a->record(1000);
  b->record(3000);
  a->merge(*b);
  EXPECT_EQ(a->count(), 2u);
  EXPECT_EQ(a->min_ns(), 1000u);
  EXPECT_EQ(a->max_ns(), 3000u);
}

}  // namespace
}  // namespace ipcbench
