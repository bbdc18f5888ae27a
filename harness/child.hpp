#pragma once
// A forked child process, watched through a death pipe, killed and reaped by its owner.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <utility>

#include "harness/owners.hpp"

namespace ipcbench {

// A forked child: killed and reaped by the destructor if still running.
// Its death is observed through a pipe whose only write end the child holds: when
// the child exits, for any reason, the read end reports EOF. (pidfd_open would do
// the same but is missing before Linux 5.3 and under valgrind.)
class Child {
 public:
  Child() = default;
  Child(pid_t pid, UniqueFd death_read) : pid_(pid), death_(std::move(death_read)) {}
  Child(Child&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)),
        death_(std::move(o.death_)),
        reaped_(o.reaped_),
        killed_by_us_(o.killed_by_us_),
        status_(o.status_) {}
  Child& operator=(Child&& o) noexcept {
    if (this != &o) {
      kill_and_reap();
      pid_ = std::exchange(o.pid_, -1);
      death_ = std::move(o.death_);
      reaped_ = o.reaped_;
      killed_by_us_ = o.killed_by_us_;
      status_ = o.status_;
    }
    return *this;
  }
  ~Child() { kill_and_reap(); }

  int death_fd() const { return death_.get(); }
  bool running() const { return pid_ > 0 && !reaped_; }
  // Waits for the exit status of a child whose death pipe reported EOF: it is
  // already exiting (the pipe closes just before it becomes a zombie).
  void reap() noexcept {
    if (!running()) return;
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  void kill_and_reap() noexcept {
    if (!running()) return;
    killed_by_us_ = true;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    status_ = status;
  }
  pid_t pid() const { return pid_; }
  bool exited_ok() const { return reaped_ && WIFEXITED(status_) && WEXITSTATUS(status_) == 0; }
  // Ended by itself (not by our SIGKILL) and not cleanly: a cause worth naming.
  bool died_badly() const { return reaped_ && !killed_by_us_ && !exited_ok(); }
  bool died_of_signal() const { return died_badly() && WIFSIGNALED(status_); }
  std::string describe_exit() const {
    if (WIFSIGNALED(status_)) {
      const int sig = WTERMSIG(status_);
      std::string text =
          std::string("killed by signal ") + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
      if (sig == SIGBUS) text += ": a page of shared memory could not be supplied (a full tmpfs?)";
      if (sig == SIGKILL) text += ": by another process or the OOM killer (dmesg tells which)";
      return text;
    }
    return "exited with status " + std::to_string(WEXITSTATUS(status_));
  }

 private:
  pid_t pid_ = -1;
  UniqueFd death_;
  bool reaped_ = false;
  bool killed_by_us_ = false;
  int status_ = 0;
};

// Where the sides of a case write their stdout and stderr instead of the terminal: an
// anonymous file (a memfd, 0600) of the orchestrator's. A library that logs on its own
// (gRPC, iceoryx) would otherwise write into the progress line. What the sides wrote is
// shown only when their case fails (a library's complaint, a sanitizer's report), as
// the tail of the failure.
class SideOutput {
 public:
  SideOutput();  // throws SysError
  int fd() const noexcept { return fd_.get(); }
  // The end of what was written (at most max_bytes), its lines joined by " | "; "" when
  // nothing was.
  std::string tail(std::size_t max_bytes = 600) const;

 private:
  UniqueFd fd_;
};

// Forks a child named `name` (ps, top; at most 15 characters) that runs fn() and
// leaves with _exit(0), or _exit(1) when fn throws.
// It dies with the caller (PR_SET_PDEATHSIG) and holds the only write end of its death
// pipe. With output_fd (a SideOutput's), its stdout and stderr go there. Throws SysError
// when pipe2 or fork fails.
Child fork_child(const char* name, const std::function<void()>& fn, int output_fd = -1);

// Pins the calling process to `cpu` (nothing for -1). Throws SysError.
void pin_to_cpu(int cpu);

// Waits until every child has ended or `ns` have passed; reaps those that ended and
// leaves the others running. True when none is left running.
bool reap_within(std::span<Child> children, std::uint64_t ns);

// What a child that missed a deadline is doing, from /proc/<pid>/stat and wchan:
// stopped (SIGSTOP, a debugger), spinning, or asleep in the kernel and where.
std::string describe_stuck(pid_t pid);

}  // namespace ipcbench
