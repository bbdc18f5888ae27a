// pty: a pseudo-terminal pair (openpty), the channel under terminals, ssh and expect.
// Side a holds the master, side b the slave; each end carries both directions.
//
// Raw mode: cfmakeraw on the slave, so its line discipline passes bytes through
// untouched: no echo (which would send every byte back to the master), no CR/LF
// translation, no canonical lines, no signal characters, no XON/XOFF, 8-bit bytes.
// The master's own termios is already raw (the kernel's pty master defaults to no
// input, output or local processing) and cannot be set: tcsetattr on a master sets
// the slave's. The slave is opened O_NOCTTY, so it never becomes anyone's
// controlling terminal and a hang-up sends no SIGHUP.
// Side a on the master: the end an application (a terminal emulator, sshd) drives.
// A master that closes hangs the slave up and discards what the slave has not read,
// so a producer must not close before its consumer has the last message; the
// harness's producers wait for that (patterns.cpp).
// Peer gone: a master reads EIO once the slave is closed (its writes are still taken
// until the buffer fills); a slave reads EOF and writes EIO once the master is closed
// (harness/error.hpp's is_peer_gone). A dead peer is also seen by the orchestrator,
// which ends the case.
//
// Capacity: a pty has no buffer knob. Each direction queues what the kernel's tty
// buffers take before a writer must wait: about 20 KiB of small writes on Linux 6.18,
// less in large writes. capacity is therefore not applied: the channel runs with what
// the kernel gives, and capacity_effective is the probed count of whole messages
// a -> b holds (capacity_bytes what the probe wrote, a last partial message included).
// Messages larger than that pass through in pieces (partial writes and reads).
// Wait: block = ordinary blocking read/write; spin = O_NONBLOCK, retrying EAGAIN.
// The kernel hands written bytes to the reader's line discipline in a worker thread
// (flush_to_ldisc), which must get a CPU while both sides spin on theirs. Measured on
// a quiet 2-vCPU EPYC VM: pingpong 64 B p50 25 us spinning, 37 us blocking; 1 MiB
// 3.8 ms spinning. With other processes busy on both CPUs, spinning pingpong 64 B
// took about 5 ms, and a 1 MiB spin pingpong ran past the 30 s timeout.
// Timed: write(s) on one side and read(s) on the other, through the line discipline.
// Nothing named: openpty returns two descriptors; the /dev/pts/N node is the kernel's,
// and it disappears when the last descriptor of the pair closes. That node is made
// owner-only (0600) at once; until then it has devpts's mode (0620, group tty, on
// most systems): group tty could write into it, nobody else could open it.
#include <fcntl.h>
#include <pty.h>
#include <sys/stat.h>
#include <termios.h>

#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

void set_cloexec(int fd) {
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) throw SysError("fcntl F_SETFD", "pty");
}

class PtyChannel final : public FdPairChannel {
 public:
  explicit PtyChannel(const ChannelConfig& cfg) : FdPairChannel(cfg.wait) {
    termios raw{};
    ::cfmakeraw(&raw);
    int master = -1, slave = -1;
    if (::openpty(&master, &slave, nullptr, &raw, nullptr) < 0) throw SysError("openpty", "");
    a_.reset(master);
    b_.reset(slave);
    // openpty has no O_CLOEXEC; the orchestrator is single-threaded, so no other
    // thread can fork and exec between openpty and these calls.
    set_cloexec(master);
    set_cloexec(slave);
    // The slave node gets devpts's mode (mode=620, group tty, on most systems), so
    // group tty (write, wall) could write into the channel: owner-only, as mesg n.
    if (::fchmod(slave, 0600) < 0) throw SysError("fchmod 0600", "pty slave");
    granted_.capacity_msgs =
        probe_capacity_msgs(master, slave, cfg.msg_bytes, &granted_.capacity_bytes);
  }

 private:
  std::unique_ptr<Endpoint> make_endpoint(UniqueFd fd) override {
    return std::make_unique<StreamFdEndpoint>(std::move(fd), UniqueFd(), wait_);
  }
};

}  // namespace

const Mechanism kPty{
    .name = "pty",
    .summary = "pseudo-terminal pair (openpty, raw mode): master on side a, slave on side b",
    .capacity_knob =
        "none: the kernel's fixed tty buffers (about 20 KiB); capacity is not applied, the held "
        "messages are probed",
    .order = 215,
    .family = kFamilyByteStream,
    .create = create_channel<PtyChannel>,
};
const Registration kPtyRegistration{kPty};

}  // namespace ipcbench
