#pragma once
// Where the two sides of a case sit, derived from the CPU topology sysfs describes.
//
// Published IPC figures differ 3-10x by placement alone: a cache line moves between
// SMT siblings through their shared L1, between cores of one L3 through that L3,
// between L3s (AMD CCXs) over the package fabric, and between NUMA nodes over the
// socket link. read_topology() learns, for each CPU this process may use, its core,
// package, L3 and NUMA node; derive_placements() picks for each Placement the CPU
// pair that has it, lowest-numbered first, or says why the machine has none.
//
// What sysfs lacks is assumed, and the assumption is noted (Topology::notes):
// - no thread_siblings_list: the core is core_id within the package; neither: each
//   CPU its own core (no SMT).
// - no physical_package_id: one package.
// - no level-3 cache under cache/index*/ (VMs often show none): one L3 per package,
//   so same_l3 is offered (assumed) and cross_l3 is not.
// - no node*/cpulist: NUMA unknown; cross_l3 stays within a package and cross_numa
//   falls back to different packages.
// docs/placement.md says the same for users.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipcbench {

enum class Placement { same_cpu, smt_sibling, same_l3, cross_l3, cross_numa };

// Every placement, from nearest to farthest: the order a sweep runs them in.
inline constexpr std::array<Placement, 5> kPlacements = {
    Placement::same_cpu, Placement::smt_sibling, Placement::same_l3, Placement::cross_l3,
    Placement::cross_numa};

std::string_view to_string(Placement p);
std::optional<Placement> parse_placement(std::string_view name);
// "same_cpu, smt_sibling, same_l3, cross_l3, cross_numa"
std::string placement_names();

struct CpuTopology {
  int cpu = -1;
  int core = -1;    // an index: equal for the hardware threads of one core
  int package = 0;  // physical_package_id
  int l3 = -1;      // an index: equal for CPUs sharing one L3
  int node = -1;    // NUMA node; -1: unknown
};

struct Topology {
  std::vector<CpuTopology> cpus;   // the CPUs this process may use, in increasing order
  bool l3_known = false;           // every CPU's L3 was read (else one per package assumed)
  bool numa_known = false;         // every CPU's node was read
  std::vector<std::string> notes;  // what was assumed, one sentence each
};

struct TopologyRoots {
  std::string cpu = "/sys/devices/system/cpu";
  std::string node = "/sys/devices/system/node";
};

// The topology of `allowed` CPUs as the sysfs trees under `roots` describe them.
// Missing or unreadable files are assumed as the header says, never an error.
Topology read_topology(const std::vector<int>& allowed, const TopologyRoots& roots = {});
// This machine, for the CPUs sched_getaffinity allows.
Topology read_topology();

// The pair of CPUs {a, b} for `p`: the lexicographically lowest pair that has it;
// absent when the machine (or the affinity mask) offers none.
std::optional<std::array<int, 2>> placement_cpus(const Topology& t, Placement p);

struct PlacementChoice {
  Placement placement;
  std::optional<std::array<int, 2>> cpus;  // absent: not offered
};
// Every placement in kPlacements order, with its pair when the machine offers it.
std::vector<PlacementChoice> derive_placements(const Topology& t);

// Why `p` is not offered here (for a not-runnable case), e.g. "no two allowed CPUs
// are hardware threads of one core (no SMT)".
std::string why_not_offered(const Topology& t, Placement p);

// What placement two given CPUs form (the nearest that holds: one CPU, then one core,
// then one L3, then one node, else cross_numa); absent when a CPU is not in `t`.
std::optional<Placement> classify(const Topology& t, const std::array<int, 2>& cpus);

// n CPUs for n processes under `p`: the pair's first CPU, then CPUs that stand to it as
// `p` says (same_cpu: that CPU n times), lowest first; fewer than n when the machine
// has fewer. For patterns with more than two processes.
std::vector<int> placement_cpu_list(const Topology& t, Placement p, std::size_t n);

// "0-3,8,10-11" -> {0,1,2,3,8,10,11}; absent for text that is not such a list.
std::optional<std::vector<int>> parse_cpu_list(std::string_view text);

}  // namespace ipcbench
