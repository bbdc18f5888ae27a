#include "harness/sockets.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

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

void check_datagram_fits(std::size_t msg_bytes) {
  if (msg_bytes > kMaxDatagramBytes) {
    throw NotRunnable("a UDP datagram carries at most 65,507 bytes (IPv4); this case needs " +
                      std::to_string(msg_bytes));
  }
}

UniqueFd bound_loopback_udp_socket(sockaddr_in& addr) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) throw SysError("socket", "AF_INET SOCK_DGRAM");
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only
  socklen_t len = sizeof addr;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    throw SysError("bind", "127.0.0.1:0");
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) < 0)
    throw SysError("getsockname", "");
  return fd;
}

std::uint64_t probe_datagrams(int tx, int rx, std::size_t msg_bytes, std::uint64_t burst) {
  std::vector<std::byte> buf(msg_bytes);
  for (std::uint64_t i = 0; i < burst; ++i) {
    if (::send(tx, buf.data(), buf.size(), MSG_DONTWAIT) < 0) {
      if (errno == EAGAIN || errno == ENOBUFS) break;  // the send queue itself is full
      throw SysError("send (capacity probe)", "udp");
    }
  }
  std::uint64_t held = 0;
  while (::recv(rx, buf.data(), buf.size(), MSG_DONTWAIT) >= 0) ++held;
  if (errno != EAGAIN) throw SysError("recv (capacity probe)", "udp");
  return held;
}

std::uint64_t receive_buffer_bytes(int fd) {
  int granted = 0;
  socklen_t len = sizeof granted;
  if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len) < 0)
    throw SysError("getsockopt", "SO_RCVBUF");
  return static_cast<std::uint64_t>(granted);
}

}  // namespace ipcbench
