#include "harness/message.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <utility>

namespace ipcbench {

namespace {

constexpr std::size_t kCacheLine = 64;

std::uint64_t load64(const std::byte* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::uint32_t load32(const std::byte* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

// Four 64-bit lanes per vector, two vectors per 64-byte step. GCC lowers the vector
// type to SSE2 pairs in the default clone and to AVX2 registers in the avx2 clone;
// target_clones picks one when the program loads, so the binary still runs on any
// x86-64. (Written out with vector types because GCC 12 does not auto-vectorize the
// b += a recurrence.)
using Lanes = std::uint64_t __attribute__((vector_size(32)));

#if defined(__x86_64__)
[[gnu::target_clones("avx2", "default")]]
#endif
std::uint64_t checksum(std::span<const std::byte> bytes) noexcept {
  // Fletcher-style: a sums the words, b sums the running a, so the position of
  // every word matters (a plain sum would miss swapped words).
  Lanes a0 = {1, 2, 3, 4}, a1 = {5, 6, 7, 8}, b0 = {}, b1 = {};
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  for (; n >= 64; p += 64, n -= 64) {
    Lanes w0, w1;
    std::memcpy(&w0, p, sizeof w0);
    std::memcpy(&w1, p + 32, sizeof w1);
    a0 += w0;
    a1 += w1;
    b0 += a0;
    b1 += a1;
  }
  std::uint64_t a = 0, b = 0;
  for (; n >= 8; p += 8, n -= 8) {
    a += load64(p);
    b += a;
  }
  std::uint64_t tail = 0;
  for (std::size_t i = 0; i < n; ++i) tail |= std::to_integer<std::uint64_t>(p[i]) << (8 * i);
  std::uint64_t h = bytes.size() * 0x9E3779B97F4A7C15ull;
  auto mix = [&h](std::uint64_t v) { h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2); };
  if (bytes.size() >= 64) {  // short messages skip folding lanes they never touched
    for (int i = 0; i < 4; ++i) {
      mix(a0[i]);
      mix(a1[i]);
      mix(b0[i]);
      mix(b1[i]);
    }
  }
  mix(a);
  mix(b);
  mix(tail);
  return h;
}

AlignedBuffer::AlignedBuffer(std::size_t bytes) : size_(bytes) {
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + kCacheLine - 1) / kCacheLine * kCacheLine;
  data_ = static_cast<std::byte*>(std::aligned_alloc(kCacheLine, rounded));
  if (data_ == nullptr) throw std::bad_alloc();
  std::memset(data_, 0, rounded);
}
AlignedBuffer::AlignedBuffer(AlignedBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& o) noexcept {
  if (this != &o) {
    std::free(data_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}
AlignedBuffer::~AlignedBuffer() { std::free(data_); }

PayloadPool::PayloadPool(std::size_t msg_bytes, std::uint64_t seed)
    : msg_bytes_(msg_bytes),
      stride_((msg_bytes + kCacheLine - 1) / kCacheLine * kCacheLine),
      buffers_(stride_ * kPayloadVariants) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i + 8 <= buffers_.size(); i += 8) {
    const std::uint64_t r = rng();
    std::memcpy(buffers_.data() + i, &r, 8);
  }
  for (int v = 0; v < kPayloadVariants; ++v) {
    std::byte* m = buffers_.data() + v * stride_;
    std::uint32_t check = 0;
    if (msg_bytes_ > kHeaderBytes) {
      check = static_cast<std::uint32_t>(checksum({m + kHeaderBytes, msg_bytes_ - kHeaderBytes}));
    }
    checks_[v] = check;
    std::memset(m, 0, std::min(msg_bytes_, kHeaderBytes));
  }
}

std::span<const std::byte> PayloadPool::message(std::uint64_t seq) noexcept {
  std::byte* m = variant(seq);
  std::byte header[kHeaderBytes] = {};
  const auto seq32 = static_cast<std::uint32_t>(seq);
  std::memcpy(header, &seq32, 4);
  std::memcpy(header + 8, &checks_[seq % kPayloadVariants], 4);
  // sent_ns32 (bytes 4..8) keeps whatever stamp() wrote; zero it when not stamped
  // would cost a store per message for nothing the receiver reads.
  std::memcpy(m, header, std::min<std::size_t>(msg_bytes_, 4));
  if (msg_bytes_ > 8) std::memcpy(m + 8, header + 8, std::min<std::size_t>(msg_bytes_ - 8, 4));
  return {m, msg_bytes_};
}

void PayloadPool::stamp(std::uint64_t seq, std::uint64_t now_ns) noexcept {
  const auto stamp32 = static_cast<std::uint32_t>(now_ns);
  std::memcpy(variant(seq) + kStampOffset, &stamp32, 4);
}

std::uint32_t read_stamp(std::span<const std::byte> msg) noexcept {
  return load32(msg.data() + kStampOffset);
}

VerifyCounts& VerifyCounts::operator+=(const VerifyCounts& o) noexcept {
  verified += o.verified;
  lost += o.lost;
  duplicated += o.duplicated;
  reordered += o.reordered;
  corrupted += o.corrupted;
  truncated += o.truncated;
  return *this;
}

std::string VerifyCounts::describe() const {
  std::string out;
  auto add = [&](std::uint64_t n, const char* what) {
    if (n == 0) return;
    if (!out.empty()) out += ", ";
    out += std::to_string(n) + " " + what;
  };
  add(lost, "lost");
  add(duplicated, "duplicated");
  add(reordered, "reordered");
  add(corrupted, "corrupted");
  add(truncated, "truncated");
  return out.empty() ? "no errors" : out;
}

std::uint64_t Verifier::check(std::span<const std::byte> msg) noexcept {
  const std::size_t want = pool_.msg_bytes();
  if (msg.size() != want) {
    ++counts_.truncated;
    return expected_++;
  }
  // Rebuild the full sequence number from the bits the message carries: the nearest
  // value to the expected one with the same low bits.
  const std::size_t seq_bytes = std::min<std::size_t>(want, 4);
  std::uint32_t low = 0;
  std::memcpy(&low, msg.data(), seq_bytes);
  const int bits = static_cast<int>(seq_bytes * 8);
  const std::uint64_t mask = bits == 64 ? ~0ull : ((std::uint64_t{1} << bits) - 1);
  const std::uint64_t diff = (low - expected_) & mask;
  const std::uint64_t half = std::uint64_t{1} << (bits - 1);
  const std::uint64_t seq =
      diff < half ? expected_ + diff : expected_ - ((mask + 1 - diff) & mask);

  bool intact = true;
  if (want > 8) {
    const std::size_t check_bytes = std::min<std::size_t>(want - 8, 4);
    const std::uint32_t expect_check = pool_.variant_check(seq);
    intact = std::memcmp(msg.data() + 8, &expect_check, check_bytes) == 0;
    if (intact && checksum_payload_ && want > kHeaderBytes) {
      intact = static_cast<std::uint32_t>(checksum(msg.subspan(kHeaderBytes))) == expect_check;
    }
  }
  if (!intact) ++counts_.corrupted;

  if (seq == expected_) {
    if (intact) ++counts_.verified;
    ++expected_;
  } else if (seq > expected_) {
    counts_.lost += seq - expected_;
    if (intact) ++counts_.verified;
    expected_ = seq + 1;
  } else if (seq + 1 == expected_) {
    ++counts_.duplicated;
  } else {
    ++counts_.reordered;
  }
  return seq;
}

}  // namespace ipcbench
