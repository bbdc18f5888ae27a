#include "harness/sysctl.hpp"

#include <fstream>

namespace ipcbench {

std::uint64_t read_sysctl(const char* path, std::uint64_t if_unreadable) {
  std::ifstream in(path);
  std::uint64_t v = 0;
  return (in >> v) ? v : if_unreadable;
}

}  // namespace ipcbench
