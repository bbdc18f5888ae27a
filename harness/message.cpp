#include "harness/message.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <utility>

#include "harness/cacheline.hpp"

namespace ipcbench {

namespace {

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

// Little-endian value of 1..3 bytes, by byte loads. memcpy with a runtime length is
// a libc call, and on the header of a just-received message it cost 30-40 ns per
// message in a spinning stream (measured: a 1-byte stream ran at 73 ns per message
// with it, 28 ns without), more than the ring itself.
std::uint32_t load_short(const std::byte* p, std::size_t n) noexcept {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= std::to_integer<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

// Four 64-bit lanes per vector, two vectors per 64-byte step. GCC lowers the vector
// type to SSE2 pairs in the default clone and to AVX2 registers in the avx2 clone;
// target_clones picks one when the program loads, so the binary still runs on any
// x86-64. (Written out with vector types because GCC 12 does not auto-vectorize the
// b += a recurrence.)
using Lanes = std::uint64_t __attribute__((vector_size(32)));

// Not under ThreadSanitizer: the clones' ifunc resolver runs during relocation,
// before TSan's runtime exists, and crashes; sanitizer builds do not time anything.
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
[[gnu::target_clones("avx2", "default")]]
#endif
std::uint64_t
checksum(std::span<const std::byte> bytes) noexcept {
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
  // The last 1..7 bytes: one load ending at the last byte when the range is long
  // enough (the bytes before it were counted already and are shifted out).
  std::uint64_t tail = 0;
  if (n > 0 && bytes.size() >= 8) {
    tail = load64(p + n - 8) >> (8 * (8 - n));
  } else {
    for (std::size_t i = 0; i < n; ++i) tail |= std::to_integer<std::uint64_t>(p[i]) << (8 * i);
  }
  // Odd multipliers combine the sums without letting one cancel another.
  std::uint64_t h = bytes.size() * 0x9E3779B97F4A7C15ull + a * 0xC2B2AE3D27D4EB4Full +
                    b * 0x165667B19E3779F9ull + tail * 0xD6E8FEB86659FD93ull;
  if (bytes.size() >= 64) {  // short ranges never touched the vector lanes
    const Lanes k = {0xFF51AFD7ED558CCDull, 0xC4CEB9FE1A85EC53ull, 0x9FB21C651E98DF25ull,
                     0xA0761D6478BD642Full};
    const Lanes folded = a0 * k + ((b0 * k) << 1) + ((a1 * k) << 2) + ((b1 * k) << 3);
    h += folded[0] + (folded[1] << 7) + (folded[2] << 13) + (folded[3] << 19);
  }
  return h ^ (h >> 29);
}

AlignedBuffer::AlignedBuffer(std::size_t bytes) : size_(bytes) {
  const std::size_t rounded = round_up_to_cache_line(std::max<std::size_t>(bytes, 1));
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
      stride_(round_up_to_cache_line(msg_bytes)),
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
  const auto seq32 = static_cast<std::uint32_t>(seq);
  const std::uint32_t check = checks_[seq % kPayloadVariants];
  // sent_ns32 (bytes 4..8) keeps whatever stamp() wrote: the receiver reads it only
  // from stamped messages, so clearing it would be a store per message for nothing.
  if (msg_bytes_ >= kHeaderBytes) [[likely]] {
    std::memcpy(m, &seq32, 4);  // fixed sizes: two plain stores
    std::memcpy(m + 8, &check, 4);
  } else {
    // The prefix of the header that fits, by byte stores (see load_short).
    for (std::size_t i = 0; i < std::min<std::size_t>(msg_bytes_, 4); ++i) {
      m[i] = static_cast<std::byte>(seq32 >> (8 * i));
    }
    for (std::size_t i = 8; i < msg_bytes_; ++i)
      m[i] = static_cast<std::byte>(check >> (8 * (i - 8)));
  }
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
  if (msg.size() != size_) {
    ++counts_.truncated;
    return expected_++;
  }
  // Rebuild the full sequence number from the bits the message carries: the value
  // nearest the expected one with the same low bits.
  std::uint32_t low = 0;
  if (seq_bytes_ == 4) [[likely]] {
    low = load32(msg.data());
  } else {
    low = load_short(msg.data(), seq_bytes_);
  }
  const std::uint64_t diff = (low - expected_) & seq_mask_;
  const std::uint64_t back = (seq_mask_ + 1 - diff) & seq_mask_;
  if (diff > seq_mask_ / 2 && back > expected_) {
    // A sequence number from before the first message: the seq bytes are damaged.
    ++counts_.corrupted;
    return expected_++;
  }
  const std::uint64_t seq = diff <= seq_mask_ / 2 ? expected_ + diff : expected_ - back;

  bool intact = true;
  if (check_bytes_ > 0) {
    const std::uint32_t expect_check = pool_.variant_check(seq);
    std::uint32_t got = 0;
    if (check_bytes_ == 4) [[likely]] {
      got = load32(msg.data() + 8);
    } else {
      got = load_short(msg.data() + 8, check_bytes_);
    }
    intact = got == (expect_check & check_mask_);
    if (intact && checksum_payload_ && size_ > kHeaderBytes) {
      intact = static_cast<std::uint32_t>(checksum(msg.subspan(kHeaderBytes))) == expect_check;
    }
  }
  if (!intact) ++counts_.corrupted;

  if (seq == expected_) [[likely]] {
    counts_.verified += intact;
    ++expected_;
  } else if (seq > expected_) {
    counts_.lost += seq - expected_;
    counts_.verified += intact;
    expected_ = seq + 1;
  } else if (seq + 1 == expected_) {
    ++counts_.duplicated;
  } else {
    ++counts_.reordered;
  }
  return seq;
}

Verifier::Verifier(const PayloadPool& pool, bool checksum_payload, std::uint64_t first_seq)
    : pool_(pool),
      checksum_payload_(checksum_payload),
      size_(pool.msg_bytes()),
      seq_bytes_(std::min<std::size_t>(size_, 4)),
      check_bytes_(size_ > 8 ? std::min<std::size_t>(size_ - 8, 4) : 0),
      seq_mask_(seq_bytes_ == 4 ? 0xFFFFFFFFull : (std::uint64_t{1} << (8 * seq_bytes_)) - 1),
      check_mask_(check_bytes_ == 4 ? 0xFFFFFFFFu : (std::uint32_t{1} << (8 * check_bytes_)) - 1),
      expected_(first_seq) {}

}  // namespace ipcbench
