// Interposes msgget for the test executable: the core library is linked statically, so
// its calls land here. Each queue made is recorded, so the leak check can tell this
// process's queues from those of any other process on the machine.
#include "tests/leaks.hpp"

#include <dlfcn.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include <mutex>
#include <set>
#include <utility>

namespace ipcbench {
namespace {
std::mutex g_mutex;
std::set<std::pair<int, key_t>> g_queues;
}  // namespace

std::set<std::pair<int, key_t>> queues_made() {
  std::lock_guard lock(g_mutex);
  return g_queues;
}
}  // namespace ipcbench

extern "C" int msgget(key_t key, int flags) noexcept {
  using Msgget = int (*)(key_t, int);
  static const auto real = reinterpret_cast<Msgget>(::dlsym(RTLD_NEXT, "msgget"));
  const int id = real(key, flags);
  if (id >= 0 && (flags & IPC_CREAT) != 0) {
    std::lock_guard lock(ipcbench::g_mutex);
    ipcbench::g_queues.emplace(id, key);
  }
  return id;
}
