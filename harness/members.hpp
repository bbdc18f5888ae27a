#pragma once
// The processes of one case: forked, pinned, watched and reaped. A pair has two
// members; a fan-out one producer and N consumers, a fan-in N producers and one
// consumer, --pairs N twice N. Internal to the harness (pair.cpp, group.cpp).
//
// The orchestrator only watches: it sleeps in poll() on the members' death pipes until
// all exit, one ends badly, the deadline passes or the run is interrupted, so it is on
// no measured path. Each member dies with the orchestrator (PR_SET_PDEATHSIG), pins
// itself to its CPU, then runs its part, which opens its end of a channel and runs a
// pattern; what it measured goes to its SideReport, in memory shared with the
// orchestrator.
#include <functional>
#include <string>
#include <vector>

#include "harness/patterns.hpp"

namespace ipcbench {

struct Member {
  std::string role;  // "producer", "consumer 2", "pair 1 client": in errors and ps
  int cpu = -1;      // -1: not pinned
  SideReport* report = nullptr;
  std::function<void()> run;  // in the child: opens its end and runs its pattern
};

// How watching the members ended: `failure` is empty when all exited cleanly.
struct WatchEnd {
  bool interrupted = false;
  std::string failure;
};

// Forks every member in order, then calls after_fork() (the channels drop the
// orchestrator's copies of their descriptors), and watches the members until all have
// exited, one ends badly, timeout_seconds pass or the run is interrupted. Whatever is
// still running then is killed and reaped before this returns. A failure names every
// member that ended badly by itself, and what the members wrote.
WatchEnd run_members(std::vector<Member>& members, double timeout_seconds,
                     const std::function<void()>& after_fork);

}  // namespace ipcbench
