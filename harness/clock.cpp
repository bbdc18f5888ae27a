#include "harness/clock.hpp"

#include <algorithm>
#include <array>

namespace ipcbench {

double measure_timer_cost_ns() {
  constexpr int kReads = 10'000;
  std::array<double, 15> per_read{};
  for (double& cost : per_read) {
    const std::uint64_t begin = now_ns();
    std::uint64_t sink = 0;
    for (int i = 0; i < kReads; ++i) sink += now_ns();
    const std::uint64_t end = now_ns();
    asm volatile("" : : "r"(sink));
    cost = static_cast<double>(end - begin) / kReads;
  }
  std::sort(per_read.begin(), per_read.end());
  return per_read[per_read.size() / 2];
}

}  // namespace ipcbench
