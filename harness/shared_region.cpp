#include "harness/shared_region.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "harness/error.hpp"
#include "harness/stale.hpp"
#include "harness/sysctl.hpp"

namespace ipcbench {
namespace {

constexpr const char* kShmDir = "/dev/shm";
constexpr const char* kTmpDir = "/tmp";

// Allocates the whole object now: a full filesystem fails here, cleanly, instead of
// with SIGBUS in a child on its first touch of a missing page.
void allocate(int fd, std::size_t bytes, const std::string& where) {
  if (const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes)); err != 0) {
    if (err == ENOSPC) {
      throw NotRunnable("a shared region of " + std::to_string(bytes) + " B does not fit in " +
                        where + " (ENOSPC: full; free space there or choose another --backing)");
    }
    throw SysError("posix_fallocate", where, err);
  }
}

UniqueFd create_posix_shm(std::size_t bytes) {
  const std::string path = unique_ipc_name();
  UniqueFd fd(::shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) throw SysError("shm_open", path);  // on EEXIST the object is someone else's: left alone
  OwnedName name(path, ::shm_unlink);
  allocate(fd.get(), bytes, std::string(kShmDir) + name.str());
  return fd;  // ~OwnedName unlinks the name: the descriptor keeps the object
}

UniqueFd create_file(std::size_t bytes) {
  char dir[64];
  std::snprintf(dir, sizeof dir, "%s/ipcbench-%d-XXXXXX", kTmpDir, static_cast<int>(::getpid()));
  if (::mkdtemp(dir) == nullptr) throw SysError("mkdtemp", dir);  // mode 0700
  // Declared in this order so the file goes first, then its directory.
  OwnedName dir_name(dir, ::rmdir);
  const std::string path = dir_name.str() + "/region";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) throw SysError("open", path);  // on EEXIST the file is not ours: left alone
  OwnedName file(path, ::unlink);
  allocate(fd.get(), bytes, file.str());
  return fd;
}

UniqueFd create_memfd(std::size_t bytes) {
  UniqueFd fd(::memfd_create("ipcbench-region", MFD_CLOEXEC));
  if (!fd) throw SysError("memfd_create", "ipcbench-region");
  // A memfd starts 0777. Only a process that may ptrace ours can open it (through
  // /proc/<pid>/fd), but owner-only is the promise for every object, so it holds here too.
  if (::fchmod(fd.get(), 0600) < 0) throw SysError("fchmod 0600", "memfd ipcbench-region");
  allocate(fd.get(), bytes, "memfd");
  return fd;
}

void* create_sysv(std::size_t bytes) {
  const unsigned long long shmmax = read_sysctl("/proc/sys/kernel/shmmax", UINT64_MAX);
  if (bytes > shmmax) {
    throw NotRunnable("a SysV segment of " + std::to_string(bytes) +
                      " B exceeds /proc/sys/kernel/shmmax = " + std::to_string(shmmax) +
                      "; raise it with sysctl -w kernel.shmmax=" + std::to_string(bytes));
  }
  const auto page_bytes = static_cast<unsigned long long>(::sysconf(_SC_PAGESIZE));
  const unsigned long long pages = (bytes + page_bytes - 1) / page_bytes;
  const unsigned long long shmall = read_sysctl("/proc/sys/kernel/shmall", UINT64_MAX);
  if (pages > shmall) {
    throw NotRunnable("a SysV segment of " + std::to_string(pages) +
                      " pages exceeds /proc/sys/kernel/shmall = " + std::to_string(shmall) +
                      " pages; raise it with sysctl -w kernel.shmall=" + std::to_string(pages));
  }
  // Under a recorded random key, so a run killed between shmget and IPC_RMID below
  // leaves a record the next run acts on (harness/stale.hpp).
  RecordedSysvObject segment = RecordedSysvObject::create(
      RecordedSysvObject::Kind::shm,
      [&](key_t key) { return ::shmget(key, bytes, IPC_CREAT | IPC_EXCL | 0600); },
      [&](int err) {
        if (err == ENOSPC) {
          throw NotRunnable(
              "shmget: the SysV segments on this machine already reach /proc/sys/kernel/shmall = " +
              std::to_string(shmall) + " pages or /proc/sys/kernel/shmmni = " +
              std::to_string(read_sysctl("/proc/sys/kernel/shmmni")) +
              " segments (see ipcs -m); raise one with sysctl -w");
        }
        errno = err;
        throw SysError("shmget", std::to_string(bytes) + " bytes");
      });
  const int id = segment.id();
  void* addr = ::shmat(id, nullptr, 0);
  const int attach_err = errno;
  // Marked for removal right after attaching: the segment now lives exactly as long
  // as an attachment does, and fork passes attachments to the children.
  if (::shmctl(id, IPC_RMID, nullptr) < 0) {
    const int err = errno;
    if (addr != reinterpret_cast<void*>(-1)) ::shmdt(addr);
    throw SysError("shmctl IPC_RMID", "segment " + std::to_string(id), err);
  }
  segment.object_removed();
  if (addr == reinterpret_cast<void*>(-1))
    throw SysError("shmat", "segment " + std::to_string(id), attach_err);
  return addr;
}

}  // namespace

std::string filesystem_of(const char* dir) {
  struct statfs fs {};
  if (::statfs(dir, &fs) < 0) return "filesystem unknown";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case TMPFS_MAGIC:
      return "tmpfs, memory";
    case EXT4_SUPER_MAGIC:
      return "ext2/ext3/ext4, disk-backed";
    case XFS_SUPER_MAGIC:
      return "xfs, disk-backed";
    case BTRFS_SUPER_MAGIC:
      return "btrfs, disk-backed";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlayfs";
    default: {
      char hex[48];
      std::snprintf(hex, sizeof hex, "filesystem magic 0x%lx",
                    static_cast<unsigned long>(fs.f_type));
      return hex;
    }
  }
}

std::string_view to_string(Backing b) noexcept {
  switch (b) {
    case Backing::posix_shm:
      return "posix_shm";
    case Backing::sysv_shm:
      return "sysv_shm";
    case Backing::file:
      return "file";
    case Backing::memfd:
      return "memfd";
  }
  return "?";
}

std::optional<Backing> parse_backing(std::string_view name) noexcept {
  for (Backing b : kBackings) {
    if (to_string(b) == name) return b;
  }
  return std::nullopt;
}

std::string describe_backing(Backing b) {
  switch (b) {
    case Backing::posix_shm:
      return std::string("POSIX shm in ") + kShmDir + " (" + filesystem_of(kShmDir) + ")";
    case Backing::sysv_shm:
      return "SysV segment (kernel-internal shmem, memory)";
    case Backing::file:
      return std::string("file in ") + kTmpDir + " (" + filesystem_of(kTmpDir) + ")";
    case Backing::memfd:
      return "memfd (kernel-internal shmem, memory)";
  }
  return "?";
}

SharedRegion::SharedRegion(Backing backing, std::size_t bytes,
                           const std::function<void(std::byte*)>& format)
    : backing_(backing), bytes_(bytes) {
  switch (backing) {
    case Backing::posix_shm:
      fd_ = create_posix_shm(bytes);
      break;
    case Backing::file:
      fd_ = create_file(bytes);
      break;
    case Backing::memfd:
      fd_ = create_memfd(bytes);
      break;
    case Backing::sysv_shm:
      sysv_ = Attachment(create_sysv(bytes));
      break;
  }
  if (backing == Backing::sysv_shm) {
    format(static_cast<std::byte*>(sysv_.get()));
  } else {
    // Unmapped again before fork: the children map the descriptor themselves.
    const Mapping init = map_shared(bytes, fd_.get());
    format(static_cast<std::byte*>(init.get()));
  }
}

std::byte* SharedRegion::attach() {
  void* addr = sysv_.get();
  if (backing_ != Backing::sysv_shm) {
    map_ = map_shared(bytes_, fd_.get());
    fd_.reset();
    addr = map_.get();
  }
  // Fork copies no page tables of shared mappings, and MAP_POPULATE would fault a
  // file's pages read-only (their first write faults again): fault every page in
  // writable now, so no first touch is paid on a measured path. Kernels before 5.14
  // lack the advice (EINVAL); the warm-up then pays the faults instead.
  if (::madvise(addr, bytes_, MADV_POPULATE_WRITE) < 0 && errno != EINVAL) {
    throw SysError("madvise", "MADV_POPULATE_WRITE " + std::to_string(bytes_) + " bytes");
  }
  return static_cast<std::byte*>(addr);
}

void SharedRegion::release() noexcept {
  fd_.reset();
  sysv_.reset();
}

}  // namespace ipcbench
