#pragma once
// The suite's presets: which patterns, sizes, capacities and wait modes run, how long
// each case measures and how often it repeats. Options given on the command line
// override a preset's values one by one.
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "harness/channel.hpp"

namespace ipcbench {

struct Preset {
  std::string_view name;
  std::string_view about;
  std::vector<std::string_view> mechanisms;  // empty: every registered mechanism
  std::vector<Pattern> patterns;
  std::vector<std::size_t> sizes;
  std::vector<std::size_t> capacities;
  std::vector<WaitMode> waits;
  int repetitions;
  double case_seconds;
};

std::span<const Preset> presets();
const Preset* find_preset(std::string_view name);

}  // namespace ipcbench
