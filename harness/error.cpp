#include "harness/error.hpp"

#include <sys/resource.h>

#include <fstream>

namespace ipcbench {

std::string limit_hint(int err) {
  if (err == EMFILE) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      return " (RLIMIT_NOFILE: this process may hold " + std::to_string(rl.rlim_cur) +
             " descriptors; raise it with ulimit -n)";
    }
    return " (RLIMIT_NOFILE: raise it with ulimit -n)";
  }
  if (err == ENFILE) {
    std::string max;
    std::ifstream("/proc/sys/fs/file-max") >> max;
    return " (the system's open files reached fs.file-max" + (max.empty() ? std::string() : " = " + max) +
           "; raise it with sysctl -w fs.file-max=N)";
  }
  if (err == ENOSPC) return " (a filesystem or a kernel table is full)";
  return "";
}

}  // namespace ipcbench
