// Security promises (issue 7), tested on Mechanism::create() and run_pair() in this
// process, with a permissive umask (000) so that nothing passes thanks to the umask:
//   1. every object a channel creates is owner-only: shm objects, message queues,
//      FIFOs, socket files, files, memfds and SysV objects mode 0600, directories 0700;
//   2. names are unpredictable and created O_EXCL: an object planted at the name a
//      case will pick (a FIFO, a socket, a file, a symlink to a file, a queue) is
//      refused, not followed, and left exactly as it was;
//   3. TCP, UDP and RPC bind, listen and connect on loopback only.
//
// Most names exist only inside create() (README, "Leaving nothing behind"), so a scan
// of /dev/shm or /tmp after create() returns sees almost nothing. This test binary
// therefore interposes the libc calls that create and remove names: it defines them
// itself (extern "C", below). ipcbench_core is a static library linked into this
// executable, so the linker binds its calls to these definitions, never to libc.so's;
// each hook calls libc's own (dlsym RTLD_NEXT) and inspects the object right after it
// was created (or right before it is removed). Production code is unchanged, and the
// Hooks tests prove the interposition is live. getrandom is interposed the same way,
// so that a test can make the next name predictable and plant an object there first.
// The hooks live only in this executable (ipcbench_security_tests), so no other test
// runs with them.
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <mqueue.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness/channel.hpp"
#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/pair.hpp"
#include "harness/registry.hpp"
#include "harness/shared_region.hpp"

namespace ipcbench::sectest {

// One object seen by a hook or a scan, with its permission bits at that moment.
struct Seen {
  std::string how;   // the call or scan that showed it: "shm_open", "unlink", "fd", ...
  std::string path;  // a path, or "sysv shm <id>", "fd -> pipe:[...]"
  std::string kind;  // shm, mqueue, dir, fifo, socket, file, memfd, pipe, sysv shm, sysv msg
  unsigned mode;     // st_mode & 0777 (SysV: perms & 0777)
};

// One use of an IPv4/IPv6 address: a bind, a listen (the socket's local address) or
// a connect (the destination).
struct InetUse {
  std::string how;
  std::string addr;
  bool loopback;
};

struct Recorder {
  bool on = false;
  std::vector<Seen> seen;
  std::vector<InetUse> inet;
  std::vector<std::string> removed;  // every path a removal call was given
  std::vector<int> msg_ids;          // every SysV queue msgget created
  void reset() { *this = Recorder{}; }
};
Recorder g_rec;

// Armed: getrandom fills its buffer with this value's bytes (repeated).
std::optional<std::uint64_t> g_forced_random;

// Armed: right after the next mkdtemp, plant this object inside the new directory.
enum class PlantKind { fifo, socket, file, symlink, mqueue };
struct DirPlant {
  std::string leaf;
  PlantKind kind;
};
std::optional<DirPlant> g_plant_in_next_dir;
void plant_in_dir(const std::string& dir);  // below, with the Planter

template <typename Fn>
Fn libc(const char* name) {
  void* f = ::dlsym(RTLD_NEXT, name);
  if (f == nullptr) std::abort();  // the test cannot mean anything without it
  return reinterpret_cast<Fn>(f);
}

std::string kind_of(const struct stat& st, const std::string& path) {
  if (S_ISDIR(st.st_mode)) return "dir";
  if (S_ISFIFO(st.st_mode)) return "fifo";
  if (S_ISSOCK(st.st_mode)) return "socket";
  if (S_ISLNK(st.st_mode)) return "symlink";
  if (path.starts_with("/dev/shm/")) return "shm";
  if (path.starts_with("/dev/mqueue/")) return "mqueue";
  if (path.starts_with("/dev/pts/")) return "pty";
  if (S_ISREG(st.st_mode)) return "file";
  return "other";
}

void record_path(const std::string& how, const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;  // already gone (a backstop removal)
  g_rec.seen.push_back({how, path, kind_of(st, path), static_cast<unsigned>(st.st_mode & 0777)});
}

void record_fd(const std::string& how, int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;
  g_rec.seen.push_back({how, path, kind_of(st, path), static_cast<unsigned>(st.st_mode & 0777)});
}

// The perms column of /proc/sysvipc/{shm,msg} for one id (-1 when not listed).
int sysv_perms(const char* table, int id) {
  std::ifstream in(std::string("/proc/sysvipc/") + table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    long long key = 0;
    int row_id = -1;
    std::string perms;
    if (f >> key >> row_id >> perms && row_id == id)
      return static_cast<int>(std::stoul(perms, nullptr, 8));
  }
  return -1;
}

void record_sysv(const std::string& how, const char* table, int id) {
  const int perms = sysv_perms(table, id);
  if (perms < 0) return;
  g_rec.seen.push_back({how, std::string("sysv ") + table + " " + std::to_string(id),
                        std::string("sysv ") + table, static_cast<unsigned>(perms) & 0777});
}

std::string format_inet(const sockaddr* sa) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
  ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
  return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6->sin6_port));
}

// 127.0.0.1, ::1 or ::ffff:127.0.0.1; never a wildcard (0.0.0.0, ::) or another address.
bool is_loopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
  }
  if (sa->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&a)) return std::memcmp(&a.s6_addr[12], "\x7f\0\0\x01", 4) == 0;
  }
  return false;
}

// A group in 239.255.0.0/16, the IPv4 local scope (RFC 2365), where udp_mcast picks
// its groups.
bool is_local_scope_group(const sockaddr* sa) {
  return sa->sa_family == AF_INET &&
         (ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr) >> 16) == 0xefff;
}

// A socket sending to a group keeps its datagrams on this host: out of the loopback
// interface (IP_MULTICAST_IF 127.0.0.1) with TTL 0, which Linux drops before any
// device once it has looped the local copy back (ip_mc_output).
bool multicast_stays_on_host(int fd) {
  in_addr via{};
  socklen_t n = sizeof via;
  int ttl = -1;
  socklen_t ttl_n = sizeof ttl;
  return ::getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &via, &n) == 0 &&
         via.s_addr == htonl(INADDR_LOOPBACK) &&
         ::getsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, &ttl_n) == 0 && ttl == 0;
}

// Whether a use of `sa` by socket `fd` stays on this host. A local-scope group is
// allowed: bound (a "bind" or "local"), it is no wildcard, since such a socket
// receives only datagrams sent to that group, and only where it joined (each join is
// recorded and checked to be on lo); as a destination (a "connect" or "peer"), only
// from a socket whose multicast stays on the host.
bool stays_on_host(const std::string& how, const sockaddr* sa, int fd) {
  if (is_loopback(sa)) return true;
  if (!is_local_scope_group(sa)) return false;
  return how == "bind" || how == "local" || multicast_stays_on_host(fd);
}

void record_inet(const std::string& how, const sockaddr* sa, int fd) {
  if (sa == nullptr || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) return;
  g_rec.inet.push_back({how, format_inet(sa), stays_on_host(how, sa, fd)});
}

}  // namespace ipcbench::sectest

// ---- the interposed calls (global namespace, C linkage, libc's signatures) ----
using namespace ipcbench::sectest;

extern "C" ssize_t getrandom(void* buf, size_t len, unsigned flags) {
  if (g_forced_random) {
    auto* out = static_cast<unsigned char*>(buf);
    for (size_t i = 0; i < len; ++i)
      out[i] = static_cast<unsigned char>(*g_forced_random >> (8 * (i % 8)));
    return static_cast<ssize_t>(len);
  }
  static const auto real = libc<ssize_t (*)(void*, size_t, unsigned)>("getrandom");
  return real(buf, len, flags);
}

extern "C" int shm_open(const char* name, int oflag, mode_t mode) {
  static const auto real = libc<int (*)(const char*, int, mode_t)>("shm_open");
  const int fd = real(name, oflag, mode);
  if (fd >= 0 && (oflag & O_CREAT) && g_rec.on)
    record_fd("shm_open", fd, std::string("/dev/shm") + name);
  return fd;
}

extern "C" mqd_t mq_open(const char* name, int oflag, ...) noexcept {
  static const auto real = libc<mqd_t (*)(const char*, int, ...)>("mq_open");
  mqd_t q;
  if (oflag & O_CREAT) {
    va_list ap;
    va_start(ap, oflag);
    const auto mode = static_cast<mode_t>(va_arg(ap, unsigned));
    mq_attr* attr = va_arg(ap, mq_attr*);
    va_end(ap);
    q = real(name, oflag, mode, attr);
    if (q >= 0 && g_rec.on) record_fd("mq_open", q, std::string("/dev/mqueue") + name);
  } else {
    q = real(name, oflag);
  }
  return q;
}

extern "C" char* mkdtemp(char* tmpl) noexcept {
  static const auto real = libc<char* (*)(char*)>("mkdtemp");
  char* dir = real(tmpl);
  if (dir != nullptr && g_rec.on) record_path("mkdtemp", dir);
  if (dir != nullptr && g_plant_in_next_dir) plant_in_dir(dir);
  return dir;
}

extern "C" int bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  static const auto real = libc<int (*)(int, const sockaddr*, socklen_t)>("bind");
  const int r = real(fd, addr, len);
  if (r == 0 && g_rec.on) {
    if (addr->sa_family == AF_UNIX) {
      const auto* un = reinterpret_cast<const sockaddr_un*>(addr);
      if (un->sun_path[0] != '\0') record_path("bind", un->sun_path);  // not the abstract namespace
    }
    record_inet("bind", addr, fd);
  }
  return r;
}

extern "C" int listen(int fd, int backlog) noexcept {
  static const auto real = libc<int (*)(int, int)>("listen");
  const int r = real(fd, backlog);
  if (r == 0 && g_rec.on) {
    // The local address a listener really has: a socket that listens unbound gets a
    // wildcard address, which no bind hook would see.
    sockaddr_storage ss{};
    socklen_t n = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &n) == 0)
      record_inet("listen", reinterpret_cast<sockaddr*>(&ss), fd);
  }
  return r;
}

extern "C" int connect(int fd, const sockaddr* addr, socklen_t len) {
  static const auto real = libc<int (*)(int, const sockaddr*, socklen_t)>("connect");
  if (g_rec.on) record_inet("connect", addr, fd);
  return real(fd, addr, len);
}

// A multicast join, recorded as a use of the group: on the loopback interface only.
extern "C" int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  static const auto real = libc<int (*)(int, int, int, const void*, socklen_t)>("setsockopt");
  const int r = real(fd, level, name, value, len);
  if (r == 0 && g_rec.on && level == IPPROTO_IP && name == IP_ADD_MEMBERSHIP &&
      len >= sizeof(ip_mreq)) {
    const auto* join = static_cast<const ip_mreq*>(value);
    sockaddr_in group{};
    group.sin_family = AF_INET;
    group.sin_addr = join->imr_multiaddr;
    const bool on_lo = len == sizeof(ip_mreqn)
                           ? static_cast<const ip_mreqn*>(value)->imr_ifindex ==
                                 static_cast<int>(::if_nametoindex("lo"))
                           : join->imr_interface.s_addr == htonl(INADDR_LOOPBACK);
    g_rec.inet.push_back({"join", format_inet(reinterpret_cast<sockaddr*>(&group)), on_lo});
  }
  return r;
}

extern "C" int shmget(key_t key, size_t size, int flags) noexcept {
  static const auto real = libc<int (*)(key_t, size_t, int)>("shmget");
  const int id = real(key, size, flags);
  if (id >= 0 && g_rec.on) record_sysv("shmget", "shm", id);
  return id;
}

extern "C" int msgget(key_t key, int flags) noexcept {
  static const auto real = libc<int (*)(key_t, int)>("msgget");
  const int id = real(key, flags);
  if (id >= 0 && g_rec.on) {
    record_sysv("msgget", "msg", id);
    g_rec.msg_ids.push_back(id);
  }
  return id;
}

// Removals: the object is inspected just before it goes.
extern "C" int shm_unlink(const char* name) {
  static const auto real = libc<int (*)(const char*)>("shm_unlink");
  const std::string path = std::string("/dev/shm") + (name[0] == '/' ? "" : "/") + name;
  if (g_rec.on) {
    record_path("shm_unlink", path);
    g_rec.removed.push_back(path);
  }
  return real(name);
}

extern "C" int mq_unlink(const char* name) noexcept {
  static const auto real = libc<int (*)(const char*)>("mq_unlink");
  const std::string path = std::string("/dev/mqueue") + name;
  if (g_rec.on) {
    record_path("mq_unlink", path);
    g_rec.removed.push_back(path);
  }
  return real(name);
}

extern "C" int unlink(const char* path) noexcept {
  static const auto real = libc<int (*)(const char*)>("unlink");
  if (g_rec.on) {
    record_path("unlink", path);
    g_rec.removed.push_back(path);
  }
  return real(path);
}

extern "C" int rmdir(const char* path) noexcept {
  static const auto real = libc<int (*)(const char*)>("rmdir");
  if (g_rec.on) {
    record_path("rmdir", path);
    g_rec.removed.push_back(path);
  }
  return real(path);
}

namespace ipcbench::sectest {
namespace {

const std::string kPid = std::to_string(::getpid());
const std::string kOwnPrefix = "ipcbench-" + kPid + "-";

class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t m) : old_(::umask(m)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

// Recording on for a scope, from a clean slate.
class Recording {
 public:
  Recording() {
    g_rec.reset();
    g_rec.on = true;
  }
  ~Recording() { g_rec.on = false; }
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;
};

// Every path under dir (dir included), without following symlinks.
void walk(const std::string& path, std::vector<std::string>& out) {
  out.push_back(path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
  if (DIR* d = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") walk(path + "/" + name, out);
    }
    ::closedir(d);
  }
}

// Named objects of this process: "ipcbench-<pid>-..." in /dev/shm, /dev/mqueue and
// /tmp, with everything inside the /tmp directories.
std::set<std::string> own_named_objects() {
  std::set<std::string> out;
  for (const char* dir : {"/dev/shm", "/dev/mqueue", "/tmp"}) {
    if (DIR* d = ::opendir(dir)) {
      while (dirent* e = ::readdir(d)) {
        if (!std::string(e->d_name).starts_with(kOwnPrefix)) continue;
        std::vector<std::string> all;
        walk(std::string(dir) + "/" + e->d_name, all);
        out.insert(all.begin(), all.end());
      }
      ::closedir(d);
    }
  }
  return out;
}

// SysV segments this process created (the cpid column). Queues carry no creator pid:
// those of this process are the ones the msgget hook saw (Recorder::msg_ids), so
// another test binary's queues on the machine never count here.
std::set<int> own_sysv_segments() {
  std::set<int> ids;
  std::ifstream in("/proc/sysvipc/shm");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    long long key = 0, size = 0;
    int id = -1, cpid = -1;
    std::string perms;
    f >> key >> id >> perms >> size >> cpid;
    if (cpid == ::getpid()) ids.insert(id);
  }
  return ids;
}

// This process's open descriptors, leaving out the one that lists them (its number is
// free again afterwards and may be the next object's).
std::set<int> open_fds() {
  std::set<int> fds;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.' && std::atoi(e->d_name) != ::dirfd(d))
        fds.insert(std::atoi(e->d_name));
    }
    ::closedir(d);
  }
  return fds;
}

dev_t mqueue_dev() {
  struct stat st {};
  return ::stat("/dev/mqueue", &st) == 0 ? st.st_dev : 0;
}

// What this process holds and the scans see after create(): every new descriptor's
// object (through /proc/self/fd, which reaches it even once unlinked), every named
// object with this process's pid, every new SysV object.
void scan_after_create(const std::set<int>& fds_before, const std::set<std::string>& names_before,
                       const std::vector<int>& msg_ids) {
  for (int fd : open_fds()) {
    if (fds_before.contains(fd)) continue;
    char target[512] = {};
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    if (::readlink(link.c_str(), target, sizeof target - 1) < 0)
      continue;  // the directory stream itself
    const std::string t = target;
    struct stat st {};
    if (::stat(link.c_str(), &st) != 0) continue;
    std::string kind;
    if (t.starts_with("socket:")) {
      // A socket's sockfs inode is 0777 by the kernel's design and no name reaches it
      // (opening /proc/<pid>/fd/N of a socket fails); a socket *file* is checked
      // where bind() creates it.
      continue;
    } else if (t.starts_with("anon_inode:")) {
      continue;  // eventfd: one kernel-internal inode shared by all, never named
    } else if (t.starts_with("net:[")) {
      // A network namespace's handle (tcp_netns, udp_netns): an nsfs inode, 0444 by the
      // kernel's design; no name reaches it but /proc/<pid>/ns/net, which only a
      // process with ptrace access to the holder may open.
      continue;
    } else if (t == "/dev/ptmx" || t == "/dev/pts/ptmx") {
      continue;  // the pty multiplexer: one node for all; a pair's own node is /dev/pts/N
    } else if (t.starts_with("pipe:")) {
      kind = "pipe";
    } else if (t.starts_with("/memfd:")) {
      kind = "memfd";
    } else if (st.st_dev == mqueue_dev()) {
      kind = "mqueue";
    } else {
      kind = kind_of(st, t);
    }
    g_rec.seen.push_back({"fd", "fd " + std::to_string(fd) + " -> " + t, kind,
                          static_cast<unsigned>(st.st_mode & 0777)});
  }
  for (const std::string& p : own_named_objects()) {
    if (!names_before.contains(p)) record_path("scan", p);
  }
  for (int id : own_sysv_segments()) record_sysv("scan", "shm", id);
  for (int id : msg_ids)
    record_sysv("scan", "msg", id);  // IPC_SET since msgget may have changed the mode
}

// "" when every seen object is owner-only, else one line per offender.
std::string mode_violations(const std::vector<Seen>& seen) {
  std::string out;
  for (const Seen& s : seen) {
    const unsigned want = s.kind == "dir" ? 0700 : 0600;
    if (s.mode != want) {
      char line[640];
      std::snprintf(line, sizeof line, "  %s %s (%s): mode %04o, want %04o\n", s.how.c_str(),
                    s.path.c_str(), s.kind.c_str(), s.mode, want);
      out += line;
    }
  }
  return out;
}

std::string describe(const std::vector<Seen>& seen) {
  std::string out;
  for (const Seen& s : seen) {
    char line[640];
    std::snprintf(line, sizeof line, "  %s %s (%s) %04o\n", s.how.c_str(), s.path.c_str(),
                  s.kind.c_str(), s.mode);
    out += line;
  }
  return out;
}

// ===== Hooks: the interposition is live for the core library =====

TEST(Hooks, GetrandomIsInterposedForTheCoreLibrary) {
  g_forced_random = 0x0123456789abcdefull;
  const std::string forced = unique_ipc_name();
  g_forced_random.reset();
  EXPECT_EQ(forced, "/" + kOwnPrefix + "0123456789abcdef");
  // Unarmed, names come from the kernel's randomness again: all different.
  const std::string a = unique_ipc_name(), b = unique_ipc_name();
  EXPECT_NE(a, b);
  EXPECT_NE(a, forced);
  EXPECT_EQ(a.size(), forced.size());
}

TEST(Hooks, CreationAndRemovalCallsOfTheCoreLibraryAreSeen) {
  Recording rec;
  {
    SharedRegion region(Backing::posix_shm, 4096, [](std::byte*) {});
  }
  std::set<std::string> hows;
  for (const Seen& s : g_rec.seen) hows.insert(s.how);
  EXPECT_TRUE(hows.contains("shm_open")) << describe(g_rec.seen);
  EXPECT_TRUE(hows.contains("shm_unlink")) << describe(g_rec.seen);
}

// ===== 1. Owner-only modes =====

struct ModeParam {
  const Mechanism* mechanism;
  Pattern pattern;
  WaitMode wait;
  Backing backing;
};

void PrintTo(const ModeParam& p, std::ostream* os) {
  *os << p.mechanism->name << "/" << to_string(p.pattern) << "/" << to_string(p.wait) << "/"
      << to_string(p.backing);
}

std::vector<ModeParam> mode_params() {
  std::vector<ModeParam> out;
  for (const Mechanism* m : mechanisms()) {
    for (Pattern p : {Pattern::pingpong, Pattern::stream}) {
      for (WaitMode w : kWaitModes) {
        if (!m->supports(p) || !m->supports(w)) continue;
        if (m->uses_backing) {
          for (Backing b : kBackings) out.push_back({m, p, w, b});
        } else {
          out.push_back({m, p, w, Backing::posix_shm});
        }
      }
    }
  }
  return out;
}

std::string mode_param_name(const ::testing::TestParamInfo<ModeParam>& info) {
  const ModeParam& p = info.param;
  std::string name = std::string(p.mechanism->name) + "_" + std::string(to_string(p.pattern)) +
                     "_" + std::string(to_string(p.wait));
  if (p.mechanism->uses_backing) name += "_" + std::string(to_string(p.backing));
  return name;
}

// The kinds of object each mechanism must show the hooks or scans: proof that the
// inspection is not vacuous (a hook that stopped interposing fails here).
std::set<std::string> expected_kinds(const ModeParam& p) {
  const std::string_view m = p.mechanism->name;
  if (p.mechanism->uses_backing) {
    switch (p.backing) {
      case Backing::posix_shm:
        return {"shm"};
      case Backing::sysv_shm:
        return {"sysv shm"};
      case Backing::file:
        return {"dir", "file"};
      case Backing::memfd:
        return {"memfd"};
    }
  }
  if (m == "boost_mq") return {"shm"};
  if (m == "pipe") return {"pipe"};
  if (m == "fifo") return {"dir", "fifo"};
  if (m == "file") return {"dir", "file"};
  if (m == "posix_mq") return {"mqueue"};
  if (m == "sysv_msg") return {"sysv msg"};
  if (m == "rpc_unix") return {"dir", "socket"};
  if (m == "grpc_unix") return {"dir"};  // its socket file is bound later, by the server child
  if (m == "nng_ipc") return {"dir"};    // the socket file is bound later, by a child
  if (m == "zmq_ipc") return {"dir", "socket"};
  if (m == "dbus") return {"dir", "file", "socket"};  // bus.conf, daemon.log; the bus socket
  if (m == "dbus_p2p") return {"dir"};  // the server child binds the socket after create()
  if (m == "pty") return {"pty"};
  if (m == "unix_memfd") return {"memfd"};
  // Our stale record (shm), the config directory and files; RouDi's segments, socket
  // and lock files, seen as the destructor removes them after killing RouDi.
  if (m == "iceoryx") return {"shm", "dir", "file", "socket"};
  return {};  // socketpairs, TCP, UDP, anonymous mappings: nothing with a mode that matters
}

class OwnerOnly : public ::testing::TestWithParam<ModeParam> {};

TEST_P(OwnerOnly, EveryObjectCreateMakesIsOwnerOnlyWhateverTheUmask) {
  const ModeParam& p = GetParam();
  ScopedUmask permissive(0);
  ChannelConfig cfg{.pattern = p.pattern,
                    .msg_bytes = 64,
                    .capacity_msgs = 4,
                    .wait = p.wait,
                    .backing = p.backing};
  const auto fds_before = open_fds();
  const auto names_before = own_named_objects();
  const auto shm_before = own_sysv_segments();
  std::vector<Seen> seen;
  std::vector<int> msg_ids;
  {
    Recording rec;
    std::unique_ptr<Channel> channel;
    try {
      channel = p.mechanism->create(cfg);
    } catch (const NotRunnable& e) {
      // A mechanism whose messages are smaller (signal: 8 bytes) is checked at 8 B.
      try {
        cfg.msg_bytes = 8;
        channel = p.mechanism->create(cfg);
      } catch (const NotRunnable&) {
        GTEST_SKIP() << e.what();
      }
    }
    scan_after_create(fds_before, names_before, g_rec.msg_ids);
    channel.reset();  // the removal hooks see what the destructor still removes
    seen = g_rec.seen;
    msg_ids = g_rec.msg_ids;
  }
  EXPECT_EQ(mode_violations(seen), "") << "objects seen:\n" << describe(seen);
  std::set<std::string> kinds;
  for (const Seen& s : seen) kinds.insert(s.kind);
  for (const std::string& k : expected_kinds(p)) {
    EXPECT_TRUE(kinds.contains(k)) << "no " << k << " object was inspected; seen:\n"
                                   << describe(seen);
  }
  EXPECT_EQ(own_named_objects(), names_before) << "left named objects behind";
  EXPECT_EQ(own_sysv_segments(), shm_before) << "left SysV segments behind";
  for (int id : msg_ids)
    EXPECT_LT(sysv_perms("msg", id), 0) << "left SysV queue " << id << " behind";
}

INSTANTIATE_TEST_SUITE_P(Registry, OwnerOnly, ::testing::ValuesIn(mode_params()), mode_param_name);

// ===== 2. Planted names are refused and left untouched =====

const char* to_string(PlantKind k) {
  switch (k) {
    case PlantKind::fifo:
      return "fifo";
    case PlantKind::socket:
      return "socket";
    case PlantKind::file:
      return "file";
    case PlantKind::symlink:
      return "symlink";
    case PlantKind::mqueue:
      return "mqueue";
  }
  return "?";
}

const std::string kPlantedText = "planted by security_test: must stay exactly so\n";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A file this test owns, outside every name the harness uses: a symlink planted at a
// harness name points here, and the file must come out of the case unchanged.
class TargetFile {
 public:
  TargetFile() {
    char dir[] = "/tmp/ipcbench_sectest_target-XXXXXX";
    if (::mkdtemp(dir) == nullptr) std::abort();
    dir_ = dir;
    path_ = dir_ + "/target";
    std::ofstream(path_, std::ios::binary) << kPlantedText;
    ::chmod(path_.c_str(), 0644);
  }
  ~TargetFile() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  TargetFile(const TargetFile&) = delete;
  TargetFile& operator=(const TargetFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

// An object planted at `path` (for an mqueue, `path` is /dev/mqueue/<name>): it
// remembers what it planted and says whether it is still exactly that.
class Planter {
 public:
  Planter(std::string path, PlantKind kind, const std::string& target)
      : path_(std::move(path)), kind_(kind) {
    switch (kind) {
      case PlantKind::fifo:
        ok_ = ::mkfifo(path_.c_str(), 0644) == 0;
        break;
      case PlantKind::socket: {
        sock_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
        ok_ = sock_ && ::bind(sock_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
              ::listen(sock_.get(), 1) == 0;
        break;
      }
      case PlantKind::file: {
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        ok_ = fd >= 0 && ::write(fd, kPlantedText.data(), kPlantedText.size()) ==
                             static_cast<ssize_t>(kPlantedText.size());
        if (fd >= 0) ::close(fd);
        break;
      }
      case PlantKind::symlink:
        target_ = target;
        ok_ = ::symlink(target.c_str(), path_.c_str()) == 0 &&
              ::lstat(target.c_str(), &target_st_) == 0;
        break;
      case PlantKind::mqueue: {
        // A queue with one message in it: it must keep it.
        mq_attr attr{};
        attr.mq_maxmsg = 2;
        attr.mq_msgsize = 16;
        mq_.reset(::mq_open(mq_name().c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644, &attr));
        ok_ = mq_ && ::mq_send(mq_.get(), "planted", 7, 0) == 0;
        break;
      }
    }
    ok_ = ok_ && ::lstat(path_.c_str(), &st_) == 0;
  }
  ~Planter() {
    if (kind_ == PlantKind::mqueue) {
      ::mq_unlink(mq_name().c_str());
    } else {
      ::unlink(path_.c_str());
    }
  }
  Planter(const Planter&) = delete;
  Planter& operator=(const Planter&) = delete;

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }

  // "" when the planted object (and a symlink's target) is exactly as planted.
  std::string changes() const {
    struct stat now {};
    if (::lstat(path_.c_str(), &now) != 0) return path_ + " is gone (" + std::strerror(errno) + ")";
    std::string out;
    if (now.st_ino != st_.st_ino || now.st_dev != st_.st_dev) out += " replaced by another inode;";
    if (now.st_mode != st_.st_mode) out += " mode or type changed;";
    if (now.st_size != st_.st_size) out += " size changed;";
    if (kind_ == PlantKind::file && read_file(path_) != kPlantedText) out += " content changed;";
    if (kind_ == PlantKind::symlink) {
      char to[512] = {};
      if (::readlink(path_.c_str(), to, sizeof to - 1) < 0 || target_ != to)
        out += " link retargeted;";
      struct stat t {};
      if (::lstat(target_.c_str(), &t) != 0) {
        out += " target removed;";
      } else {
        if (t.st_ino != target_st_.st_ino || t.st_mode != target_st_.st_mode)
          out += " target replaced or chmod-ed;";
        if (read_file(target_) != kPlantedText) out += " target truncated or written;";
      }
    }
    if (kind_ == PlantKind::mqueue) {
      mq_attr attr{};
      if (::mq_getattr(mq_.get(), &attr) != 0 || attr.mq_curmsgs != 1 || attr.mq_msgsize != 16) {
        out += " queue drained or reshaped;";
      }
    }
    return out.empty() ? "" : path_ + ":" + out;
  }

 private:
  std::string mq_name() const { return path_.substr(std::strlen("/dev/mqueue")); }

  std::string path_;
  PlantKind kind_;
  bool ok_ = false;
  struct stat st_ {};
  UniqueFd sock_;
  UniqueFd mq_;  // an mqd_t is a descriptor on Linux
  std::string target_;
  struct stat target_st_ {};
};

std::unique_ptr<TargetFile> g_target;
std::unique_ptr<Planter> g_dir_planter;
std::string g_planted_dir;

}  // namespace

void plant_in_dir(const std::string& dir) {
  const DirPlant plant = *g_plant_in_next_dir;
  g_plant_in_next_dir.reset();
  g_planted_dir = dir;
  g_dir_planter = std::make_unique<Planter>(dir + "/" + plant.leaf, plant.kind, g_target->path());
}

namespace {

// Where the planted object goes: at the next unique_ipc_name() in /dev/shm or
// /dev/mqueue, or at a fixed name inside the next mkdtemp directory.
enum class Where { shm_name, mq_name, in_private_dir };

struct PlantParam {
  const char* mechanism;
  Pattern pattern;
  Backing backing;
  Where where;
  const char* leaf;  // in_private_dir: the fixed name inside the directory
  PlantKind kind;
};

void PrintTo(const PlantParam& p, std::ostream* os) {
  *os << p.mechanism << "/" << to_string(p.pattern) << "/" << to_string(p.kind)
      << (p.leaf ? "/" : "") << (p.leaf ? p.leaf : "");
}

std::vector<PlantParam> plant_params() {
  std::vector<PlantParam> out;
  const PlantKind fs_kinds[] = {PlantKind::fifo, PlantKind::socket, PlantKind::file,
                                PlantKind::symlink};
  for (PlantKind k : fs_kinds) {
    // shm_open names: the ring's region (shm_ring_zc and shm_locked share SharedRegion
    // or use no name); Boost's queue segments.
    out.push_back({"shm_ring", Pattern::stream, Backing::posix_shm, Where::shm_name, nullptr, k});
    out.push_back({"boost_mq", Pattern::stream, Backing::posix_shm, Where::shm_name, nullptr, k});
    out.push_back({"boost_mq", Pattern::pingpong, Backing::posix_shm, Where::shm_name, nullptr, k});
    // Fixed names inside the private mkdtemp directories. The directories themselves
    // cannot be planted: mkdtemp creates them with mkdir, which is O_EXCL by
    // construction, and picks a fresh random name (glibc's own randomness) on EEXIST.
    // Only root or the owner can write inside a 0700 directory; the test plants as
    // root would, or as a race inside the owner's own processes would.
    out.push_back({"fifo", Pattern::stream, Backing::posix_shm, Where::in_private_dir, "ab", k});
    out.push_back({"fifo", Pattern::pingpong, Backing::posix_shm, Where::in_private_dir, "ba", k});
    out.push_back(
        {"rpc_unix", Pattern::stream, Backing::posix_shm, Where::in_private_dir, "rpc.sock", k});
    out.push_back({"shm_ring", Pattern::stream, Backing::file, Where::in_private_dir, "region", k});
    out.push_back(
        {"nng_ipc", Pattern::stream, Backing::posix_shm, Where::in_private_dir, "nng.sock", k});
    out.push_back(
        {"grpc_unix", Pattern::stream, Backing::posix_shm, Where::in_private_dir, "grpc.sock", k});
  }
  // mq_open names: only queues can exist in the mqueue filesystem.
  for (Pattern p : {Pattern::stream, Pattern::pingpong}) {
    out.push_back({"posix_mq", p, Backing::posix_shm, Where::mq_name, nullptr, PlantKind::mqueue});
  }
  return out;
}

std::string plant_param_name(const ::testing::TestParamInfo<PlantParam>& info) {
  const PlantParam& p = info.param;
  std::string name = std::string(p.mechanism) + "_" + std::string(to_string(p.pattern)) + "_";
  if (p.backing == Backing::file) name += "file_";
  if (p.leaf != nullptr)
    name += std::string(p.leaf == std::string("rpc.sock")    ? "rpcsock"
                        : p.leaf == std::string("nng.sock")  ? "nngsock"
                        : p.leaf == std::string("grpc.sock") ? "grpcsock"
                                                             : p.leaf) +
            "_";
  return name + to_string(p.kind);
}

class Planted : public ::testing::TestWithParam<PlantParam> {};

TEST_P(Planted, NameIsRefusedAndThePlantedObjectLeftUntouched) {
  const PlantParam& p = GetParam();
  ScopedUmask permissive(0);
  const auto names_before = own_named_objects();
  std::unique_ptr<Planter> planter;
  // Whatever fails below, nothing of the test stays armed or on disk.
  struct Cleanup {
    std::unique_ptr<Planter>& planter;
    ~Cleanup() {
      g_forced_random.reset();
      g_plant_in_next_dir.reset();
      planter.reset();
      g_dir_planter.reset();
      if (!g_planted_dir.empty()) ::rmdir(g_planted_dir.c_str());
      g_planted_dir.clear();
      g_target.reset();
    }
  } cleanup{planter};
  g_target = std::make_unique<TargetFile>();

  // The name the case will pick: getrandom is forced to a value of this test's own.
  std::string name;
  if (p.where == Where::in_private_dir) {
    g_plant_in_next_dir = DirPlant{p.leaf, p.kind};
  } else {
    std::uint64_t r = 0;
    ASSERT_EQ(::getrandom(&r, sizeof r, 0), static_cast<ssize_t>(sizeof r));
    g_forced_random = r;
    name = unique_ipc_name();  // "/ipcbench-<pid>-<hex>", as every mechanism gets it
    planter = std::make_unique<Planter>(
        (p.where == Where::mq_name ? "/dev/mqueue" : "/dev/shm") + name, p.kind, g_target->path());
    ASSERT_TRUE(planter->ok()) << "planting " << planter->path() << ": " << std::strerror(errno);
  }

  PairSpec spec;
  spec.mechanism = find_mechanism(p.mechanism);
  ASSERT_NE(spec.mechanism, nullptr);
  spec.config = {.pattern = p.pattern,
                 .msg_bytes = 64,
                 .capacity_msgs = 4,
                 .wait = WaitMode::block,
                 .backing = p.backing};
  spec.fixed_msgs = 10;
  spec.timeout_seconds = 20;
  PairResult r;
  std::vector<std::string> removed;
  {
    Recording rec;
    r = run_pair(spec);
    removed = g_rec.removed;
  }
  g_forced_random.reset();
  g_plant_in_next_dir.reset();
  if (p.where == Where::in_private_dir) {
    planter = std::move(g_dir_planter);
    ASSERT_NE(planter, nullptr) << "no mkdtemp directory was made: the plant never happened";
    ASSERT_TRUE(planter->ok()) << "planting " << planter->path();
  }

  // Refused: the case fails (or is not runnable) and says which name already exists.
  EXPECT_TRUE(r.outcome == Outcome::failed || r.outcome == Outcome::not_runnable) << r.message;
  const std::string shown = p.where == Where::in_private_dir ? planter->path() : name.substr(1);
  EXPECT_NE(r.message.find(shown), std::string::npos)
      << "the message does not name " << shown << ": " << r.message;
  const bool says_exists = r.message.find("File exists") != std::string::npos ||
                           r.message.find("Address already in use") != std::string::npos;
  EXPECT_TRUE(says_exists) << r.message;
  // Not followed, not truncated, not unlinked.
  EXPECT_EQ(planter->changes(), "");
  for (const std::string& path : removed)
    EXPECT_NE(path, planter->path()) << "the harness tried to remove it";

  // The harness removed all of its own objects and nothing else: what remains is the
  // planted object and, for a plant inside a private directory, that directory (it is
  // not empty, so rmdir leaves it).
  std::set<std::string> expect_left = names_before;
  expect_left.insert(planter->path());
  if (p.where == Where::in_private_dir) expect_left.insert(g_planted_dir);
  EXPECT_EQ(own_named_objects(), expect_left);
}

INSTANTIATE_TEST_SUITE_P(Names, Planted, ::testing::ValuesIn(plant_params()), plant_param_name);

// ===== 3. Loopback only =====

struct NetParam {
  const char* name;
  Pattern pattern;
};

void PrintTo(const NetParam& p, std::ostream* os) { *os << p.name << "/" << to_string(p.pattern); }

class Loopback : public ::testing::TestWithParam<NetParam> {};

// tcp_netns and udp_netns bind to 169.254.77.0/30 inside two network namespaces of
// their own: allowed there only, and only for a socket that is not in this process's
// (the host's) namespace, so nothing is reachable from it.
bool in_private_netns_range(const std::string& addr) { return addr.starts_with("169.254.77."); }
// True when socket fd lives in a network namespace other than the caller's (SIOCGSKNS
// opens the socket's namespace).
bool in_other_netns(int fd) {
  const UniqueFd ns(::ioctl(fd, SIOCGSKNS));
  struct stat theirs {
  }, ours{};
  return ns && ::fstat(ns.get(), &theirs) == 0 && ::stat("/proc/self/ns/net", &ours) == 0 &&
         theirs.st_ino != ours.st_ino;
}

TEST_P(Loopback, EveryBindListenAndConnectIsLoopback) {
  const auto [name, pattern] = GetParam();
  const Mechanism* m = find_mechanism(name);
  ASSERT_NE(m, nullptr);
  const auto fds_before = open_fds();
  std::vector<InetUse> uses;
  std::unique_ptr<Channel> channel;
  std::unique_ptr<Endpoint> producer, consumer;
  const std::string n = name;
  const bool private_netns = n == "tcp_netns" || n == "udp_netns";
  try {
    Recording rec;
    channel = m->create(
        {.pattern = pattern, .msg_bytes = 64, .capacity_msgs = 4, .wait = WaitMode::block});
    // udp_mcast's consumers make their sockets in open() (each binds and joins the
    // group there): open both ends here, producer first, as the children would.
    if (std::string_view(name) == "udp_mcast") {
      producer = channel->open(Side::a);
      consumer = channel->open(Side::b);
    }
    uses = g_rec.inet;
  } catch (const NotRunnable& e) {
    GTEST_SKIP() << e.what();  // tcp_netns, udp_netns without CAP_NET_ADMIN
  }
  int sockets_elsewhere = 0;
  // The sockets the channel holds (the ones its children will use), by their own
  // local and peer addresses.
  for (int fd : open_fds()) {
    if (fds_before.contains(fd)) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      const auto* sa = reinterpret_cast<sockaddr*>(&ss);
      if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
        uses.push_back({"local", format_inet(sa), stays_on_host("local", sa, fd)});
        if (private_netns) {
          EXPECT_TRUE(in_other_netns(fd)) << format_inet(sa) << " is in this namespace";
          ++sockets_elsewhere;
        }
      }
    }
    len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      const auto* sa = reinterpret_cast<sockaddr*>(&ss);
      if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
        uses.push_back({"peer", format_inet(sa), stays_on_host("peer", sa, fd)});
    }
  }
  producer.reset();
  consumer.reset();
  channel.reset();
  std::map<std::string, int> count;
  std::string all;
  for (const InetUse& u : uses) {
    ++count[u.how];
    all += "  " + u.how + " " + u.addr + "\n";
    EXPECT_TRUE(u.loopback || (private_netns && in_private_netns_range(u.addr)))
        << u.how << " " << u.addr << " is not loopback";
  }
  // Not vacuous: what each mechanism must have shown.
  if (private_netns) {
    EXPECT_GE(sockets_elsewhere, 2) << all;
  }
  if (n == "zmq_tcp") {  // the listener only: the client connects from its child
    EXPECT_GE(count["bind"], 1) << all;
    EXPECT_GE(count["listen"], 1) << all;
    EXPECT_GE(count["local"], 1) << all;
  } else if (n == "tcp" || n == "rpc_tcp" || n == "tcp_netns") {
    EXPECT_GE(count["bind"], 1) << all;
    EXPECT_GE(count["listen"], 1) << all;
    EXPECT_GE(count["connect"], 1) << all;
    EXPECT_GE(count["local"], 2) << all;
  } else if (n == "udp" || n == "udp_netns") {
    EXPECT_GE(count["bind"], 2) << all;
    EXPECT_GE(count["local"], 2) << all;
  } else if (n == "udp_mcast") {
    // create(): the port's reservation, the producer and the capacity probe bind, the
    // producer and the probe connect, the probe joins; open(b): a consumer binds,
    // joins and connects. The sockets held: the producer's and the consumer's.
    EXPECT_GE(count["bind"], 4) << all;
    EXPECT_GE(count["connect"], 3) << all;
    EXPECT_GE(count["join"], 2) << all;
    EXPECT_GE(count["local"], 2) << all;
    EXPECT_GE(count["peer"], 2) << all;
  } else {
    EXPECT_TRUE(uses.empty()) << n << " uses no IP socket, yet:\n" << all;
  }
}

std::vector<NetParam> net_params() {
  std::vector<NetParam> out;
  for (const char* name : {"tcp", "udp", "udp_mcast", "tcp_netns", "udp_netns", "rpc_tcp",
                           "rpc_unix", "zmq_tcp", "zmq_ipc"}) {
    for (Pattern p : {Pattern::pingpong, Pattern::stream}) {
      const Mechanism* m = find_mechanism(name);
      if (m == nullptr || m->supports(p)) out.push_back({name, p});  // nullptr: the test says
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Network, Loopback, ::testing::ValuesIn(net_params()),
                         [](const auto& info) {
                           return std::string(info.param.name) + "_" +
                                  std::string(to_string(info.param.pattern));
                         });

}  // namespace
}  // namespace ipcbench::sectest
