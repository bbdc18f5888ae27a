#pragma once
// What a killed run leaves behind, and how the next run finds it.
//
// Every owner in harness/owners.hpp removes its object when it is destroyed, on
// success, error and Ctrl-C alike. Only a SIGKILLed orchestrator skips that (its
// children die with it, PR_SET_PDEATHSIG, and never remove anything). So every object
// that outlives a create() call carries its creator's pid in its name:
//   /dev/shm/ipcbench-<pid>-<random>      POSIX shm, Boost queues, SysV key records
//   /dev/mqueue/ipcbench-<pid>-<random>   POSIX message queues
//   /tmp/ipcbench-<pid>-<random>/         private directories (FIFOs, sockets, files)
// SysV objects have no name, only a key: each is created under a random key that is
// first written to a record in /dev/shm named like the rest, so a record outliving its
// pid points at the object to remove. A library that insists on fixed, machine-global
// names (iceoryx 2.0's RouDi: /dev/shm/iceoryx_mgmt, /tmp/roudi, ...) gets the same: a
// record (RecordedGlobalNames) listing them, written before they exist.
//
// sweep_stale() removes the objects whose pid is gone, and only ours (same owner uid,
// a regular file / directory / SysV object of mode 0600 as this code makes them). A
// live pid's objects are never touched, unless that process started after the object
// last changed: then the pid was reused and the object's creator is gone.
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "harness/owners.hpp"

namespace ipcbench {

// A SysV object (message queue or shm segment) and the record of its key. Destroying
// it removes the object first, then the record.
class RecordedSysvObject {
 public:
  enum class Kind { msg, shm };
  RecordedSysvObject() = default;
  RecordedSysvObject(RecordedSysvObject&& o) noexcept;
  RecordedSysvObject& operator=(RecordedSysvObject&& o) noexcept;
  RecordedSysvObject(const RecordedSysvObject&) = delete;
  RecordedSysvObject& operator=(const RecordedSysvObject&) = delete;
  ~RecordedSysvObject() { remove(); }

  // Draws a random key, records it, then calls get(key) (msgget or shmget with
  // IPC_CREAT | IPC_EXCL | 0600), drawing again while a key is taken. get returns the
  // id or -1 with errno set; any other failure is thrown by the caller's `on_error`,
  // called with errno intact and the record already gone.
  static RecordedSysvObject create(Kind kind, const std::function<int(key_t)>& get,
                                   const std::function<void(int err)>& on_error);
  int id() const noexcept { return id_; }
  // Removes the object (IPC_RMID) and its record now; idempotent.
  void remove() noexcept;
  // For a shm segment marked for removal at once (it lives while attached): forgets
  // the object and removes the record, so nothing is left to sweep.
  void object_removed() noexcept;

 private:
  Kind kind_ = Kind::msg;
  int id_ = -1;
  OwnedName record_;
};

// Names a library makes outside ipcbench's naming, recorded in
// /dev/shm/ipcbench-<pid>-<random>.names before they exist, so that a killed run's are
// swept too. `lock` is a file the library's live daemon holds with flock(): `shared`
// names (fixed ones any instance of the library would use) are removed only while
// nobody holds it, since a live daemon has made them its own; `own` names (unique to
// this run) always. Only names under /dev/shm/ and /tmp/ (no subdirectory), owned by
// this user and not directories, are ever removed. Destroying it removes the names and
// then the record.
class RecordedGlobalNames {
 public:
  RecordedGlobalNames() = default;
  // Writes the record (0600, O_EXCL). Throws SysError.
  RecordedGlobalNames(std::string lock, std::vector<std::string> shared,
                      std::vector<std::string> own);
  RecordedGlobalNames(RecordedGlobalNames&& o) noexcept { *this = std::move(o); }
  RecordedGlobalNames& operator=(RecordedGlobalNames&& o) noexcept;
  RecordedGlobalNames(const RecordedGlobalNames&) = delete;
  RecordedGlobalNames& operator=(const RecordedGlobalNames&) = delete;
  ~RecordedGlobalNames() { remove(); }
  // Removes the names (as above) and the record now; idempotent.
  void remove() noexcept;

 private:
  std::string lock_;
  std::vector<std::string> shared_, own_;
  OwnedName record_;
  bool armed_ = false;  // false: moved from, or removed
};

struct SweepResult {
  std::vector<std::string> removed;  // what was removed, one description each
  std::vector<std::string> errors;   // what could not be removed, and why
};

// Removes what dead ipcbench runs of this user left behind (see above). Never throws.
SweepResult sweep_stale();

// The pid in "ipcbench-<pid>-<rest>", or -1 when the name is not one of ours.
pid_t owner_pid_of(const std::string& name) noexcept;

}  // namespace ipcbench
