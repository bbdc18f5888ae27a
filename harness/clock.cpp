#include "harness/clock.hpp"

#include <vector>

#include "harness/stats.hpp"

namespace ipcbench {

double measure_timer_cost_ns() {
  constexpr int kReads = 10'000;
  std::vector<double> per_read(15);
  for (double& cost : per_read) {
    const std::uint64_t begin = now_ns();
    std::uint64_t sink = 0;
    for (int i = 0; i < kReads; ++i) sink += now_ns();
    const std::uint64_t end = now_ns();
    asm volatile("" : : "r"(sink));
    cost = static_cast<double>(end - begin) / kReads;
  }
  return median(per_read);
}

}  // namespace ipcbench
