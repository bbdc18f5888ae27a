#pragma once
// `ipcbench list`: the registered mechanisms, as a table or as JSON.
#include "harness/cli.hpp"

namespace ipcbench {

extern const char* const kListHelp;
// Exit status: 0, or 2 for bad input (thrown as UsageError).
int cmd_list(cli::Args& args);

}  // namespace ipcbench
