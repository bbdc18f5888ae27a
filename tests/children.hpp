#pragma once
// The test process's own children: forked to run a test body (spawn), or found by
// name in /proc (find_child).
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <thread>

#include "harness/error.hpp"

namespace ipcbench {

// A spawned child's exit status when the channel said its peer was gone (PeerError).
inline constexpr int kPeerGoneStatus = 4;

// Runs `body` in a forked child; its return value is the child's exit status
// (PeerError: kPeerGoneStatus; any other exception: 3), an exception's message on
// stderr. The child leaves with _exit, as the pair runner's do.
template <typename Body>
pid_t spawn(Body body) {
  const pid_t pid = ::fork();
  if (pid < 0) throw SysError("fork", "");
  if (pid == 0) {
    int status = 3;
    try {
      status = body();
    } catch (const PeerError& e) {
      std::fprintf(stderr, "child %d: %s\n", ::getpid(), e.what());
      status = kPeerGoneStatus;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %d: %s\n", ::getpid(), e.what());
    }
    std::fflush(stderr);
    ::_exit(status);
  }
  return pid;
}

// Our child named `name` (the pair runner names each side "ipcb-<role>"), or -1.
inline pid_t find_child(const std::string& name) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return -1;
  pid_t found = -1;
  while (dirent* e = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const std::size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 4 >= line.size())
      continue;
    const std::string comm = line.substr(open + 1, close - open - 1);
    const pid_t ppid = static_cast<pid_t>(std::atoi(line.c_str() + close + 4));  // after ") S "
    if (ppid == ::getpid() && comm == name) {
      found = pid;
      break;
    }
  }
  ::closedir(proc);
  return found;
}

// A thread that SIGKILLs our child `name` 100 ms after it first appears (mid-case),
// looking every 5 ms for 20 s at most, and no longer once `done` is set. Join it.
inline std::thread kill_child_when_up(const std::string& name, const std::atomic<bool>& done) {
  return std::thread([name, &done] {
    for (int i = 0; i < 4000 && !done; ++i) {
      if (const pid_t pid = find_child(name); pid > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ::kill(pid, SIGKILL);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
}

}  // namespace ipcbench
