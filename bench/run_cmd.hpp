#pragma once
// `ipcbench run`: plans the chosen preset's cases, measures the floors, runs every case
// through Google Benchmark and writes the results file (bench/run_options.hpp reads
// the command line).
#include "harness/cli.hpp"

namespace ipcbench {

// Exit status: 0 all cases ran (some may be not runnable), 1 a case failed, 2 bad input
// (thrown as UsageError), 130 interrupted (the partial results are written).
int cmd_run(cli::Args& args, const char* argv0);

}  // namespace ipcbench
