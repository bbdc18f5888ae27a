#pragma once
// `ipcbench clean`: removes what killed runs left behind (harness/stale.hpp).
#include <ostream>

#include "harness/cli.hpp"

namespace ipcbench {

extern const char* const kCleanHelp;
// Exit status: 0, or 2 for bad input (thrown as UsageError).
int cmd_clean(cli::Args& args);
// Removes what SIGKILLed runs left behind and says on `out` what it did, one line per
// object; `run` calls it too before it starts.
void sweep_and_tell(std::ostream& out);

}  // namespace ipcbench
