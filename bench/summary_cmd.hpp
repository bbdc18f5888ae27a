#pragma once
// `ipcbench summary RESULTS.json`: a results file's verdict again (the fastest
// mechanism per pattern, size and way of waiting), or every case with --all.
#include "harness/cli.hpp"

namespace ipcbench {

extern const char* const kSummaryHelp;
// Exit status: 0, or 2 for bad input (thrown as UsageError).
int cmd_summary(cli::Args& args);

}  // namespace ipcbench
