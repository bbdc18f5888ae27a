#pragma once
// `ipcbench plot`, a thin front: plots/plot.py owns the charts, their options and their
// errors.
#include <string>
#include <vector>

namespace ipcbench {

// `ipcbench plot --help`, in every command's style. Mirrors plots/plot.py's options:
// an option added there is added here too (tests/cli_options_test.py reads this text).
extern const char* const kPlotHelp;

// Prints kPlotHelp for `--help` or `-h`, else runs exec_plot(plot_args).
int cmd_plot(const std::vector<std::string>& plot_args);

// Replaces this process with /usr/bin/python3 plots/plot.py `plot_args`; throws only
// when that cannot start.
[[noreturn]] void exec_plot(const std::vector<std::string>& plot_args);

}  // namespace ipcbench
