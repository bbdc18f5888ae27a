#include "harness/stale.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

#include "harness/error.hpp"

namespace ipcbench {
namespace {

constexpr const char* kRecordSuffix = ".sysv";
constexpr const char* kNamesSuffix = ".names";

const char* kind_name(RecordedSysvObject::Kind k) {
  return k == RecordedSysvObject::Kind::msg ? "msg" : "shm";
}

int remove_sysv(RecordedSysvObject::Kind kind, int id) {
  return kind == RecordedSysvObject::Kind::msg ? ::msgctl(id, IPC_RMID, nullptr)
                                               : ::shmctl(id, IPC_RMID, nullptr);
}

key_t random_key() {
  key_t key = IPC_PRIVATE;
  while (key == IPC_PRIVATE) {
    if (::getrandom(&key, sizeof key, 0) != sizeof key) throw SysError("getrandom", "");
  }
  return key;
}

// When a process started, in seconds since the epoch (/proc/<pid>/stat's starttime is
// in clock ticks since boot; /proc/stat's btime is boot in whole seconds).
std::optional<double> process_start_s(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  const std::size_t close = line.rfind(')');  // the command may hold spaces and ')'
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  unsigned long long ticks = 0;
  for (int i = 3; i <= 22 && fields >> field; ++i) {  // field 3 is the state
    if (i == 22) ticks = std::strtoull(field.c_str(), nullptr, 10);
  }
  std::ifstream proc_stat("/proc/stat");
  unsigned long long boot_s = 0;
  while (std::getline(proc_stat, line)) {
    if (line.starts_with("btime ")) boot_s = std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  if (ticks == 0 || boot_s == 0) return std::nullopt;
  return static_cast<double>(boot_s) +
         static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// True when no live process can have made an object whose status last changed at
// `changed_s`: the pid is free, or its process started after the change (the pid was
// reused). The 2 s margin covers btime's whole seconds; a process that started within
// it is taken as the owner, so a live run's objects are never removed.
bool owner_gone(pid_t pid, double changed_s) {
  if (::kill(pid, 0) < 0 && errno == ESRCH) return true;
  const std::optional<double> start_s = process_start_s(pid);
  return start_s && *start_s > changed_s + 2;
}

double ctime_s(const struct stat& st) {
  return static_cast<double>(st.st_ctim.tv_sec) + static_cast<double>(st.st_ctim.tv_nsec) * 1e-9;
}

// Removes the SysV object a record names, if it is still there and is ours.
void sweep_record(const std::string& path, SweepResult& out) {
  std::ifstream in(path);
  std::string kind;
  long long key = 0;
  if (!(in >> kind >> key) || (kind != "msg" && kind != "shm") || key == IPC_PRIVATE) {
    out.errors.push_back(path + ": not a SysV key record (left alone)");
    return;
  }
  const auto k = static_cast<key_t>(key);
  char what[96];
  if (kind == "msg") {
    const int id = ::msgget(k, 0);
    msqid_ds ds{};
    if (id >= 0 && ::msgctl(id, IPC_STAT, &ds) == 0 && ds.msg_perm.cuid == ::geteuid() &&
        (ds.msg_perm.mode & 0777) == 0600) {
      std::snprintf(what, sizeof what, "SysV message queue %d (key 0x%08x)", id,
                    static_cast<unsigned>(k));
      if (::msgctl(id, IPC_RMID, nullptr) == 0)
        out.removed.emplace_back(what);
      else
        out.errors.push_back(std::string(what) + ": " + std::strerror(errno));
    }
  } else {
    const int id = ::shmget(k, 0, 0);
    shmid_ds ds{};
    if (id >= 0 && ::shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_perm.cuid == ::geteuid() &&
        (ds.shm_perm.mode & 0777) == 0600) {
      std::snprintf(what, sizeof what, "SysV shm segment %d (key 0x%08x)", id,
                    static_cast<unsigned>(k));
      if (::shmctl(id, IPC_RMID, nullptr) == 0)
        out.removed.emplace_back(what);
      else
        out.errors.push_back(std::string(what) + ": " + std::strerror(errno));
    }
  }
}

// Empties and removes a private directory, never following a link: the directory is
// opened O_NOFOLLOW and checked to be the one inspected, and its entries (FIFOs,
// sockets, a region file; never directories) are unlinked relative to it.
bool remove_private_dir(const std::string& path, const struct stat& seen, std::string& why) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    why = std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) < 0 || st.st_ino != seen.st_ino || st.st_dev != seen.st_dev) {
    ::close(fd);
    why = "changed while inspected";
    return false;
  }
  DIR* dir = ::fdopendir(fd);  // owns fd from here
  if (dir == nullptr) {
    ::close(fd);
    why = std::strerror(errno);
    return false;
  }
  while (dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    ::unlinkat(::dirfd(dir), e->d_name,
               0);  // a directory inside fails (EISDIR): left, reported below
  }
  ::closedir(dir);
  if (::rmdir(path.c_str()) < 0) {
    why = std::strerror(errno);
    return false;
  }
  return true;
}

// True when nobody holds `lock` with flock() (or it does not exist): no live daemon
// owns the shared names. Our probe's own lock goes with the descriptor.
bool lock_free(const std::string& lock) {
  const int fd = ::open(lock.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

// A recorded name ipcbench may remove: directly under /dev/shm/ or /tmp/.
bool removable_path(const std::string& path) {
  for (const std::string_view dir : {"/dev/shm/", "/tmp/"}) {
    if (!path.starts_with(dir)) continue;
    const std::string_view leaf = std::string_view(path).substr(dir.size());
    return !leaf.empty() && leaf.find('/') == std::string_view::npos && leaf != "." && leaf != "..";
  }
  return false;
}

// Removes one recorded name if it is this user's and not a directory; returns whether
// it removed it.
bool remove_recorded(const std::string& path) {
  struct stat st {};
  if (!removable_path(path) || ::lstat(path.c_str(), &st) < 0 || st.st_uid != ::geteuid() ||
      S_ISDIR(st.st_mode))
    return false;
  if (path.starts_with("/dev/shm/")) return ::shm_unlink(path.c_str() + 8) == 0;
  return ::unlink(path.c_str()) == 0;
}

void remove_recorded_names(const std::string& lock, const std::vector<std::string>& shared,
                           const std::vector<std::string>& own, std::vector<std::string>* removed) {
  std::vector<std::string> all = own;
  if (lock_free(lock)) all.insert(all.end(), shared.begin(), shared.end());
  for (const std::string& path : all) {
    if (remove_recorded(path) && removed != nullptr) removed->push_back(path);
  }
}

// Removes the names a RecordedGlobalNames record of a dead run lists.
void sweep_names_record(const std::string& path, SweepResult& out) {
  std::ifstream in(path);
  std::string kind, name, lock;
  std::vector<std::string> shared, own;
  while (in >> kind >> name) {
    if (kind == "lock") lock = name;
    if (kind == "shared") shared.push_back(name);
    if (kind == "own") own.push_back(name);
  }
  if (lock.empty() && !shared.empty()) {
    out.errors.push_back(path + ": shared names but no lock (left alone)");
    shared.clear();
  }
  remove_recorded_names(lock, shared, own, &out.removed);
}

enum class Namespace { shm, mqueue, tmp };

void sweep_dir(const char* dir, Namespace ns, SweepResult& out) {
  DIR* d = ::opendir(dir);
  if (d == nullptr) return;  // e.g. /dev/mqueue not mounted: nothing visible to sweep
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  for (const std::string& name : names) {
    const pid_t pid = owner_pid_of(name);
    if (pid <= 0 || pid == ::getpid()) continue;
    const std::string path = std::string(dir) + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0 || st.st_uid != ::geteuid()) continue;
    const bool expected_type = ns == Namespace::tmp ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
    if (!expected_type || !owner_gone(pid, ctime_s(st))) continue;
    if (ns == Namespace::tmp) {
      std::string why;
      if (remove_private_dir(path, st, why))
        out.removed.push_back(path + "/ (private directory)");
      else
        out.errors.push_back(path + ": " + why);
      continue;
    }
    if (ns == Namespace::shm && name.ends_with(kRecordSuffix)) sweep_record(path, out);
    if (ns == Namespace::shm && name.ends_with(kNamesSuffix)) sweep_names_record(path, out);
    const int rc = ns == Namespace::shm ? ::shm_unlink(("/" + name).c_str())
                                        : ::mq_unlink(("/" + name).c_str());
    if (rc == 0)
      out.removed.push_back(path);
    else if (errno != ENOENT)
      out.errors.push_back(path + ": " + std::strerror(errno));
  }
}

}  // namespace

pid_t owner_pid_of(const std::string& name) noexcept {
  constexpr std::string_view prefix = "ipcbench-";
  if (!name.starts_with(prefix)) return -1;
  long long pid = 0;
  std::size_t i = prefix.size();
  for (; i < name.size() && i < prefix.size() + 10 && name[i] >= '0' && name[i] <= '9'; ++i) {
    pid = pid * 10 + (name[i] - '0');
  }
  if (i == prefix.size() || i + 1 >= name.size() || name[i] != '-' || pid <= 0 || pid > 0x3fffffff)
    return -1;
  return static_cast<pid_t>(pid);
}

RecordedSysvObject::RecordedSysvObject(RecordedSysvObject&& o) noexcept
    : kind_(o.kind_), id_(std::exchange(o.id_, -1)), record_(std::move(o.record_)) {}

RecordedSysvObject& RecordedSysvObject::operator=(RecordedSysvObject&& o) noexcept {
  if (this != &o) {
    remove();
    kind_ = o.kind_;
    id_ = std::exchange(o.id_, -1);
    record_ = std::move(o.record_);
  }
  return *this;
}

RecordedSysvObject RecordedSysvObject::create(Kind kind, const std::function<int(key_t)>& get,
                                              const std::function<void(int err)>& on_error) {
  // A random 32-bit key is taken by another object about never; a few draws make a
  // clash, or a key planted in advance, only cost a retry.
  for (int attempt = 0; attempt < 16; ++attempt) {
    const key_t key = random_key();
    OwnedName record(unique_ipc_name() + kRecordSuffix, ::shm_unlink);
    {
      UniqueFd fd(::shm_open(record.str().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!fd) {
        const int err = errno;
        const std::string name = record.str();
        record = OwnedName();  // not ours (EEXIST) or never made: never unlink it
        throw SysError("shm_open", "/dev/shm" + name, err);
      }
      char text[32];
      const int n =
          std::snprintf(text, sizeof text, "%s %d\n", kind_name(kind), static_cast<int>(key));
      if (::write(fd.get(), text, static_cast<std::size_t>(n)) != n)
        throw SysError("write", "/dev/shm" + record.str());
    }
    const int id = get(key);
    if (id >= 0) {
      RecordedSysvObject o;
      o.kind_ = kind;
      o.id_ = id;
      o.record_ = std::move(record);
      return o;
    }
    if (errno == EEXIST) continue;  // ~OwnedName removes this record
    const int err = errno;
    record.remove_now();
    on_error(err);
    throw SysError(kind == Kind::msg ? "msgget" : "shmget", "", err);
  }
  throw std::runtime_error(std::string("SysV ") + kind_name(kind) +
                           ": 16 random keys in a row were taken");
}

void RecordedSysvObject::remove() noexcept {
  // A removal that failed for any reason but "already gone" keeps the record: the
  // next run's sweep retries it, and the leak checks of the tests see it.
  const bool gone = id_ < 0 || remove_sysv(kind_, id_) == 0 || errno == EINVAL || errno == EIDRM;
  id_ = -1;
  if (gone)
    record_.remove_now();
  else
    record_.release();
}

void RecordedSysvObject::object_removed() noexcept {
  id_ = -1;
  record_.remove_now();
}

RecordedGlobalNames::RecordedGlobalNames(std::string lock, std::vector<std::string> shared,
                                         std::vector<std::string> own)
    : lock_(std::move(lock)), shared_(std::move(shared)), own_(std::move(own)) {
  std::string text = "lock " + lock_ + "\n";
  for (const std::string& s : shared_) text += "shared " + s + "\n";
  for (const std::string& s : own_) text += "own " + s + "\n";
  const std::string name = unique_ipc_name() + kNamesSuffix;
  UniqueFd fd(::shm_open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) throw SysError("shm_open", "/dev/shm" + name);
  record_ = OwnedName(name, ::shm_unlink);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw SysError("write", "/dev/shm" + name);
  armed_ = true;
}

RecordedGlobalNames& RecordedGlobalNames::operator=(RecordedGlobalNames&& o) noexcept {
  if (this != &o) {
    remove();
    lock_ = std::move(o.lock_);
    shared_ = std::move(o.shared_);
    own_ = std::move(o.own_);
    record_ = std::move(o.record_);
    armed_ = std::exchange(o.armed_, false);
  }
  return *this;
}

void RecordedGlobalNames::remove() noexcept {
  if (!armed_) return;
  armed_ = false;
  try {
    remove_recorded_names(lock_, shared_, own_, nullptr);
  } catch (...) {  // allocation only: the record stays for the next run's sweep
    record_.release();
    return;
  }
  record_.remove_now();
}

SweepResult sweep_stale() {
  SweepResult out;
  try {
    sweep_dir("/dev/shm", Namespace::shm, out);
    sweep_dir("/dev/mqueue", Namespace::mqueue, out);
    sweep_dir("/tmp", Namespace::tmp, out);
  } catch (const std::exception& e) {
    out.errors.emplace_back(e.what());
  }
  return out;
}

}  // namespace ipcbench
