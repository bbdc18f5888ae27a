#pragma once
// What a test's cases may leave behind, to compare before and after.
#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace ipcbench {

// Named objects this test process created: every ipcbench name carries its creator's
// pid ("/ipcbench-<pid>-<random>"), so objects of other runs on the machine (another
// test binary, a benchmark) never make this check fail.
inline std::set<std::string> own_named_objects() {
  const std::string prefix = "ipcbench-" + std::to_string(::getpid()) + "-";
  std::set<std::string> names;
  for (const char* dir : {"/dev/shm", "/dev/mqueue", "/tmp"}) {
    if (DIR* d = ::opendir(dir)) {
      while (dirent* e = ::readdir(d)) {
        if (std::string(e->d_name).starts_with(prefix)) names.insert(std::string(dir) + "/" + e->d_name);
      }
      ::closedir(d);
    }
  }
  return names;
}

// SysV objects: every message queue id and the shm segments this process created (cpid
// column). Message queues carry no creator pid, so this check assumes no other process
// creates queues meanwhile: true in CI, which runs one test at a time; running two test
// binaries at once can make it fail spuriously.
inline std::set<std::string> sysv_objects() {
  std::set<std::string> ids;
  std::string line;
  if (std::ifstream msg("/proc/sysvipc/msg"); std::getline(msg, line)) {  // header
    while (std::getline(msg, line)) {
      std::istringstream f(line);
      std::string key, msqid;
      f >> key >> msqid;
      ids.insert("msg " + msqid);
    }
  }
  if (std::ifstream shm("/proc/sysvipc/shm"); std::getline(shm, line)) {
    while (std::getline(shm, line)) {
      std::istringstream f(line);
      std::string key, shmid, perms, size, cpid;
      f >> key >> shmid >> perms >> size >> cpid;
      if (cpid == std::to_string(::getpid())) ids.insert("shm " + shmid);
    }
  }
  return ids;
}

}  // namespace ipcbench
