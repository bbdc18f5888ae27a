// fifo: named pipes (mkfifo). One FIFO carries a -> b; pingpong adds a second for b -> a.
//
// Names: a private directory from mkdtemp ("/tmp/ipcbench-<pid>-XXXXXX", mode 0700)
// holds the FIFOs (mode 0600). Each child opens its ends by name; the last child to
// finish opening (a counter in a shared anonymous mapping tells which: two children, or
// a fan-in's producers and its consumer) unlinks the FIFOs and the directory, so
// nothing named outlives the rendezvous. The Channel destructor
// removes whatever is still there (a child died before opening) as a backstop.
//
// Capacity: F_SETPIPE_SZ, as for pipe, probed and grown by fit_capacity(). A FIFO's
// buffer (and its size) exists only while some descriptor is open, so create() opens
// each FIFO O_RDWR (never blocks on Linux), sizes and probes it through that one
// descriptor, and keeps it. The children inherit it, open their own ends and only then
// close it, so the pipe never drops to zero opens and keeps its size; forked() closes
// the orchestrator's copy. Side a opens a->b for writing, then b->a for reading; side b
// opens a->b for reading, then b->a for writing: the order that cannot deadlock even
// where the held O_RDWR would not make the opens return at once.
// Messages larger than the pipe pass through in pieces (partial writes and reads).
// Fan-in: each producer opens the a->b FIFO for writing by name; as for pipe, writes of
// up to PIPE_BUF are atomic and larger messages from several producers are not
// runnable (require_atomic_writes). Compete: each consumer opens it for reading by
// name (every opener counts towards the unlink), and reads share it as for pipe.
// Wait: ends are opened blocking; block = ordinary blocking read/write; spin =
// O_NONBLOCK set after the opens, retrying EAGAIN.
// Timed: write(s) on one side and read(s) on the other.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <new>

#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

class FifoChannel final : public Channel {
 public:
  explicit FifoChannel(const ChannelConfig& cfg)
      : wait_(cfg.wait),
        openers_(cfg.producers + cfg.consumers),
        opened_map_(map_shared(sizeof(std::atomic<std::uint32_t>))) {
    require_atomic_writes(cfg, "fifo");
    opened_ = new (opened_map_.get()) std::atomic<std::uint32_t>(0);
    std::string dir = "/tmp/ipcbench-" + std::to_string(::getpid()) + "-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) throw SysError("mkdtemp", dir);
    dir_ = OwnedName(dir, ::rmdir);
    make_fifo(0, dir + "/ab");
    if (cfg.pattern == Pattern::pingpong) make_fifo(1, dir + "/ba");
    granted_ = fit_capacity(
        cfg,
        [&](std::uint64_t bytes) {
          if (held_[1]) set_pipe_size(held_[1].get(), bytes);
          return set_pipe_size(held_[0].get(), bytes);
        },
        held_[0].get(), held_[0].get());
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    UniqueFd tx, rx;
    if (side == Side::a) {
      tx = open_end(0, O_WRONLY);
      if (held_[1]) rx = open_end(1, O_RDONLY);
    } else {
      rx = open_end(0, O_RDONLY);
      if (held_[1]) tx = open_end(1, O_WRONLY);
    }
    forked();  // our own ends hold the pipes now
    // acq_rel: the last child's unlinks come after every other child's opens.
    if (opened_->fetch_add(1, std::memory_order_acq_rel) + 1 == openers_) {
      for (OwnedName& name : fifos_) name.remove_now();
      dir_.remove_now();
    }
    return std::make_unique<StreamFdEndpoint>(std::move(tx), std::move(rx), wait_);
  }

  void forked() override {
    for (UniqueFd& fd : held_) fd.reset();
  }

 private:
  void make_fifo(int i, const std::string& path) {
    if (::mkfifo(path.c_str(), 0600) < 0) throw SysError("mkfifo", path);
    fifos_[i] = OwnedName(path, ::unlink);
    held_[i].reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!held_[i]) throw SysError("open O_RDWR", path);
  }

  UniqueFd open_end(int i, int mode) {
    UniqueFd fd(::open(fifos_[i].str().c_str(), mode | O_CLOEXEC));
    if (!fd) throw SysError(mode == O_RDONLY ? "open O_RDONLY" : "open O_WRONLY", fifos_[i].str());
    return fd;
  }

  WaitMode wait_;
  std::uint32_t openers_;  // children that open an end: the producers and the consumers
  Mapping opened_map_;
  std::atomic<std::uint32_t>* opened_ = nullptr;  // children that have opened their ends
  // Declared before the FIFOs: destroyed after them, when the directory is empty.
  OwnedName dir_;
  std::array<OwnedName, 2> fifos_;  // [0] a -> b, [1] b -> a (pingpong only)
  std::array<UniqueFd, 2> held_;    // O_RDWR descriptors keeping each pipe (and its size)
};

}  // namespace

const Mechanism kFifo{
    .name = "fifo",
    .summary = "named pipes (mkfifo) in a private directory, unlinked once both ends are open",
    .capacity_knob =
        "F_SETPIPE_SZ from capacity x size bytes, grown until capacity messages fit (probed); "
        "at most fs.pipe-max-size",
    .order = 210,
    .family = kFamilyByteStream,
    .many_writers = true,
    .many_readers = true,
    .create = create_channel<FifoChannel>,
};
const Registration kFifoRegistration{kFifo};

}  // namespace ipcbench
