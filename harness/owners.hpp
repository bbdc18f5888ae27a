#pragma once
// Move-only owners of kernel objects: a descriptor, a mapping, a name to unlink.
// Destructors never throw; an owner that was moved from owns nothing.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <string>
#include <utility>

namespace ipcbench {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A shared mapping, unmapped on destruction.
class Mapping {
 public:
  Mapping() = default;
  Mapping(void* addr, std::size_t bytes) noexcept : addr_(addr), bytes_(bytes) {}
  Mapping(Mapping&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      reset();
      addr_ = std::exchange(o.addr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }

  void* get() const noexcept { return addr_; }
  std::size_t size() const noexcept { return bytes_; }
  void reset() noexcept {
    if (addr_ != nullptr) ::munmap(addr_, bytes_);
    addr_ = nullptr;
    bytes_ = 0;
  }

 private:
  void* addr_ = nullptr;
  std::size_t bytes_ = 0;
};

// Maps `bytes` of shared memory: anonymous when fd < 0 (inherited across fork, no
// name to leak), otherwise the object behind fd. `populate` pre-faults the page tables
// so first touches are not paid on a measured path. Throws SysError.
Mapping map_shared(std::size_t bytes, int fd = -1, bool populate = false);

// A filesystem-like name (shm, mqueue, path) that its creator removes. `remove` is the
// unlink call for that namespace (shm_unlink, mq_unlink, unlink).
class OwnedName {
 public:
  using Remover = int (*)(const char*);
  OwnedName() = default;
  OwnedName(std::string name, Remover remove) : name_(std::move(name)), remove_(remove) {}
  OwnedName(OwnedName&& o) noexcept
      : name_(std::move(o.name_)), remove_(std::exchange(o.remove_, nullptr)) {}
  OwnedName& operator=(OwnedName&& o) noexcept {
    if (this != &o) {
      remove_now();
      name_ = std::move(o.name_);
      remove_ = std::exchange(o.remove_, nullptr);
    }
    return *this;
  }
  OwnedName(const OwnedName&) = delete;
  OwnedName& operator=(const OwnedName&) = delete;
  ~OwnedName() { remove_now(); }

  const std::string& str() const noexcept { return name_; }
  // Removes the name now (idempotent): the object lives on while descriptors or
  // mappings refer to it, but nothing is left to leak.
  void remove_now() noexcept {
    if (remove_ != nullptr) remove_(name_.c_str());
    remove_ = nullptr;
  }
  // Leaves the name in place: no longer ours to remove.
  void release() noexcept { remove_ = nullptr; }

 private:
  std::string name_;
  Remover remove_ = nullptr;
};

// "/ipcbench-<pid>-<16 random hex>": the owner's pid lets a later run recognise the
// objects of a dead run; the random part makes names unpredictable.
std::string unique_ipc_name();

}  // namespace ipcbench
