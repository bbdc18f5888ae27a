#pragma once
// What every message carries, and how the receiver checks it.
//
// Layout of a message of `msg_bytes` bytes (all little-endian):
//   [0..4)   seq        sequence number (low 32 bits)
//   [4..8)   sent_ns32  producer's clock, low 32 bits (stream latency samples only)
//   [8..12)  check      checksum of the payload that follows
//   [12..)   payload    one of kPayloadVariants pre-built random buffers
// A message shorter than 12 bytes carries the prefix that fits: a 1-byte message
// carries the low byte of seq, and the receiver rebuilds the rest from the sequence
// it expects (so a 1-byte stream still detects loss, duplication and reordering of
// fewer than 128 messages, and corruption of the byte itself).
//
// Why pre-built variants: filling a fresh payload per message would cost as much as
// the copy being measured. Message i uses variant i % 7, so consecutive messages and
// messages one ring lap apart (capacities are powers of two) always differ, and a
// stale or half-copied buffer is caught. The producer writes only the 12-byte header
// per message; the receiver checksums every payload byte it received.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ipcbench {

inline constexpr std::size_t kHeaderBytes = 12;
inline constexpr std::size_t kStampOffset = 4;      // where sent_ns32 lives
inline constexpr std::size_t kMinStampedBytes = 8;  // room for seq and sent_ns32
inline constexpr int kPayloadVariants = 7;

// 64-bit checksum over any byte range: four Fletcher-style lanes over 8-byte words,
// so swapped, stale or zeroed words change it and the loop runs at memory speed.
std::uint64_t checksum(std::span<const std::byte> bytes) noexcept;

// Heap buffer aligned to a cache line, zero-filled (and so touched) on creation.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(std::size_t bytes);
  AlignedBuffer(AlignedBuffer&&) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&&) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer();
  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::span<std::byte> span() const noexcept { return {data_, size_}; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// The producer's messages. Both sides build the same pool from the same seed, so the
// receiver knows each variant's checksum without trusting the sender.
class PayloadPool {
 public:
  PayloadPool(std::size_t msg_bytes, std::uint64_t seed);

  std::size_t msg_bytes() const noexcept { return msg_bytes_; }
  std::uint32_t variant_check(std::uint64_t seq) const noexcept {
    return checks_[seq % kPayloadVariants];
  }

  // Returns message `seq`, its header written (sent_ns32 left as is). Hot path: writes
  // at most 12 bytes.
  std::span<const std::byte> message(std::uint64_t seq) noexcept;
  // Stores the low 32 bits of `now_ns` as message seq's send stamp (stream only).
  void stamp(std::uint64_t seq, std::uint64_t now_ns) noexcept;

 private:
  std::byte* variant(std::uint64_t seq) const noexcept {
    return buffers_.data() + (seq % kPayloadVariants) * stride_;
  }
  std::size_t msg_bytes_;
  std::size_t stride_;
  AlignedBuffer buffers_;
  std::array<std::uint32_t, kPayloadVariants> checks_{};
};

// Reads the send stamp of a received message (requires len >= kMinStampedBytes).
std::uint32_t read_stamp(std::span<const std::byte> msg) noexcept;

struct VerifyCounts {
  std::uint64_t verified = 0;    // messages whose seq and payload checked out
  std::uint64_t lost = 0;        // sequence numbers skipped
  std::uint64_t duplicated = 0;  // the previous message again
  std::uint64_t reordered = 0;   // an older message after a newer one
  std::uint64_t corrupted = 0;   // payload or header bytes wrong
  std::uint64_t truncated = 0;   // length differs from the case's message size

  std::uint64_t errors() const noexcept {
    return lost + duplicated + reordered + corrupted + truncated;
  }
  // Errors for a mechanism that may lose messages by design: everything but loss.
  std::uint64_t errors_except_loss() const noexcept { return errors() - lost; }
  VerifyCounts& operator+=(const VerifyCounts& o) noexcept;
  // "3 lost, 1 corrupted" (only the non-zero kinds).
  std::string describe() const;
};

// Checks a stream of received messages against the sequence first_seq, first_seq + 1,
// ... (a fan-in producer's sequence starts at its tag: harness/patterns.cpp).
// Receiver process only. No allocation.
class Verifier {
 public:
  // checksum_payload=false keeps the sequence checks (cheap) but skips the payload
  // checksum; the result records which.
  Verifier(const PayloadPool& pool, bool checksum_payload, std::uint64_t first_seq = 0);

  // Checks one received message of `len` bytes; returns the full sequence number it
  // carries (rebuilt from the expected one where the message is too short to hold 32
  // bits).
  std::uint64_t check(std::span<const std::byte> msg) noexcept;

  const VerifyCounts& counts() const noexcept { return counts_; }
  std::uint64_t expected() const noexcept { return expected_; }

 private:
  const PayloadPool& pool_;
  bool checksum_payload_;
  // Fixed per message size, so the per-message path does no min() or shifts.
  std::size_t size_, seq_bytes_, check_bytes_;
  std::uint64_t seq_mask_;
  std::uint32_t check_mask_;
  std::uint64_t expected_;
  VerifyCounts counts_;
};

}  // namespace ipcbench
