#pragma once
// Socket set-up shared by the socket mechanisms.
#include <sys/un.h>

#include <string>
#include <utility>

#include "harness/owners.hpp"

namespace ipcbench {

// socketpair(AF_UNIX, type | SOCK_CLOEXEC): side a's end and side b's. SysError when it
// fails, naming the type.
std::pair<UniqueFd, UniqueFd> unix_socket_pair(int type);

// Binds an AF_UNIX socket to `path` with the socket file owner-only (0600) whatever
// the process's umask, and returns the address (for connect). Linux gives the new
// file the socket inode's mode masked by the umask (unix_bind, net/unix/af_unix.c),
// so an fchmod of the still unbound socket sets the file's mode as bind creates it:
// never a moment wider, and the process-wide umask is left alone (a scoped umask would
// narrow files another thread creates meanwhile). Anything already at `path` makes
// bind fail (EADDRINUSE): nothing is replaced or followed. NotRunnable when the path
// does not fit sun_path; SysError when a call fails.
sockaddr_un bind_unix_owner_only(int fd, const std::string& path);

}  // namespace ipcbench
