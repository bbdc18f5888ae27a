#include "harness/sockets.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "harness/error.hpp"

namespace ipcbench {

std::pair<UniqueFd, UniqueFd> unix_socket_pair(int type) {
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) < 0) {
    throw SysError("socketpair", type == SOCK_STREAM      ? "AF_UNIX SOCK_STREAM"
                                 : type == SOCK_DGRAM     ? "AF_UNIX SOCK_DGRAM"
                                 : type == SOCK_SEQPACKET ? "AF_UNIX SOCK_SEQPACKET"
                                                          : "AF_UNIX");
  }
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

sockaddr_un bind_unix_owner_only(int fd, const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw NotRunnable("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::fchmod(fd, 0600) < 0) throw SysError("fchmod 0600", "AF_UNIX socket for " + path);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) throw SysError("bind", path);
  // The kernel's rule above is Linux's, not POSIX's: should a kernel not follow it, the
  // promise would break silently, so check what bind made.
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) throw SysError("lstat", path);
  if ((st.st_mode & 0077) != 0) {
    ::unlink(path.c_str());
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error("bind " + path + ": the socket file was created with mode " + mode +
                             ", not owner-only");
  }
  return addr;
}

}  // namespace ipcbench
