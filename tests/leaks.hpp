#pragma once
// What a test's cases may leave behind, to compare before and after.
#include <dirent.h>
#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>

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
        if (std::string(e->d_name).starts_with(prefix))
          names.insert(std::string(dir) + "/" + e->d_name);
      }
      ::closedir(d);
    }
  }
  return names;
}

// Every SysV message queue this process created (id, key), as tests/leaks.cpp's
// msgget hook saw them.
std::set<std::pair<int, key_t>> queues_made();

// SysV objects of this process still present: the message queues it created (by id
// and key, so another process's queue that reuses an id is not taken for ours) and the
// shm segments it created (cpid column). Other processes' objects (another test
// binary, a benchmark) never count.
inline std::set<std::string> sysv_objects() {
  std::set<std::string> ids;
  const auto made = queues_made();
  std::string line;
  if (std::ifstream msg("/proc/sysvipc/msg"); std::getline(msg, line)) {  // header
    while (std::getline(msg, line)) {
      std::istringstream f(line);
      long long key = 0;
      int msqid = -1;
      f >> key >> msqid;
      if (made.contains({msqid, static_cast<key_t>(key)}))
        ids.insert("msg " + std::to_string(msqid));
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
