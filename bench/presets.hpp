#pragma once
// The suite's presets. A preset is a main grid plus named sweeps; each grid is its own
// cartesian product (mechanisms x patterns x sizes x capacities x wait modes, x offered
// rates for the rate pattern) with its own repetitions and case time. Options given on
// the command line override the main grid's values one by one; --mechanisms filters
// every grid, --rates sets every grid's rates and --sweeps picks the sweeps.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/channel.hpp"

namespace ipcbench {

struct Grid {
  std::string_view name;                     // "main", or the sweep's name
  std::vector<std::string_view> mechanisms;  // empty: every registered mechanism
  // Of those, the families that run (Mechanism::family); empty: every family. In the main
  // grid, mechanisms named with --mechanisms run whatever their family.
  std::vector<std::string_view> families;
  // Of those, the mechanisms that run elsewhere (a sweep of their own).
  std::vector<std::string_view> except = {};
  std::vector<Pattern> patterns;
  std::vector<std::size_t> sizes;
  std::vector<std::size_t> capacities;
  std::vector<WaitMode> waits;
  std::vector<std::uint64_t> rates_msgs_per_s;  // offered rates, for the rate pattern only
  int repetitions;
  double case_seconds;
  // fanout's consumers and fanin's producers: one case per count.
  std::vector<unsigned> fan_counts = {2};
  // Pairs at once (--pairs) for pingpong and stream; empty: one pair, and case names
  // without /pairs:N.
  std::vector<unsigned> pairs = {};
};

struct Preset {
  std::string_view name;
  std::string_view about;
  Grid main;
  std::vector<Grid> sweeps;
};

// Whether grid `g` runs mechanism `m`: one of its mechanisms (all when it names none)
// and of its families (all when it names none), and not one it excepts.
bool grid_has(const Grid& g, const Mechanism& m);

std::span<const Preset> presets();
const Preset* find_preset(std::string_view name);
// The sweep `name` of `preset`, or else of the default preset; nullptr if neither has it.
const Grid* find_sweep(const Preset& preset, std::string_view name);
// Every preset's name, in table order, for messages and help: "quick, default, full".
std::string preset_names();
// Every sweep name any preset has, in order of first appearance, for messages and help:
// "capacity, rate, zero_copy, wait".
std::string sweep_names();

}  // namespace ipcbench
