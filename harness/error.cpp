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
    return " (the system's open files reached fs.file-max" +
           (max.empty() ? std::string() : " = " + max) + "; raise it with sysctl -w fs.file-max=N)";
  }
  if (err == ENOSPC) return " (a filesystem or a kernel table is full)";
  return "";
}

bool is_peer_gone(int err) noexcept {
  switch (err) {
    case EPIPE:
    case ECONNRESET:
    case ECONNREFUSED:
    case ENOTCONN:
    case EIO:
      return true;
    default:
      return false;
  }
}

PeerError peer_gone(const std::string& what) {
  return PeerError("peer closed its end (" + what + ")");
}

PeerError peer_gone_at_eof(const char* call) {
  return peer_gone(std::string(call) + " returned EOF");
}

void throw_io_error(const char* call, const std::string& object, int err) {
  if (is_peer_gone(err)) throw peer_gone(call);
  throw SysError(call, object, err);
}

}  // namespace ipcbench
