// An LD_PRELOAD library for tests/security_live_test.sh: it lets a live `ipcbench run`
// (the real binary, unchanged) report every bind() and listen() it makes, because
// those objects live only inside create() and no sampling of /proc can be sure to
// catch them: a TCP listener exists for microseconds, the rpc_unix socket file as
// briefly. Each call goes to libc's own first; then one line is appended to the file
// named by IPCBENCH_AUDIT_LOG:
//   <pid> bind unix <path> mode <octal>      (the socket file, as bind created it)
//   <pid> bind inet <addr>:<port> [private]
//   <pid> listen inet <addr>:<port> [private] (the listener's real local address)
// `private`: the socket lives in a network namespace other than the one the process
// started in (tcp_netns, udp_netns: nothing there is reachable from the host).
// Observation only: return values and errno are libc's.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

void append(const char* line) {
  const char* log = std::getenv("IPCBENCH_AUDIT_LOG");
  if (log == nullptr) return;
  // O_APPEND: lines from the orchestrator and both children never overwrite each other.
  const int fd = ::open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  [[maybe_unused]] const ssize_t n = ::write(fd, line, std::strlen(line));
  ::close(fd);
}

void format_inet(const sockaddr* sa, char* out, std::size_t size) {
  char text[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    port = ntohs(in->sin_port);
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    port = ntohs(in6->sin6_port);
  }
  std::snprintf(out, size, "%s:%u", text, port);
}

// The network namespace the process started in (children inherit the parent's value:
// the run's namespace, even after a child joins another).
const ino_t kStartNetns = [] {
  struct stat st {};
  return ::stat("/proc/self/ns/net", &st) == 0 ? st.st_ino : 0;
}();

// " private" when socket fd lives in another network namespace than kStartNetns.
const char* netns_mark(int fd) {
  const int ns = ::ioctl(fd, SIOCGSKNS);
  if (ns < 0) return "";
  struct stat st {};
  const bool other = ::fstat(ns, &st) == 0 && st.st_ino != kStartNetns;
  ::close(ns);
  return other ? " private" : "";
}

template <typename Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  static const auto real = next<int (*)(int, const sockaddr*, socklen_t)>("bind");
  const int r = real(fd, addr, len);
  const int saved = errno;
  if (r == 0 && addr != nullptr) {
    char line[512];
    line[0] = '\0';
    if (addr->sa_family == AF_UNIX) {
      const auto* un = reinterpret_cast<const sockaddr_un*>(addr);
      struct stat st {};
      if (un->sun_path[0] != '\0' && ::lstat(un->sun_path, &st) == 0) {
        std::snprintf(line, sizeof line, "%d bind unix %.*s mode %04o\n",
                      static_cast<int>(::getpid()), static_cast<int>(sizeof un->sun_path),
                      un->sun_path, static_cast<unsigned>(st.st_mode & 07777));
      }
    } else if (addr->sa_family == AF_INET || addr->sa_family == AF_INET6) {
      char where[96];
      format_inet(addr, where, sizeof where);
      std::snprintf(line, sizeof line, "%d bind inet %s%s\n", static_cast<int>(::getpid()), where,
                    netns_mark(fd));
    }
    if (line[0] != '\0') append(line);
  }
  errno = saved;
  return r;
}

extern "C" int listen(int fd, int backlog) noexcept {
  static const auto real = next<int (*)(int, int)>("listen");
  const int r = real(fd, backlog);
  const int saved = errno;
  sockaddr_storage ss{};
  socklen_t n = sizeof ss;
  if (r == 0 && ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &n) == 0 &&
      (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
    char where[96], line[160];
    format_inet(reinterpret_cast<const sockaddr*>(&ss), where, sizeof where);
    std::snprintf(line, sizeof line, "%d listen inet %s%s\n", static_cast<int>(::getpid()), where,
                  netns_mark(fd));
    append(line);
  }
  errno = saved;
  return r;
}
