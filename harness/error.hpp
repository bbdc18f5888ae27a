#pragma once
// Errors ipcbench throws. Each carries one line a user can act on; the CLI prints it
// once and exits (status 2 for UsageError), and inside a benchmark it becomes the
// case's error_message while the suite goes on.
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ipcbench {

// For the errors that mean a limit was reached, which limit, its value and the fix;
// empty for any other error (harness/error.cpp).
std::string limit_hint(int err);

// A failed system call: "mq_open /ipcbench-3f2a: Permission denied".
class SysError : public std::runtime_error {
 public:
  SysError(const std::string& call, const std::string& object, int err = errno)
      : std::runtime_error(call + (object.empty() ? "" : " " + object) + ": " +
                           std::strerror(err) + limit_hint(err)),
        errno_(err) {}
  int code() const noexcept { return errno_; }

 private:
  int errno_;
};

// A case this mechanism or this machine cannot run (size over a limit, a kernel limit
// too low). Reported with its reason, never silently skipped or capped.
class NotRunnable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input from the user: one line on stderr, exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The peer closed its end or broke the protocol mid-case.
class PeerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ipcbench
