#pragma once
// The one clock ipcbench times with: CLOCK_MONOTONIC through the vDSO. It is
// consistent across CPUs, so a timestamp taken by the producer on one CPU can be
// subtracted from one taken by the consumer on another (stream one-way latency).
#include <time.h>

#include <cstdint>

namespace ipcbench {

inline std::uint64_t now_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// Spin-wait hint: lets a sibling hyperthread run and saves power while polling.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Median cost of one now_ns() call in ns, measured over many back-to-back reads.
// Recorded in every result so readers know what the timer adds to each sample.
double measure_timer_cost_ns();

}  // namespace ipcbench
