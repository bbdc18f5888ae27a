#pragma once
// A region of shared memory that the orchestrator creates before fork and both
// children use after it, on one of four backings (ChannelConfig::backing). Whatever
// the backing, no name is left once the constructor returns: the region lives exactly
// as long as some process maps it (or holds its descriptor), so a crash at any later
// point leaves nothing behind.
//
//   posix_shm  shm_open(O_EXCL, 0600) in /dev/shm, sized with posix_fallocate,
//              unlinked at once; children map the inherited descriptor.
//   sysv_shm   shmget(IPC_PRIVATE, 0600), attached by the orchestrator and marked
//              IPC_RMID right after: the segment lives while attached, and fork
//              passes the attachment to both children.
//   file       a file (O_EXCL, 0600) in a private 0700 directory
//              /tmp/ipcbench-<pid>-XXXXXX, sized with posix_fallocate; file and
//              directory are removed at once; children map the inherited descriptor.
//   memfd      memfd_create: anonymous from the start, no name at all.
//
// posix_shm, sysv_shm and memfd are all shmem (tmpfs) pages in memory. `file` is
// whatever /tmp is: on the machine this was written on, statfs says ext4
// (EXT4_SUPER_MAGIC) on a virtual disk, so its pages are page cache that writeback
// may write out and write-protect again. Each run records which it was
// (describe_backing() in the context's shm_backing_detail).
//
// A full filesystem (fallocate's ENOSPC) or a SysV limit (kernel.shmmax, shmall,
// shmmni) is NotRunnable naming it, never a SIGBUS in a child later. Each child
// pre-faults its page tables writable in attach(), before any clock starts.
#include <sys/shm.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "harness/channel.hpp"
#include "harness/owners.hpp"

namespace ipcbench {

inline constexpr Backing kBackings[] = {Backing::posix_shm, Backing::sysv_shm, Backing::file,
                                        Backing::memfd};

// "sysv_shm" -> Backing::sysv_shm; nullopt for any other text.
std::optional<Backing> parse_backing(std::string_view name) noexcept;

// Where a backing's pages live on this machine, for a result's context, e.g.
// "file in /tmp (ext2/ext3/ext4, disk-backed)".
std::string describe_backing(Backing b);

// The filesystem `dir` is on and where its pages live, e.g. "tmpfs, memory" or
// "ext2/ext3/ext4, disk-backed" (statfs).
std::string filesystem_of(const char* dir);

class SharedRegion {
 public:
  // Orchestrator only, before fork: creates `bytes` of zero-filled shared memory on
  // `backing` and calls format(start) to write its initial contents. Throws
  // NotRunnable (a full filesystem, a SysV limit) or SysError.
  SharedRegion(Backing backing, std::size_t bytes, const std::function<void(std::byte*)>& format);

  // Child only, once after fork: this process's view of the region, page tables
  // populated. Drops the inherited descriptor. Throws SysError.
  std::byte* attach();
  // Orchestrator only, after both forks: drops the parent's descriptor or attachment,
  // so the children hold the only references.
  void release() noexcept;

  std::size_t size() const noexcept { return bytes_; }
  Backing backing() const noexcept { return backing_; }

 private:
  // A System V shared-memory attachment, detached (shmdt) on destruction.
  class Attachment {
   public:
    Attachment() = default;
    explicit Attachment(void* addr) noexcept : addr_(addr) {}
    Attachment(Attachment&& o) noexcept : addr_(std::exchange(o.addr_, nullptr)) {}
    Attachment& operator=(Attachment&& o) noexcept {
      if (this != &o) {
        reset();
        addr_ = std::exchange(o.addr_, nullptr);
      }
      return *this;
    }
    ~Attachment() { reset(); }
    void* get() const noexcept { return addr_; }
    void reset() noexcept {
      if (addr_ != nullptr) ::shmdt(addr_);
      addr_ = nullptr;
    }

   private:
    void* addr_ = nullptr;
  };

  Backing backing_;
  std::size_t bytes_;
  UniqueFd fd_;      // posix_shm, file, memfd: until this process has mapped it
  Mapping map_;      // posix_shm, file, memfd: a child's mapping
  Attachment sysv_;  // sysv_shm: this process's attachment
};

}  // namespace ipcbench
