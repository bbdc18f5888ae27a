#pragma once
// A latency histogram with bounded relative error and no allocation: recording is a
// few bit operations and one increment, safe on a measured path.
//
// Buckets are log-linear (as in HdrHistogram): values below 256 ns are kept exactly;
// above, each power of two is split into 128 equal buckets, so a bucket is at most
// 1/128 (0.78%) of its lower bound wide and its midpoint is within 0.4% of any value
// in it. The range runs to 2^34 ns (17 s); larger values land in the top bucket and are
// counted as overflow. min, max, count and sum are exact.
#include <array>
#include <bit>
#include <cstdint>

namespace ipcbench {

class Histogram {
 public:
  static constexpr int kSubBits = 7;                            // 128 buckets per octave
  static constexpr std::uint64_t kExactBelow = 2u << kSubBits;  // 256: exact region
  static constexpr int kMaxExponent = 34;                       // 2^34 ns ~ 17.2 s
  static constexpr int kBuckets = (kMaxExponent - kSubBits) * (1 << kSubBits) + (1 << kSubBits);

  void record(std::uint64_t value_ns) noexcept {
    ++counts_[index_of(value_ns)];
    ++count_;
    sum_ns_ += value_ns;
    if (value_ns < min_ns_) min_ns_ = value_ns;
    if (value_ns > max_ns_) max_ns_ = value_ns;
    if (value_ns >= (std::uint64_t{1} << kMaxExponent)) ++overflow_;
  }

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t overflow() const noexcept { return overflow_; }
  std::uint64_t min_ns() const noexcept { return count_ ? min_ns_ : 0; }
  std::uint64_t max_ns() const noexcept { return max_ns_; }
  std::uint64_t sum_ns() const noexcept { return sum_ns_; }
  double mean_ns() const noexcept {
    return count_ ? static_cast<double>(sum_ns_) / static_cast<double>(count_) : 0.0;
  }

  // The value at quantile q in [0, 1] (nearest rank), as its bucket's midpoint clamped
  // to [min, max]; 0 for an empty histogram.
  double percentile(double q) const noexcept;

  // How many values bucket i holds (for exporting the distribution).
  std::uint64_t bucket_count(int i) const noexcept { return counts_[static_cast<std::size_t>(i)]; }

  // Adds another histogram's samples (used to merge repetitions or sides).
  void merge(const Histogram& other) noexcept;

  static int index_of(std::uint64_t v) noexcept {
    if (v < kExactBelow) return static_cast<int>(v);
    const int exponent = std::bit_width(v) - 1;  // >= kSubBits + 1
    if (exponent >= kMaxExponent) return kBuckets - 1;
    const int shift = exponent - kSubBits;
    return shift * (1 << kSubBits) + static_cast<int>(v >> shift);
  }
  // Lowest value and width of bucket i.
  static std::uint64_t bucket_low(int i) noexcept;
  static std::uint64_t bucket_width(int i) noexcept;

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ns_ = 0;
  std::uint64_t min_ns_ = UINT64_MAX;
  std::uint64_t max_ns_ = 0;
  std::uint64_t overflow_ = 0;
};

}  // namespace ipcbench
