#pragma once
// How the shared-memory rings (shm_ring, shm_broadcast) wait, wake and publish: the
// flag-and-futex protocol of shm_ring.hpp's header note, the adaptive poll, and the
// cache-line demotion of a freshly published slot. One copy, so both rings keep the
// same proofs.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "harness/cacheline.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/futex.hpp"
#include "mechanisms/shm_ring.hpp"

namespace ipcbench::ring {

// Sleeping modes (block, adaptive, eventfd), the side that made progress: wake the
// peer if it sleeps. The caller's publish was seq_cst, and so is the exchange, which
// also clears the flag: one wake per sleep. `efd` >= 0: eventfd mode.
inline void wake_if_waiting(std::atomic<std::uint32_t>& waiting, std::atomic<std::uint32_t>& epoch,
                            int efd) noexcept {
  if (waiting.load(std::memory_order_seq_cst) != 0 &&
      waiting.exchange(0, std::memory_order_seq_cst) != 0) {
    if (efd >= 0) {
      // Cannot fail on a valid eventfd: the counter is read back to 0 by each sleep,
      // far from its 2^64 - 2 limit.
      const std::uint64_t one = 1;
      while (::write(efd, &one, sizeof one) < 0 && errno == EINTR) {
      }
      return;
    }
    epoch.fetch_add(1, std::memory_order_release);
    futex_wake_all(epoch);
  }
}

// Who may sleep on one flag: a single process (it clears its own flag once awake, so
// a re-check that succeeded costs the waker nothing), or several (only the waker
// clears it: a sleeper that cleared it on waking could erase a flag another sleeper
// has just raised, and that one would sleep through the next publish).
enum class Sleepers : bool { one, many };

// Sleeping modes, the side that cannot go on: raise the flag, re-check, sleep. The
// epoch is read first, so a wake that lands between the re-check and the sleep
// changes it and futex_wait returns at once; an eventfd keeps that wake in its
// counter instead. A wake meant for a sleep that never happened (the re-check
// succeeded) leaves a token in the eventfd: the next sleep returns at once, finds
// nothing ready and sleeps again, so a stale token costs one round of the loop.
template <typename Ready>
void sleep_until(std::atomic<std::uint32_t>& waiting, std::atomic<std::uint32_t>& epoch, int efd,
                 Ready ready, Sleepers sleepers = Sleepers::one) {
  while (!ready()) {
    const std::uint32_t e = epoch.load(std::memory_order_acquire);
    waiting.store(1, std::memory_order_seq_cst);
    if (!ready()) {
      if (efd < 0) {
        futex_wait(epoch, e);
      } else {
        std::uint64_t tokens = 0;
        if (::read(efd, &tokens, sizeof tokens) < 0 && errno != EINTR)
          throw SysError("read", "eventfd");
      }
    }
    if (sleepers == Sleepers::one) waiting.store(0, std::memory_order_relaxed);
  }
}

// adaptive: polls `ready` for up to kAdaptiveSpinNs; false if it never held. The clock
// (vDSO, no system call) is read once per 16 polls, so the poll stays tight.
template <typename Ready>
bool poll_briefly(Ready ready) noexcept {
  const std::uint64_t start = now_ns();
  do {
    for (int i = 0; i < 16; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
  } while (now_ns() - start < kAdaptiveSpinNs);
  return false;
}

// Pushes a line out of this core's caches to the shared L3 (CLDEMOTE; a NOP on CPUs
// without it: the encoding sits in the reserved-NOP space). Measured here (Xeon with
// cldemote, 2 vCPUs, capacity 16, spin, six alternating runs): demoting a published
// slot of up to 4 lines took 64 B pingpong from 193-209 to 162-168 ns one way
// (batched), 64 B streams from 15.5-16.4 M to 23-27 M msgs/s and 240 B from 1.1 M to
// 1.8 M; at 512 B it made no difference, at 1 KiB it halved the stream rate, and at
// 64 KiB it cut bandwidth from ~16 to ~7 GB/s. Demoting the consumer's head line
// instead cut the 64 B stream to 9 M msgs/s.
inline constexpr std::size_t kDemoteMaxBytes = 4 * kCacheLine;
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("cldemote"))) inline void demote_line(void* p) noexcept { _cldemote(p); }
#else
inline void demote_line(void*) noexcept {}
#endif

// A small published slot's lines go to the shared L3 at once, where the consumers'
// polls find them, instead of being snooped out of the producer's L2 line by line.
inline void demote_published_slot(SlotHeader* s, std::size_t len) noexcept {
  const std::size_t used = sizeof(SlotHeader) + len;
  if (used > kDemoteMaxBytes) return;
  for (std::size_t off = 0; off < used; off += kCacheLine)
    demote_line(reinterpret_cast<std::byte*>(s) + off);
}

}  // namespace ipcbench::ring
