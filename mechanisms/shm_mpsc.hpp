#pragma once
// A bounded lock-free multi-producer queue of variable-size messages in shared memory,
// with one consumer (Consumer: mechanisms/shm_mpsc.cpp) or several competing ones
// (SharedConsumer: mechanisms/shm_mpmc.cpp); the thread test,
// tests/mpsc_thread_test.cpp, runs both in heap memory.
//
// Algorithm (Dmitry Vyukov's bounded MPMC queue, with one consumer):
// - `slot_count` slots, each a 16-byte header {seq (64 bits), len} and up to
//   `max_msg_bytes` of payload, padded to a cache line. A slot's seq says its state
//   for position p (slot p % slot_count): 2p free for p's producer, 2p + 1 holding
//   p's message. (Vyukov's p and p + 1 would make "holding p" equal "free for p + 1"
//   in a queue of one slot; doubling keeps every slot count, 1 included, exact.)
//   Slot i starts with seq = 2i.
// - A producer reads `tail` (the next position to claim), looks at that position's
//   slot and compares its seq with 2 x position: equal means the slot is free for it,
//   and it claims the position with a CAS of tail to position + 1; smaller means the
//   slot still holds the message one lap earlier (the queue is full), so it waits;
//   larger means another producer claimed the position first, so it reloads tail.
//   Having claimed, it writes len and the payload, then publishes by storing
//   seq = 2 x position + 1 (release).
// - The consumer reads positions in order: it waits until its slot's seq is
//   2 x position + 1 (acquire), copies the message out, and hands the slot to the next
//   lap by storing seq = 2 x (position + slot_count) (release).
// - 64-bit positions and seqs never wrap in a run (2^62 messages), so a stale slot
//   cannot look ready.
// - Several consumers (SharedConsumer) claim positions as producers do: read `head`,
//   and when that position's slot holds its message (seq = 2 x position + 1), claim it
//   with a CAS of head to position + 1 (Vyukov's MPMC consumer); a smaller seq means
//   the queue is empty there, a larger one that another consumer took the position.
//   The one Consumer never touches head, so it pays nothing for this.
// Guarantees: each message arrives whole (a slot has one writer between claim and
// publish); one producer's messages arrive in the order it sent them (its claims are
// in increasing positions); messages of different producers arrive in claim order,
// which is the order of their CASes on tail. Lock-free for producers (one that fails a
// CAS does so because another one succeeded); the consumer waits for the oldest claim.
//
// A producer killed between claim and publish leaves its slot unpublished for ever: the
// consumer waits at that position (asleep in block mode, polling in spin), the other
// producers fill the rest of the ring and then wait too. Nothing detects it here: the
// harness's watchdog ends the case at its deadline and kills the rest, and, as the
// region has no name, nothing is left behind. A producer killed anywhere else (before
// its claim, after its publish) leaves the queue consistent and the others go on.
//
// Cost under contention: every send is a CAS on the one tail line, so with N producers
// sending flat out that line moves between their cores on nearly every send, and a
// producer that loses the race retries. Even one producer pays more than shm_ring's: a
// CAS where shm_ring stores, and a read of the slot's seq before each claim, on a line
// the consumer wrote when it freed the slot, so each slot's first line goes to the
// consumer and back once per message. The consumer never reads tail. Competing
// consumers pay the same on head: a CAS per message on one line they all write.
// A consumer killed between its claim and handing the slot back leaves that slot
// taken for ever: the producers stop one lap later, as for a killed producer.
//
// Capacity: slots = capacity, exactly (as shm_ring); each slot holds one whole message.
// Wait: spin = poll the slot (consumer) or the free slot at tail (producers) with a
// pause hint; block = futex. The consumer sleeps on data_epoch after raising
// data_waiting (one sleeper, which clears its own flag); producers sleep on
// space_epoch after raising space_waiting (many sleepers: only the consumer clears it,
// with an exchange, then bumps the epoch and wakes all). The flag store and the
// re-check of the slot on one side, the slot store and the flag load on the other, are
// all seq_cst, so one of the two always sees the other (Dekker, as in shm_ring.hpp):
// no lost wake-up, and no system call while nobody sleeps. Competing consumers sleep
// on data_epoch as producers do on space_epoch (many sleepers: only a producer clears
// data_waiting, then wakes all; those that find nothing sleep again).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string>

#include "harness/cacheline.hpp"
#include "harness/channel.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/futex.hpp"

namespace ipcbench::mpsc {

inline constexpr std::size_t kSeparation = kCacheLineSeparation;
inline constexpr std::uint64_t kMagic = 0x6373706d'63706269ull;  // "ibpcmpsc"
inline constexpr std::uint32_t kVersion = 1;

struct SlotHeader {
  std::atomic<std::uint64_t> seq;  // 2p: free for position p; 2p + 1: holds p's message
  std::uint32_t len;               // payload bytes, written before seq
  std::uint32_t reserved;
};
static_assert(sizeof(SlotHeader) == 16);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

struct QueueControl {
  // Immutable after init_queue().
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t slot_count;
  std::uint64_t slot_bytes;
  std::uint64_t max_msg_bytes;
  // Producers: the next position to claim.
  alignas(kSeparation) std::atomic<std::uint64_t> tail;
  // The consumer sleeps here waiting for data (one sleeper).
  alignas(kSeparation) std::atomic<std::uint32_t> data_epoch;
  std::atomic<std::uint32_t> data_waiting;
  // Producers sleep here waiting for a free slot (any number of sleepers).
  alignas(kSeparation) std::atomic<std::uint32_t> space_epoch;
  std::atomic<std::uint32_t> space_waiting;
  // Competing consumers (SharedConsumer): the next position to claim.
  alignas(kSeparation) std::atomic<std::uint64_t> head;
  // Keeps slot 0 off the line above.
  alignas(kSeparation) std::byte slots_begin[1];
};
static_assert(std::is_standard_layout_v<QueueControl>);

inline std::size_t slot_bytes_for(std::size_t max_msg_bytes) noexcept {
  return round_up_to_cache_line(sizeof(SlotHeader) + max_msg_bytes);
}

inline std::size_t queue_bytes(std::uint32_t slot_count, std::size_t max_msg_bytes) noexcept {
  const std::size_t bytes = offsetof(QueueControl, slots_begin) +
                            std::size_t{slot_count} * slot_bytes_for(max_msg_bytes) + kSeparation;
  return (bytes + kSeparation - 1) / kSeparation * kSeparation;
}

// Orchestrator, in the zeroed region before fork.
inline void init_queue(std::byte* mem, std::uint32_t slot_count,
                       std::size_t max_msg_bytes) noexcept {
  auto* q = new (mem) QueueControl{};
  q->magic = kMagic;
  q->version = kVersion;
  q->slot_count = slot_count;
  q->slot_bytes = slot_bytes_for(max_msg_bytes);
  q->max_msg_bytes = max_msg_bytes;
  std::byte* slots = mem + offsetof(QueueControl, slots_begin);
  for (std::uint32_t i = 0; i < slot_count; ++i)
    new (slots + std::uint64_t{i} * q->slot_bytes) SlotHeader{{2 * std::uint64_t{i}}, 0, 0};
}

// Block mode, the side that made progress (its publish was seq_cst): wake the other
// side if it sleeps. The exchange clears the flag, so one wake per round of sleeps.
inline void wake_if_waiting(std::atomic<std::uint32_t>& waiting,
                            std::atomic<std::uint32_t>& epoch) noexcept {
  if (waiting.load(std::memory_order_seq_cst) != 0 &&
      waiting.exchange(0, std::memory_order_seq_cst) != 0) {
    epoch.fetch_add(1, std::memory_order_release);
    futex_wake_all(epoch);
  }
}

// Block mode, the side that cannot go on: raise the flag, re-check, sleep. The epoch is
// read first, so a wake between the re-check and the sleep makes futex_wait return at
// once. `clear_own_flag`: a single sleeper lowers its flag on waking; with many, only
// the waker clears it (a sleeper that did could erase a flag another one just raised).
template <typename Ready>
void sleep_until(std::atomic<std::uint32_t>& waiting, std::atomic<std::uint32_t>& epoch,
                 bool clear_own_flag, Ready ready) {
  while (!ready()) {
    const std::uint32_t e = epoch.load(std::memory_order_acquire);
    waiting.store(1, std::memory_order_seq_cst);
    if (!ready()) futex_wait(epoch, e);
    if (clear_own_flag) waiting.store(0, std::memory_order_relaxed);
  }
}

class Queue {
 public:
  explicit Queue(std::byte* mem)
      : q_(reinterpret_cast<QueueControl*>(mem)),
        slots_(mem + offsetof(QueueControl, slots_begin)) {
    if (q_->magic != kMagic || q_->version != kVersion)
      throw PeerError("shm_mpsc: mapping has a bad magic or version (not an ipcbench queue?)");
    slot_count_ = q_->slot_count;
    slot_bytes_ = q_->slot_bytes;
    max_msg_bytes_ = q_->max_msg_bytes;
  }

 protected:
  SlotHeader* slot(std::uint64_t pos) const noexcept {
    return reinterpret_cast<SlotHeader*>(slots_ + (pos % slot_count_) * slot_bytes_);
  }
  std::byte* payload(SlotHeader* s) const noexcept { return reinterpret_cast<std::byte*>(s + 1); }

  QueueControl* q_;
  std::byte* slots_;
  std::uint64_t slot_count_, slot_bytes_, max_msg_bytes_;
};

// Any number of producer processes, each with its own Producer.
class Producer : public Queue {
 public:
  using Queue::Queue;

  void send(std::span<const std::byte> msg, WaitMode wait) {
    std::uint64_t pos = q_->tail.load(std::memory_order_relaxed);
    SlotHeader* s = nullptr;
    while ((s = try_claim(pos)) == nullptr) {
      if (wait == WaitMode::spin) {
        cpu_relax();
      } else {
        sleep_until(q_->space_waiting, q_->space_epoch, false, [&] { return has_space(pos); });
      }
      pos = q_->tail.load(std::memory_order_relaxed);
    }
    s->len = static_cast<std::uint32_t>(msg.size());
    std::memcpy(payload(s), msg.data(), msg.size());
    if (wait == WaitMode::spin) {
      // release: len and payload are visible before the consumer sees seq.
      s->seq.store(2 * pos + 1, std::memory_order_release);
    } else {
      // seq_cst, then the sleeper check (Dekker with the consumer's sleep_until).
      s->seq.store(2 * pos + 1, std::memory_order_seq_cst);
      wake_if_waiting(q_->data_waiting, q_->data_epoch);
    }
  }

 private:
  // Claims position `pos` (updated to the current tail as the race goes) and returns
  // its slot, or nullptr when the queue is full at `pos`.
  SlotHeader* try_claim(std::uint64_t& pos) noexcept {
    for (;;) {
      SlotHeader* s = slot(pos);
      // acquire: the consumer's copy out of the slot is done before we write it.
      const std::uint64_t seq = s->seq.load(std::memory_order_acquire);
      const auto ahead = static_cast<std::int64_t>(seq - 2 * pos);
      if (ahead == 0) {
        // relaxed: the slot's seq (acquired above) orders the slot; tail orders nothing.
        if (q_->tail.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) return s;
      } else if (ahead < 0) {
        return nullptr;  // the slot still holds the message one lap before
      } else {
        pos = q_->tail.load(std::memory_order_relaxed);  // another producer took pos
      }
    }
  }

  // Block mode's re-check: the slot at the current tail is free (seq_cst: Dekker).
  bool has_space(std::uint64_t& pos) const noexcept {
    pos = q_->tail.load(std::memory_order_seq_cst);
    return static_cast<std::int64_t>(slot(pos)->seq.load(std::memory_order_seq_cst) - 2 * pos) >= 0;
  }
};

// The one consumer process.
class Consumer : public Queue {
 public:
  using Queue::Queue;

  std::size_t recv(std::span<std::byte> buf, WaitMode wait) {
    SlotHeader* s = slot(head_);
    const std::uint64_t want = 2 * head_ + 1;
    if (wait == WaitMode::spin) {
      // acquire: pairs with the producer's publish of seq.
      while (s->seq.load(std::memory_order_acquire) != want) cpu_relax();
    } else if (s->seq.load(std::memory_order_acquire) != want) {
      sleep_until(q_->data_waiting, q_->data_epoch, true,
                  [s, want] { return s->seq.load(std::memory_order_seq_cst) == want; });
    }
    // The length comes from a peer: checked, never trusted.
    const std::uint32_t len = s->len;
    if (len > buf.size()) {
      throw PeerError("shm_mpsc: slot length " + std::to_string(len) + " exceeds the " +
                      std::to_string(buf.size()) + "-byte buffer (corrupt peer?)");
    }
    std::memcpy(buf.data(), payload(s), len);
    const std::uint64_t next_lap = 2 * (head_ + slot_count_);
    ++head_;
    if (wait == WaitMode::spin) {
      // release: the copy out is done before a producer may claim the slot again.
      s->seq.store(next_lap, std::memory_order_release);
    } else {
      s->seq.store(next_lap, std::memory_order_seq_cst);
      wake_if_waiting(q_->space_waiting, q_->space_epoch);
    }
    return len;
  }

 private:
  std::uint64_t head_ = 0;  // the next position to read
};

// One of several competing consumer processes, each with its own SharedConsumer: each
// message goes to the one whose CAS on head claims its position.
class SharedConsumer : public Queue {
 public:
  using Queue::Queue;

  std::size_t recv(std::span<std::byte> buf, WaitMode wait) {
    std::uint64_t pos = q_->head.load(std::memory_order_relaxed);
    SlotHeader* s = nullptr;
    while ((s = try_claim(pos)) == nullptr) {
      if (wait == WaitMode::spin) {
        cpu_relax();
      } else {
        sleep_until(q_->data_waiting, q_->data_epoch, false, [&] { return has_data(pos); });
      }
      pos = q_->head.load(std::memory_order_relaxed);
    }
    // The length comes from a peer: checked, never trusted.
    const std::uint32_t len = s->len;
    if (len > buf.size()) {
      throw PeerError("shm_mpmc: slot length " + std::to_string(len) + " exceeds the " +
                      std::to_string(buf.size()) + "-byte buffer (corrupt peer?)");
    }
    std::memcpy(buf.data(), payload(s), len);
    const std::uint64_t next_lap = 2 * (pos + slot_count_);
    if (wait == WaitMode::spin) {
      s->seq.store(next_lap, std::memory_order_release);  // the copy out comes first
    } else {
      s->seq.store(next_lap, std::memory_order_seq_cst);
      wake_if_waiting(q_->space_waiting, q_->space_epoch);
    }
    return len;
  }

 private:
  // Claims position `pos` (updated to the current head as the race goes) and returns
  // its slot, or nullptr when the queue is empty at `pos`.
  SlotHeader* try_claim(std::uint64_t& pos) noexcept {
    for (;;) {
      SlotHeader* s = slot(pos);
      // acquire: pairs with the producer's publish, so len and payload are visible.
      const std::uint64_t seq = s->seq.load(std::memory_order_acquire);
      const auto ahead = static_cast<std::int64_t>(seq - (2 * pos + 1));
      if (ahead == 0) {
        if (q_->head.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) return s;
      } else if (ahead < 0) {
        return nullptr;  // nothing published at pos yet
      } else {
        pos = q_->head.load(std::memory_order_relaxed);  // another consumer took pos
      }
    }
  }

  // Block mode's re-check: the slot at the current head holds its message, or another
  // consumer has moved on from it (seq_cst: Dekker).
  bool has_data(std::uint64_t& pos) const noexcept {
    pos = q_->head.load(std::memory_order_seq_cst);
    return static_cast<std::int64_t>(slot(pos)->seq.load(std::memory_order_seq_cst) -
                                     (2 * pos + 1)) >= 0;
  }
};

}  // namespace ipcbench::mpsc
