#include "bench/plot_cmd.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>

namespace ipcbench {

const char* const kPlotHelp = R"(usage: ipcbench plot RESULTS.json [options]

Draws the charts of a results file (PNG and SVG) and report.html, a page with
the charts, the summary table and the machine's context. Runs plots/plot.py
with /usr/bin/python3 (python3-matplotlib); reads files of at most 64 MiB.

options:
  --out DIR            output directory       [plots/out/<stem of RESULTS>]
  -h, --help           this help

examples:
  ipcbench plot results/2026-01-01T12-00-00.json
  ipcbench plot run.json --out /tmp/charts && xdg-open /tmp/charts/report.html
)";

int cmd_plot(const std::vector<std::string>& plot_args) {
  for (const std::string& a : plot_args) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") {
      std::cout << kPlotHelp;
      return 0;
    }
  }
  exec_plot(plot_args);
}

// IPCBENCH_PLOT_VIA makes plot.py name itself `ipcbench plot` in its usage and start
// its one line of bad input with "ipcbench: plot: ", as every other command's.
void exec_plot(const std::vector<std::string>& plot_args) {
  std::vector<std::string> a = {"/usr/bin/python3", IPCBENCH_PLOT_PY};
  a.insert(a.end(), plot_args.begin(), plot_args.end());
  std::vector<char*> py_argv;
  for (std::string& s : a) py_argv.push_back(s.data());
  py_argv.push_back(nullptr);
  ::setenv("IPCBENCH_PLOT_VIA", "ipcbench", 1);
  ::execv(py_argv[0], py_argv.data());
  throw std::runtime_error(std::string("plot: cannot run /usr/bin/python3 ") + IPCBENCH_PLOT_PY +
                           ": " + std::strerror(errno) +
                           " (scripts/setup.sh installs python3-matplotlib)");
}

}  // namespace ipcbench
