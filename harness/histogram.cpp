#include "harness/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace ipcbench {

std::uint64_t Histogram::bucket_low(int i) noexcept {
  if (i < static_cast<int>(kExactBelow)) return static_cast<std::uint64_t>(i);
  const int shift = i / (1 << kSubBits) - 1;
  const std::uint64_t sub = static_cast<std::uint64_t>(i % (1 << kSubBits)) + (1u << kSubBits);
  return sub << shift;
}

std::uint64_t Histogram::bucket_width(int i) noexcept {
  if (i < static_cast<int>(kExactBelow)) return 1;
  return std::uint64_t{1} << (i / (1 << kSubBits) - 1);
}

double Histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0.0;
  q = std::clamp(q, 0.0, 1.0);
  // Nearest rank: the smallest value with at least ceil(q * n) samples at or below it.
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // The top bucket also holds every value past the range: only max is exact there.
      if (i == kBuckets - 1 && overflow_ > 0) return static_cast<double>(max_ns_);
      const double mid =
          static_cast<double>(bucket_low(i)) + (static_cast<double>(bucket_width(i)) - 1.0) / 2.0;
      return std::clamp(mid, static_cast<double>(min_ns_), static_cast<double>(max_ns_));
    }
  }
  return static_cast<double>(max_ns_);
}

void Histogram::merge(const Histogram& other) noexcept {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ns_ += other.sum_ns_;
  overflow_ += other.overflow_;
  min_ns_ = std::min(min_ns_, other.min_ns_);
  max_ns_ = std::max(max_ns_, other.max_ns_);
}

}  // namespace ipcbench
