#pragma once
// The test process's own children, found by name in /proc.
#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace ipcbench {

// Our child named `name` (the pair runner names each side "ipcb-<role>"), or -1.
inline pid_t find_child(const std::string& name) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return -1;
  pid_t found = -1;
  while (dirent* e = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const std::size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 4 >= line.size())
      continue;
    const std::string comm = line.substr(open + 1, close - open - 1);
    const pid_t ppid = static_cast<pid_t>(std::atoi(line.c_str() + close + 4));  // after ") S "
    if (ppid == ::getpid() && comm == name) {
      found = pid;
      break;
    }
  }
  ::closedir(proc);
  return found;
}

}  // namespace ipcbench
