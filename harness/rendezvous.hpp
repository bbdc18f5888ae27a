#pragma once
// Capacity 0: a rendezvous. The producer's send completes only once the consumer has
// taken the message.
//
// No kernel channel holds zero messages, so the harness makes the channel with capacity
// 1, its smallest real buffer, and adds the wait itself: the consumer, right after it
// has received a message (before verifying it), counts it in `taken`; the producer,
// after each send, waits until `taken` equals what it sent (fan-out: every consumer).
// The acknowledgement goes over this futex word, not over the channel's own way back:
// that way back carries whole messages of the case's size, so each acknowledgement of a
// 1 MiB case would be a 1 MiB message, and the rendezvous would measure two transfers.
//
// Waiting: block and the other sleeping modes sleep on the futex, and the consumer makes
// the wake-up system call only when the producer has said it sleeps (a Dekker-style
// flag, as in mechanisms/shm_ring.hpp); spin and the other polling modes poll `taken`.
//
// Pingpong needs none of this: its client waits for each reply, which is the server's
// acknowledgement over the channel's own way back, so at capacity 0 it runs over a
// capacity-1 channel as it is (harness/case_channel.cpp). A mechanism that may lose
// messages cannot rendezvous (a lost message is never acknowledged), nor can a fan-in
// (one counter cannot tell whose message was taken).
#include <atomic>
#include <cstdint>

#include "harness/cacheline.hpp"
#include "harness/channel.hpp"
#include "harness/futex.hpp"

namespace ipcbench {

// In the memory the case's processes share (PairShared, FanShared).
struct Rendezvous {
  // Messages the consumers have taken, modulo 2^32 (futex word).
  alignas(kCacheLineSeparation) std::atomic<std::uint32_t> taken{0};
  // 1 while the producer sleeps (or is about to) on `taken`.
  alignas(kCacheLineSeparation) std::atomic<std::uint32_t> producer_sleeps{0};
};

// Consumer, right after it has received a message.
inline void rendezvous_taken(Rendezvous& rv) noexcept {
  // seq_cst, with the producer's seq_cst flag store and load: either it sees this
  // count, or this side sees its flag and wakes it.
  rv.taken.fetch_add(1, std::memory_order_seq_cst);
  if (rv.producer_sleeps.load(std::memory_order_seq_cst) != 0) futex_wake_all(rv.taken);
}

// Producer, after each send (to every consumer): returns once `taken` reaches
// `expected` (the messages sent so far, times the consumers), waiting as `wait` says.
void rendezvous_wait(Rendezvous& rv, std::uint32_t expected, WaitMode wait) noexcept;

// The rendezvous of a case whose requested capacity is `capacity_msgs`: &rv at capacity
// 0, else nullptr (the patterns then skip it with one predictable branch).
inline Rendezvous* rendezvous_for(std::size_t capacity_msgs, Rendezvous& rv) noexcept {
  return capacity_msgs == 0 ? &rv : nullptr;
}

}  // namespace ipcbench
