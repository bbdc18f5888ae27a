#include "bench/clean_cmd.hpp"

#include <iostream>
#include <string>

#include "bench/cli_util.hpp"
#include "harness/error.hpp"
#include "harness/stale.hpp"

namespace ipcbench {

const char* const kCleanHelp = R"(usage: ipcbench clean [options]

Removes the IPC objects of ipcbench runs that were killed (SIGKILL skips every
clean-up): /dev/shm/ipcbench-<pid>-*, /dev/mqueue/ipcbench-<pid>-*, the private
directories /tmp/ipcbench-<pid>-*, and the SysV queues and segments recorded in
/dev/shm, when no process <pid> runs (or it started after the object was last
changed: a reused pid). Only this user's objects; a live run's are never
touched. `ipcbench run` does the same before it starts. Prints one line per
object removed.

options:
  -h, --help           this help

examples:
  ipcbench clean
)";

void sweep_and_tell(std::ostream& out) {
  const SweepResult swept = sweep_stale();
  for (const std::string& what : swept.removed) {
    out << "removed, left by a dead run: " << what << "\n";
  }
  for (const std::string& what : swept.errors) {
    out << "could not remove, left by a dead run: " << what << "\n";
  }
}

int cmd_clean(cli::Args& args) {
  if (!args.done()) {
    const std::string_view opt = args.option();
    if (opt == "--help") {
      args.flag();
      if (!args.done()) unknown_option("clean", args.option(), kCleanHelp);
      std::cout << kCleanHelp;
      return 0;
    }
    unknown_option("clean", opt, kCleanHelp);
  }
  sweep_and_tell(std::cout);
  return 0;
}

}  // namespace ipcbench
