#pragma once
// `ipcbench compare BASE.json NEW.json`: the command around harness/compare.hpp.
#include "harness/cli.hpp"

namespace ipcbench {

extern const char* const kCompareHelp;
// Exit status: 0 no significant regression past the threshold, 1 a regression, 2 bad
// input (thrown as UsageError).
int cmd_compare(cli::Args& args);

}  // namespace ipcbench
