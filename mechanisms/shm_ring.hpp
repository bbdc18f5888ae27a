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
// - The other waiting modes (ChannelConfig::wait; one mode per ring for its life):
//   spin_yield polls with sched_yield() between polls and publishes like spin.
//   adaptive polls for kAdaptiveSpinNs, then sleeps exactly as block does.
//   eventfd keeps block's flag protocol but sleeps in read() on an eventfd and wakes
//   with write(); descriptors are per process, so they travel beside the shared
//   block (EventFds), not in it.
//   sem is the textbook bounded buffer: two process-shared POSIX semaphores in the
//   shared block count ready messages (data_sem) and free slots (space_sem). Each
//   side posts once per message, so it pays two atomic read-modify-writes per
//   message even when nobody sleeps; in exchange no flag protocol is needed, the
//   counts carry the ordering (sem_post releases, sem_wait acquires), and glibc only
//   enters the kernel when a semaphore is 0 and someone must sleep on it. It is
//   here as the baseline a reader would write first, next to the tuned modes.
// The control block and slots are trivially laid out (static_asserts below) and
// carry a magic and version so a process can refuse a foreign or stale mapping.
#include <semaphore.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "harness/cacheline.hpp"
#include "harness/channel.hpp"

namespace ipcbench::ring {

// Lines written by different processes sit this far apart (harness/cacheline.hpp
// says why); kCacheLine is harness/cacheline.hpp's too.
inline constexpr std::size_t kSeparation = kCacheLineSeparation;
inline constexpr std::uint64_t kMagic = 0x676e6972'63706269ull;  // "ibpcring"
inline constexpr std::uint32_t kVersion = 3;

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
  // The consumer sleeps here waiting for data (block, adaptive, eventfd: the flag;
  // block, adaptive: the futex word; sem: the semaphore). One waiter at most.
  alignas(kSeparation) std::atomic<std::uint32_t> data_epoch;
  std::atomic<std::uint32_t> data_waiting;
  sem_t data_sem;  // sem mode: messages ready to read
  // The producer sleeps here waiting for space, in the same ways. One waiter at most.
  alignas(kSeparation) std::atomic<std::uint32_t> space_epoch;
  std::atomic<std::uint32_t> space_waiting;
  sem_t space_sem;  // sem mode: free slots
  // Keeps slot 0 off the line above.
  alignas(kSeparation) std::byte slots_begin[1];
};
static_assert(std::is_standard_layout_v<RingControl>);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

// adaptive: how long a side polls before it sleeps. Ski rental: polling for about as
// long as a sleep costs keeps the CPU wasted within 2x of the better choice made in
// hindsight. Measured on the machine this was tuned on (2 vCPUs of a Xeon VM, Linux
// 6.18) with block pingpong's cpu_ns_per_msg_tx/rx, i.e. one sleep and one wake per
// side per round trip: ~1 us of CPU with both sides on one CPU (--cpus 0,0), ~21 us
// across the two vCPUs, where the wake goes through the hypervisor. A 5 us bound
// slept on every scheduling hiccup between 5 and 20 us (pingpong p99 22 us, 0.44 M
// round trips/s); 20 us keeps pingpong at spin's latency (p99 375 ns, 1.77 M/s) and
// still caps a wait on a slow peer at 20 us of CPU. On bare metal, where a wake
// costs a few us, a smaller bound would do.
inline constexpr std::uint64_t kAdaptiveSpinNs = 20'000;

// eventfd mode: the eventfds of one ring, -1 in every other mode.
struct EventFds {
  int data = -1;   // the consumer sleeps in read() here; the producer write()s
  int space = -1;  // the producer sleeps here; the consumer write()s
};

// Bytes one slot takes: its header and max_msg_bytes of payload, rounded up to whole
// cache lines so that two slots never share one.
constexpr std::size_t slot_bytes_for(std::size_t max_msg_bytes) noexcept {
  return round_up_to_cache_line(sizeof(SlotHeader) + max_msg_bytes);
}

// Bytes a ring of `slot_count` slots for messages up to `max_msg_bytes` occupies.
std::size_t ring_bytes(std::uint32_t slot_count, std::size_t max_msg_bytes) noexcept;
// Formats a ring in zeroed memory (orchestrator, before the children attach).
void init_ring(void* mem, std::uint32_t slot_count, std::size_t max_msg_bytes) noexcept;
// Validates a formatted ring; throws PeerError on a bad magic or version.
RingControl* attach_ring(void* mem);

// Producer process only.
class Producer {
 public:
  // `fds`: the ring's eventfds, needed only by send() in eventfd mode.
  explicit Producer(RingControl* ring, EventFds fds = {}) noexcept;
  // Never waits: false when the ring is full. REQUIRES msg.size() <= max_msg_bytes,
  // and a ring used only with try_ calls or spin/spin_yield (sem keeps counts).
  bool try_send(std::span<const std::byte> msg) noexcept;
  // Waits for space (polling or sleeping per `wait`), then sends: claim, copy,
  // commit. REQUIRES the same `wait` on every call and on the consumer. Throws
  // SysError if a sleep fails.
  void send(std::span<const std::byte> msg, WaitMode wait);
  // Zero-copy: waits for space and returns the next slot's payload area
  // (max_msg_bytes long), in place. The caller writes the message there, then calls
  // commit with its length. One claim at a time.
  std::span<std::byte> claim(WaitMode wait);
  // Publishes the claimed slot as a message of `len` bytes (<= max_msg_bytes).
  void commit(std::size_t len, WaitMode wait) noexcept;

 private:
  SlotHeader* slot() const noexcept {
    return reinterpret_cast<SlotHeader*>(slots_ + std::uint64_t{slot_} * slot_bytes_);
  }
  bool full() noexcept;
  void await_space(WaitMode wait);
  void wait_for_space(WaitMode wait);
  void publish_waiting(std::atomic<std::uint32_t>& seq_word, std::uint32_t seq,
                       WaitMode wait) noexcept;
  RingControl* ring_;
  EventFds fds_;
  std::byte* slots_;
  std::uint64_t slot_bytes_;
  std::uint64_t max_msg_bytes_;
  std::uint32_t slot_count_;
  std::uint32_t slot_ = 0;         // slot of the next message
  std::uint64_t tail_ = 0;         // messages sent
  std::uint64_t cached_head_ = 0;  // last head seen; reloaded only when full
};

// Consumer process only.
class Consumer {
 public:
  // `fds`: the ring's eventfds, needed only by recv() in eventfd mode.
  explicit Consumer(RingControl* ring, EventFds fds = {}) noexcept;
  // Never waits: false when the ring is empty; else copies the message into buf and
  // sets len. Throws PeerError when the slot's length exceeds buf (corrupt peer).
  bool try_recv(std::span<std::byte> buf, std::size_t& len);
  // Waits for a message (polling or sleeping per `wait`), then receives it: peek,
  // copy, release. REQUIRES the same `wait` on every call and on the producer.
  std::size_t recv(std::span<std::byte> buf, WaitMode wait);
  // Zero-copy: waits for the next message and returns it where it lies in its slot.
  // The view stays valid, and the slot stays the consumer's, until release().
  // Throws PeerError when the slot's length exceeds max_msg_bytes (corrupt peer).
  std::span<const std::byte> peek(WaitMode wait);
  // Hands the peeked slot back to the producer (waking it if it sleeps).
  void release(WaitMode wait) noexcept;

 private:
  SlotHeader* slot() const noexcept {
    return reinterpret_cast<SlotHeader*>(slots_ + std::uint64_t{slot_} * slot_bytes_);
  }
  std::span<const std::byte> view();
  void wait_for_data(WaitMode wait);
  void release_waiting(WaitMode wait) noexcept;
  RingControl* ring_;
  EventFds fds_;
  std::byte* slots_;
  std::uint64_t slot_bytes_;
  std::uint64_t max_msg_bytes_;
  std::uint32_t slot_count_;
  std::uint32_t slot_ = 0;
  std::uint64_t head_ = 0;
  std::uint32_t head_batch_;     // spin: publish head every head_batch_ releases
  std::uint32_t until_publish_;  // releases left before the next publish
};

}  // namespace ipcbench::ring
