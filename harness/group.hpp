#pragma once
// A case of more than two processes: fan-out (one producer, config.consumers
// consumers), fan-in (config.producers producers, one consumer) and --pairs N (N
// independent pairs at once). run_pair() hands such a case here; one PairResult
// comes back, as for a pair (harness/pair.hpp says what its fields hold for a group).
//
// CPUs: the members take the case's two CPUs first (spec.cpus, the placement's), then
// the other CPUs this process may use, in order, and start again from the first when
// there are more members than CPUs. A pair on one CPU (same_cpu) puts the whole group
// there. Then the case is oversubscribed: members take turns
// on a CPU, which a sleeping wait survives and a polling one does not (a spinning
// consumer would hold the CPU its producer needs), so polling modes are not runnable.
#include <vector>

#include "harness/pair.hpp"
#include "harness/patterns.hpp"

namespace ipcbench {

// True for a case of more than two processes.
bool is_group(const PairSpec& spec) noexcept;
PairResult run_group(const PairSpec& spec);

// The CPUs this process may use, ascending (sched_getaffinity).
std::vector<int> usable_cpus();
// Member i's CPU for a group of n members (see above); -1s when the case is unpinned.
std::vector<int> member_cpus(const std::array<int, 2>& pair_cpus, const std::vector<int>& usable,
                             unsigned n);

// One pair's figures, read from what its sides reported (pair.cpp).
void collect_pair(const PairSpec& spec, const PairShared& shared, PairResult& result);
// The case's outcome from result.verify: a sequence or payload error fails it (loss
// does not, on a mechanism that may lose).
void judge_verification(const PairSpec& spec, PairResult& result);

}  // namespace ipcbench
