#include "bench/presets.hpp"

#include <array>

namespace ipcbench {

namespace {
const std::array<Preset, 2> kPresets = {{
    {.name = "quick",
     .about = "every mechanism, 64 B and 64 KiB, capacity 16, one repetition, 0.1 s per case (~11 s on 2 vCPUs)",
     .mechanisms = {},
     .patterns = {Pattern::pingpong, Pattern::stream},
     .sizes = {64, 64 << 10},
     .capacities = {16},
     .waits = {WaitMode::block, WaitMode::spin},
     .repetitions = 1,
     .case_seconds = 0.1},
    {.name = "default",
     .about = "every mechanism, 1 B to 1 MiB, capacity 16, three repetitions, 0.2 s per case (~2.7 min on 2 vCPUs)",
     .mechanisms = {},
     .patterns = {Pattern::pingpong, Pattern::stream},
     .sizes = {1, 64, 4 << 10, 64 << 10, 1 << 20},
     .capacities = {16},
     .waits = {WaitMode::block, WaitMode::spin},
     .repetitions = 3,
     .case_seconds = 0.2},
}};
}  // namespace

std::span<const Preset> presets() { return kPresets; }

const Preset* find_preset(std::string_view name) {
  for (const Preset& p : kPresets) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace ipcbench
