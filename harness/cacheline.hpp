#pragma once
// Cache-line sizes, in one place for the harness and every mechanism.
#include <cstddef>

namespace ipcbench {

// The unit of coherence on the x86-64 and arm64 machines ipcbench runs on: buffers and
// slots are rounded to it so that no two of them share a line.
inline constexpr std::size_t kCacheLine = 64;

// Data written by different processes sits this far apart. Adjacent-line prefetchers
// (Intel's spatial prefetcher, AMD's likewise) fetch lines in 128-byte-aligned pairs,
// so two writers 64 bytes apart still take the pair from each other: false sharing
// that 64 bytes of separation does not prevent.
inline constexpr std::size_t kCacheLineSeparation = 2 * kCacheLine;

// Rounds bytes up to a whole number of cache lines.
constexpr std::size_t round_up_to_cache_line(std::size_t bytes) noexcept {
  return (bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
}

}  // namespace ipcbench
