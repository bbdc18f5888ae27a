#include "harness/owners.hpp"

#include <sys/random.h>

#include <cstdint>
#include <cstdio>

#include "harness/error.hpp"

namespace ipcbench {

Mapping map_shared(std::size_t bytes, int fd, bool populate) {
  const int flags =
      (fd < 0 ? (MAP_SHARED | MAP_ANONYMOUS) : MAP_SHARED) | (populate ? MAP_POPULATE : 0);
  void* addr = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags, fd, 0);
  if (addr == MAP_FAILED) throw SysError("mmap", std::to_string(bytes) + " bytes");
  return Mapping(addr, bytes);
}

std::string unique_ipc_name() {
  std::uint64_t random = 0;
  if (::getrandom(&random, sizeof random, 0) != sizeof random) throw SysError("getrandom", "");
  char name[64];
  std::snprintf(name, sizeof name, "/ipcbench-%d-%016llx", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(random));
  return name;
}

}  // namespace ipcbench
