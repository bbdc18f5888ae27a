// pipe: anonymous pipes. One pipe carries a -> b; pingpong adds a second for b -> a.
//
// Capacity: F_SETPIPE_SZ on each pipe, starting at capacity x size bytes. The kernel
// rounds up to a power-of-two number of pages, and a page holds whole writes only, so
// fewer messages may fit than bytes suggest: fit_capacity() probes the fresh pipe and
// grows the size until `capacity` messages fit; capacity_effective is the probed count.
// Past fs.pipe-max-size (unprivileged) the pipe gets that size, and the probe records
// the fewer messages it holds. Messages larger than PIPE_BUF or than the pipe itself
// pass through in pieces (partial writes and reads).
// Wait: block = ordinary blocking read/write; spin = O_NONBLOCK, retrying EAGAIN.
// Fan-in: every producer child inherits the write end and writes to it; writes of up
// to PIPE_BUF are atomic, so messages never interleave and the consumer's exact reads
// of the message size take them whole. Larger messages from several producers are not
// runnable (require_atomic_writes). The consumer sees EOF only once every producer
// has gone.
// Compete: every consumer inherits the read end. A read holds the pipe's lock while it
// copies, and with every write a whole message of the same size the pipe always holds
// whole messages, so a read of the message size takes exactly one. Messages over
// PIPE_BUF may be written in pieces, which another reader could take: not runnable.
// Timed: write(s) on one side and read(s) on the other. Nothing named: nothing to leak.
#include <fcntl.h>
#include <unistd.h>

#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

struct PipeFds {
  UniqueFd read, write;
};

PipeFds make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw SysError("pipe2", "");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

class PipeChannel final : public Channel {
 public:
  explicit PipeChannel(const ChannelConfig& cfg) : wait_(cfg.wait) {
    require_atomic_writes(cfg, "pipe");
    ab_ = make_pipe();
    if (cfg.pattern == Pattern::pingpong) ba_ = make_pipe();
    const int ba_write = ba_.write.get();
    granted_ = fit_capacity(
        cfg,
        [&](std::uint64_t bytes) {
          if (ba_write >= 0) set_pipe_size(ba_write, bytes);
          return set_pipe_size(ab_.write.get(), bytes);
        },
        ab_.write.get(), ab_.read.get());
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    PipeFds& out = side == Side::a ? ab_ : ba_;
    PipeFds& in = side == Side::a ? ba_ : ab_;
    auto ep = std::make_unique<StreamFdEndpoint>(std::move(out.write), std::move(in.read), wait_);
    forked();  // the other side's ends
    return ep;
  }

  void forked() override { ab_ = {}, ba_ = {}; }

 private:
  WaitMode wait_;
  PipeFds ab_, ba_;
};

}  // namespace

const Mechanism kPipe{
    .name = "pipe",
    .summary = "anonymous pipes (one per direction)",
    .capacity_knob =
        "F_SETPIPE_SZ from capacity x size bytes, grown until capacity messages fit (probed); "
        "at most fs.pipe-max-size",
    .order = 200,
    .family = kFamilyByteStream,
    .many_writers = true,
    .many_readers = true,
    .create = create_channel<PipeChannel>,
};
const Registration kPipeRegistration{kPipe};

}  // namespace ipcbench
