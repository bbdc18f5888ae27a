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
      : std::runtime_error(call + (object.empty() ? "" : " " + object) + ": " + std::strerror(err) +
                           limit_hint(err)),
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

// "The peer is gone", decided in this one place for every mechanism: true for the
// errnos a channel's call returns once the other end has closed or died. EPIPE (write
// to a pipe, FIFO or stream socket with no reader), ECONNRESET (a socket reset by the
// peer's close with unread data), ECONNREFUSED and ENOTCONN (a datagram or connected
// socket whose peer is gone), EIO (a pseudo-terminal: the master reads EIO once the
// slave is closed, the slave writes EIO once the master is). End of file is not an
// errno: callers that read 0 bytes use peer_gone_at_eof().
bool is_peer_gone(int err) noexcept;

// The PeerError for a peer that is gone, as `what` saw it ("write", "recv", or what a
// library reported): "peer closed its end (write)".
PeerError peer_gone(const std::string& what);
// The PeerError for a read of 0 bytes by `call`: "peer closed its end (read returned EOF)".
PeerError peer_gone_at_eof(const char* call);

// For a failed I/O call on a channel: PeerError when err says the peer is gone
// (is_peer_gone), otherwise SysError(call, object, err).
[[noreturn]] void throw_io_error(const char* call, const std::string& object, int err = errno);

}  // namespace ipcbench
