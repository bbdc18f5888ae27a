#include "bench/plot_cmd.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace ipcbench {

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
