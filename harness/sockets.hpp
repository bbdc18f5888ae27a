#pragma once
// Socket set-up shared by the socket mechanisms.
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>
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

// UDP (udp, udp_mcast).

// The largest datagram payload over IPv4: 65,535 minus the IP and UDP headers.
inline constexpr std::size_t kMaxDatagramBytes = 65'507;
// NotRunnable when one message of msg_bytes does not fit in a datagram.
void check_datagram_fits(std::size_t msg_bytes);
// A UDP socket bound to 127.0.0.1 on an ephemeral port; `addr` receives the address.
UniqueFd bound_loopback_udp_socket(sockaddr_in& addr);
// Datagrams of msg_bytes the receiver `rx` holds: sends a burst larger than the
// request from `tx` without reading, then counts what can be read back (a full UDP
// receiver drops instead of blocking the sender).
std::uint64_t probe_datagrams(int tx, int rx, std::size_t msg_bytes, std::uint64_t burst);
// The socket's granted SO_RCVBUF in bytes: what limits a UDP channel.
std::uint64_t receive_buffer_bytes(int fd);

}  // namespace ipcbench
