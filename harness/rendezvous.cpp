#include "harness/rendezvous.hpp"

#include <sched.h>

#include "harness/clock.hpp"

namespace ipcbench {

void rendezvous_wait(Rendezvous& rv, std::uint32_t expected, WaitMode wait) noexcept {
  const bool poll = polls(wait);
  for (std::uint32_t seen; (seen = rv.taken.load(std::memory_order_acquire)) != expected;) {
    if (poll) {
      if (wait == WaitMode::spin_yield) {
        ::sched_yield();
      } else {
        cpu_relax();
      }
      continue;
    }
    rv.producer_sleeps.store(1, std::memory_order_seq_cst);
    // Checked again after the flag: a consumer that counted before seeing the flag
    // has not woken us. futex_wait also returns at once if `taken` moved meanwhile.
    if (rv.taken.load(std::memory_order_seq_cst) == seen) futex_wait(rv.taken, seen);
    rv.producer_sleeps.store(0, std::memory_order_relaxed);
  }
}

}  // namespace ipcbench
