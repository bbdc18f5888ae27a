#include "harness/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include "harness/clock.hpp"
#include "harness/error.hpp"

namespace ipcbench {

Child fork_child(const char* name, const std::function<void()>& fn) {
  int death[2];
  if (::pipe2(death, O_CLOEXEC) < 0) throw SysError("pipe2", "death pipe");
  UniqueFd death_read(death[0]), death_write(death[1]);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw SysError("fork", "");
  if (pid == 0) {
    ::close(death[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(3);  // the parent died before prctl took effect
    ::prctl(PR_SET_NAME, name);
    try {
      fn();
    } catch (...) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  return Child(pid, std::move(death_read));
}

bool reap_within(std::span<Child> children, std::uint64_t ns) {
  const std::uint64_t until = now_ns() + ns;
  std::vector<pollfd> fds(children.size());
  for (;;) {
    bool any = false;
    for (std::size_t i = 0; i < children.size(); ++i) {
      fds[i] = {children[i].running() ? children[i].death_fd() : -1, POLLIN, 0};
      any = any || children[i].running();
    }
    if (!any) return true;
    const std::uint64_t now = now_ns();
    if (now >= until) return false;
    if (::poll(fds.data(), fds.size(), static_cast<int>((until - now) / 1'000'000 + 1)) < 0 &&
        errno != EINTR) {
      return false;
    }
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP)) children[i].reap();
    }
  }
}

std::string describe_stuck(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const std::size_t close = line.rfind(')');
  const char state = close != std::string::npos && close + 2 < line.size() ? line[close + 2] : '?';
  std::string wchan;
  std::ifstream("/proc/" + std::to_string(pid) + "/wchan") >> wchan;
  const std::string where = wchan.empty() || wchan == "0" ? "" : " in " + wchan;
  switch (state) {
    case 'T':
      return "stopped by a signal: SIGSTOP or SIGTSTP";
    case 't':
      return "stopped by a debugger";
    case 'R':
      return "running: spinning on a peer that never answers?";
    case 'S':
      return "asleep in the kernel" + where + ": waiting for a peer that never answers?";
    case 'D':
      return "in uninterruptible sleep" + where;
    default:
      return std::string("state ") + state;
  }
}

}  // namespace ipcbench
