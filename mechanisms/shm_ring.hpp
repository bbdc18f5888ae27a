#pragma once
// A lock-free single-producer/single-consumer ring of variable-size messages in
// shared memory.
//
// Design (after rigtorp/SPSCQueue, with the readiness flag moved into the slot):
// - `slot_count` fixed slots, each `slot_bytes` long: an 8-byte header {seq, len}
//   followed by up to `max_msg_bytes` of payload, padded to a cache line so two slots
//   never share one.
// - The producer writes message i into slot i % slot_count, then publishes it by
//   storing seq = i + 1 with release order. The consumer polls that word with acquire
//   order: the header and the first bytes of payload arrive in the same cache line
//   transfer, and the consumer never reads a producer-owned index.
// - The consumer publishes `head` (messages consumed) on a line of its own. The
//   producer keeps a plain cached copy of head and reloads it only when the ring looks
//   full, so in steady state it never touches the consumer's line.
// - A stale slot cannot look ready: the slot that will carry message i last carried
//   i - slot_count, whose seq differs (32-bit seq, slot_count < 2^32).
// - Block mode sleeps on a futex. A waiter raises its `*_waiting` flag (seq_cst)
//   and re-checks before sleeping; the other side's publish is seq_cst and it reads
//   the flag after it, so one of the two always sees the other (Dekker). The waker
//   clears the flag with an exchange, so it makes one futex call per sleep: messages
//   published while the sleeper is still waking up cost no further system call.
// The control block and slots are trivially laid out (static_asserts below) and
// carry a magic and version so a process can refuse a foreign or stale mapping.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "harness/channel.hpp"

namespace ipcbench::ring {

inline constexpr std::size_t kCacheLine = 64;
// Lines written by different processes sit this far apart: adjacent-line
// prefetchers move lines in pairs, so 64 bytes of separation still false-shares.
inline constexpr std::size_t kSeparation = 128;
inline constexpr std::uint64_t kMagic = 0x676e6972'63706269ull;  // "ibpcring"
inline constexpr std::uint32_t kVersion = 2;

struct SlotHeader {
  std::atomic<std::uint32_t> seq;  // message index + 1 once the slot is published
  std::uint32_t len;               // payload bytes, written before seq
};
static_assert(sizeof(SlotHeader) == 8);

struct RingControl {
  // Immutable after init().
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t slot_count;
  std::uint64_t slot_bytes;
  std::uint64_t max_msg_bytes;
  // Consumer-written: messages consumed so far.
  alignas(kSeparation) std::atomic<std::uint64_t> head;
  // The consumer sleeps here waiting for data (block mode). One waiter at most.
  alignas(kSeparation) std::atomic<std::uint32_t> data_epoch;
  std::atomic<std::uint32_t> data_waiting;
  // The producer sleeps here waiting for space (block mode). One waiter at most.
  alignas(kSeparation) std::atomic<std::uint32_t> space_epoch;
  std::atomic<std::uint32_t> space_waiting;
  // Keeps slot 0 off the line above.
  alignas(kSeparation) std::byte slots_begin[1];
};
static_assert(std::is_standard_layout_v<RingControl>);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

// Bytes a ring of `slot_count` slots for messages up to `max_msg_bytes` occupies.
std::size_t ring_bytes(std::uint32_t slot_count, std::size_t max_msg_bytes) noexcept;
// Formats a ring in zeroed memory (orchestrator, before the children attach).
void init_ring(void* mem, std::uint32_t slot_count, std::size_t max_msg_bytes) noexcept;
// Validates a formatted ring; throws PeerError on a bad magic or version.
RingControl* attach_ring(void* mem);

// Producer process only.
class Producer {
 public:
  explicit Producer(RingControl* ring) noexcept;
  // Never waits: false when the ring is full. REQUIRES msg.size() <= max_msg_bytes.
  bool try_send(std::span<const std::byte> msg) noexcept;
  // Waits for space (polling or sleeping per `wait`), then sends: claim, copy, commit.
  void send(std::span<const std::byte> msg, WaitMode wait) noexcept;
  // Zero-copy: waits for space and returns the next slot's payload area
  // (max_msg_bytes long), in place. The caller writes the message there, then calls
  // commit with its length. One claim at a time.
  std::span<std::byte> claim(WaitMode wait) noexcept;
  // Publishes the claimed slot as a message of `len` bytes (<= max_msg_bytes).
  void commit(std::size_t len, WaitMode wait) noexcept;

 private:
  bool full() noexcept;
  void wait_for_space(WaitMode wait) noexcept;
  SlotHeader* slot() const noexcept {
    return reinterpret_cast<SlotHeader*>(slots_ + std::uint64_t{slot_} * slot_bytes_);
  }
  RingControl* ring_;
  std::byte* slots_;
  std::uint64_t slot_bytes_;
  std::uint64_t max_msg_bytes_;
  std::uint32_t slot_count_;
  std::uint32_t slot_ = 0;        // slot of the next message
  std::uint64_t tail_ = 0;        // messages sent
  std::uint64_t cached_head_ = 0;  // last head seen; reloaded only when full
};

// Consumer process only.
class Consumer {
 public:
  explicit Consumer(RingControl* ring) noexcept;
  // Never waits: false when the ring is empty; else copies the message into buf and
  // sets len. Throws PeerError when the slot's length exceeds buf (corrupt peer).
  bool try_recv(std::span<std::byte> buf, std::size_t& len);
  // Waits for a message (polling or sleeping per `wait`), then receives it: peek,
  // copy, release.
  std::size_t recv(std::span<std::byte> buf, WaitMode wait);
  // Zero-copy: waits for the next message and returns it where it lies in its slot.
  // The view stays valid, and the slot stays the consumer's, until release().
  // Throws PeerError when the slot's length exceeds max_msg_bytes (corrupt peer).
  std::span<const std::byte> peek(WaitMode wait);
  // Hands the peeked slot back to the producer.
  void release(WaitMode wait) noexcept;

 private:
  SlotHeader* slot() const noexcept {
    return reinterpret_cast<SlotHeader*>(slots_ + std::uint64_t{slot_} * slot_bytes_);
  }
  void wait_for_data(WaitMode wait) noexcept;
  std::span<const std::byte> view();
  RingControl* ring_;
  std::byte* slots_;
  std::uint64_t slot_bytes_;
  std::uint64_t max_msg_bytes_;
  std::uint32_t slot_count_;
  std::uint32_t slot_ = 0;
  std::uint64_t head_ = 0;
};

}  // namespace ipcbench::ring
