#pragma once
// `ipcbench plot`, a thin front: plots/plot.py owns the charts, their options and their
// errors.
#include <string>
#include <vector>

namespace ipcbench {

// Replaces this process with /usr/bin/python3 plots/plot.py `plot_args`; throws only
// when that cannot start.
[[noreturn]] void exec_plot(const std::vector<std::string>& plot_args);

}  // namespace ipcbench
