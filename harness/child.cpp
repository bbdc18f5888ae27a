#include "harness/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include "harness/clock.hpp"
#include "harness/error.hpp"

namespace ipcbench {

SideOutput::SideOutput() : fd_(::memfd_create("ipcbench-side-output", MFD_CLOEXEC)) {
  if (fd_.get() < 0) throw SysError("memfd_create", "the sides' output");
  // A memfd's mode is 0777 whatever the umask: owner-only, as every object of ours.
  if (::fchmod(fd_.get(), 0600) < 0) throw SysError("fchmod", "the sides' output");
}

std::string SideOutput::tail(std::size_t max_bytes) const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) < 0 || st.st_size <= 0) return "";
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t from = size > max_bytes ? size - max_bytes : 0;
  std::string text(size - from, '\0');
  const ssize_t n = ::pread(fd_.get(), text.data(), text.size(), static_cast<off_t>(from));
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  std::string joined;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (end > at) joined += (joined.empty() ? "" : " | ") + text.substr(at, end - at);
    at = end + 1;
  }
  return joined;
}

Child fork_child(const char* name, const std::function<void()>& fn, int output_fd) {
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
    if (output_fd >= 0) {
      ::dup2(output_fd, STDOUT_FILENO);
      ::dup2(output_fd, STDERR_FILENO);
    }
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

void pin_to_cpu(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) < 0)
    throw SysError("sched_setaffinity", "CPU " + std::to_string(cpu));
}

}  // namespace ipcbench
