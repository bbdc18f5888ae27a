// file: a regular file as the channel. The writer appends each message with write()
// (O_APPEND); the reader reads it with pread() at its own offset. One file carries
// a -> b; pingpong adds a second for b -> a.
//
// Where: a private directory from mkdtemp ("<dir>/ipcbench-<pid>-XXXXXX", mode 0700,
// <dir> = /tmp or `ipcbench run --dir`) holds each file, created O_EXCL, mode 0600,
// under a random name. The constructor opens the file (and, for block, arms its
// inotify watch by path), then unlinks file and directory at once: the children
// inherit the open descriptions, so a SIGKILL at any later point leaves nothing
// behind. The filesystem (tmpfs or a disk's) goes into Granted::detail.
//
// Capacity: a file has no buffer to fill, so the bound is the harness's: the writer
// waits while it is `capacity` messages ahead of the reader (block: futex; spin: poll).
// The reader publishes the messages it has taken in a shared anonymous mapping made
// before fork (one seq_cst store per message, a line the writer reads only when it
// looks full); a flag says when the writer sleeps, so the reader pays a FUTEX_WAKE
// only then. capacity_msgs is exactly the requested capacity.
//
// Growth: the reader punches a hole (FALLOC_FL_PUNCH_HOLE | KEEP_SIZE) over what it
// has read every kPunchEveryBytes, so the blocks in use stay near capacity x size +
// kPunchEveryBytes however long the stream. A punch is one fallocate on the reader's
// path per 4 MiB read: it frees the range's page cache (and on a disk filesystem its
// extents, a journal transaction) and holds the file's lock meanwhile, so a writer's
// write() may wait behind it. A filesystem that cannot punch holes is refused up
// front (NotRunnable, naming it): the file would grow by every byte sent.
//
// Wait: block = the reader, caught up, sleeps in read() on an inotify descriptor
// watching the file for IN_MODIFY. The watch is armed from the start, so a write that
// lands between the pread that found nothing and the read() leaves an event queued,
// and the read returns at once: no lost wake-up. A stale event costs one extra pread.
// spin = the reader retries pread() until the bytes are there. A write() may be seen
// in part (the file grows page by page as it copies), so the reader keeps reading
// from where it stopped until the whole message is in.
// Peer death: nothing in a file reports that the writer died; the harness's watchdog
// sees the death and ends the case (harness/members.cpp).
// Timed: write() on one side, pread() (and the waits above) on the other.
#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <new>

#include "harness/cacheline.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/fdio.hpp"
#include "harness/futex.hpp"
#include "harness/registry.hpp"
#include "harness/shared_region.hpp"

namespace ipcbench {
namespace {

constexpr const char* kDefaultDir = "/tmp";
// How much the reader reads between two hole punches: a multiple of any block size,
// and large enough that one fallocate is spread over many messages (64 of 64 KiB).
constexpr std::uint64_t kPunchEveryBytes = 4ull << 20;
constexpr std::uint64_t kPunchAlignBytes = 64 * 1024;  // whole blocks on any filesystem

// One direction's bookkeeping, shared between its writer and its reader.
struct alignas(kCacheLineSeparation) Flow {
  // Messages the reader has taken (wraps; the futex word the writer sleeps on).
  std::atomic<std::uint32_t> taken{0};
  // 1 while the writer sleeps or is about to; written by the writer, rarely.
  alignas(kCacheLineSeparation) std::atomic<std::uint32_t> writer_sleeps{0};
};

// One file, one way: the open file (shared by writer and reader) and, for block, the
// reader's inotify descriptor watching it.
struct Direction {
  UniqueFd file;
  UniqueFd notify;
  Flow* flow = nullptr;
};

class FileEndpoint final : public Endpoint {
 public:
  FileEndpoint(Direction out, Direction in, WaitMode wait, std::uint32_t ahead_msgs)
      : out_(std::move(out)), in_(std::move(in)), wait_(wait), ahead_msgs_(ahead_msgs) {}

  void send(std::span<const std::byte> msg) override {
    if (sent_msgs_ - seen_taken_msgs_ >= ahead_msgs_) wait_for_room();
    write_all(out_.file.get(), msg);  // O_APPEND: at the end, whatever the offset
    ++sent_msgs_;
  }

  std::size_t recv(std::span<std::byte> buf) override {
    std::size_t got = 0;
    while (got < buf.size()) {
      const ssize_t n = ::pread(in_.file.get(), buf.data() + got, buf.size() - got,
                                static_cast<off_t>(read_bytes_ + got));
      if (n > 0) {
        got += static_cast<std::size_t>(n);
      } else if (n == 0) {
        wait_for_data();  // caught up with the writer, perhaps inside its write()
      } else if (errno != EINTR) {
        throw SysError("pread", "fd " + std::to_string(in_.file.get()));
      }
    }
    read_bytes_ += got;
    took_one();
    if (read_bytes_ - punched_bytes_ >= kPunchEveryBytes) punch_behind();
    return got;
  }

 private:
  void wait_for_room();
  void took_one() noexcept;
  void wait_for_data();
  void punch_behind();

  Direction out_, in_;
  WaitMode wait_;
  std::uint32_t ahead_msgs_;
  std::uint32_t sent_msgs_ = 0;        // writer: messages written (wraps)
  std::uint32_t seen_taken_msgs_ = 0;  // writer: the reader's count, as last loaded
  std::uint32_t taken_msgs_ = 0;       // reader: messages taken (wraps)
  std::uint64_t read_bytes_ = 0;       // reader: its offset in the file
  std::uint64_t punched_bytes_ = 0;    // reader: the hole reaches this far
  alignas(inotify_event) std::array<char, 4096> events_{};
};

// The writer is ahead_msgs_ ahead: wait until the reader takes one.
void FileEndpoint::wait_for_room() {
  Flow& f = *out_.flow;
  for (;;) {
    seen_taken_msgs_ = f.taken.load(std::memory_order_acquire);
    if (sent_msgs_ - seen_taken_msgs_ < ahead_msgs_) return;
    if (wait_ == WaitMode::spin) continue;
    // Raise the flag, then re-check (both seq_cst): either the reader's store of
    // `taken` comes first and the re-check sees it, or the reader sees the flag.
    f.writer_sleeps.store(1, std::memory_order_seq_cst);
    const std::uint32_t taken = f.taken.load(std::memory_order_seq_cst);
    if (sent_msgs_ - taken >= ahead_msgs_) futex_wait(f.taken, taken);
    f.writer_sleeps.store(0, std::memory_order_relaxed);
  }
}

// Publishes one more message taken and wakes a sleeping writer.
void FileEndpoint::took_one() noexcept {
  Flow& f = *in_.flow;
  f.taken.store(++taken_msgs_, std::memory_order_seq_cst);
  if (f.writer_sleeps.load(std::memory_order_seq_cst) != 0 &&
      f.writer_sleeps.exchange(0, std::memory_order_seq_cst) != 0) {
    futex_wake_all(f.taken);
  }
}

void FileEndpoint::wait_for_data() {
  if (wait_ == WaitMode::spin) return;  // the caller's pread is the poll
  // Any number of IN_MODIFY events (16 bytes each, no name for a watched file):
  // each says only "written since", so all of them are read at once.
  for (;;) {
    const ssize_t n = ::read(in_.notify.get(), events_.data(), events_.size());
    if (n > 0) return;
    if (n < 0 && errno != EINTR) throw SysError("read", "inotify");
  }
}

// Frees the blocks behind the reader: every byte before read_bytes_ has been read.
void FileEndpoint::punch_behind() {
  const std::uint64_t end = read_bytes_ / kPunchAlignBytes * kPunchAlignBytes;
  if (::fallocate(in_.file.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(punched_bytes_),
                  static_cast<off_t>(end - punched_bytes_)) < 0) {
    throw SysError("fallocate", "FALLOC_FL_PUNCH_HOLE behind the reader");
  }
  punched_bytes_ = end;
}

// Creates one direction's file in `dir` and unlinks it again before returning, with
// its inotify watch armed (block) and hole punching checked.
Direction make_direction(const std::string& dir, WaitMode wait, Flow* flow) {
  const std::string path = dir + unique_ipc_name();
  Direction d;
  d.flow = flow;
  d.file.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600));
  if (!d.file) throw SysError("open", path);  // on EEXIST the file is not ours: left alone
  const OwnedName name(path, ::unlink);
  if (::fallocate(d.file.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                  static_cast<off_t>(kPunchAlignBytes)) < 0) {
    if (errno != EOPNOTSUPP) throw SysError("fallocate FALLOC_FL_PUNCH_HOLE", path);
    const std::string base = dir.substr(0, dir.rfind('/'));
    throw NotRunnable("file: " + base + " (" + filesystem_of(dir.c_str()) +
                      ") cannot punch holes (EOPNOTSUPP), so the file would keep every byte "
                      "sent; choose --dir on tmpfs, ext4, xfs or btrfs");
  }
  if (wait == WaitMode::block) {
    d.notify.reset(::inotify_init1(IN_CLOEXEC));
    if (!d.notify && (errno == EMFILE || errno == ENFILE)) {
      throw NotRunnable(
          "file: inotify_init1: no inotify instance or descriptor left "
          "(fs.inotify.max_user_instances per user, or ulimit -n)");
    }
    if (!d.notify) throw SysError("inotify_init1", path);
    if (::inotify_add_watch(d.notify.get(), path.c_str(), IN_MODIFY) < 0)
      throw SysError("inotify_add_watch IN_MODIFY", path);
  }
  return d;  // ~OwnedName unlinks the file: the descriptions keep it
}

class FileChannel final : public Channel {
 public:
  explicit FileChannel(const ChannelConfig& cfg)
      : wait_(cfg.wait),
        ahead_msgs_(static_cast<std::uint32_t>(std::max<std::size_t>(cfg.capacity_msgs, 1))),
        flows_map_(map_shared(2 * sizeof(Flow))) {
    const std::string base = cfg.file_dir.empty() ? kDefaultDir : cfg.file_dir;
    std::string dir = base + "/ipcbench-" + std::to_string(::getpid()) + "-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) throw SysError("mkdtemp", dir);  // mode 0700
    const OwnedName dir_name(dir, ::rmdir);  // removed when the constructor returns
    auto* flows = static_cast<Flow*>(flows_map_.get());
    ab_ = make_direction(dir, cfg.wait, new (&flows[0]) Flow{});
    if (cfg.pattern == Pattern::pingpong)
      ba_ = make_direction(dir, cfg.wait, new (&flows[1]) Flow{});
    granted_.capacity_msgs = cfg.capacity_msgs;
    granted_.capacity_bytes = cfg.capacity_msgs * cfg.msg_bytes;
    granted_.detail = "file on " + filesystem_of(dir.c_str()) + " (" + base + ")";
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    Direction& out = side == Side::a ? ab_ : ba_;
    Direction& in = side == Side::a ? ba_ : ab_;
    out.notify.reset();  // the reader's, at the other end
    auto ep = std::make_unique<FileEndpoint>(std::move(out), std::move(in), wait_, ahead_msgs_);
    forked();  // nothing of ours is left: the endpoint holds its files
    return ep;
  }

  void forked() override { ab_ = {}, ba_ = {}; }

 private:
  WaitMode wait_;
  // The writer waits while this many messages are unread (at least 1: a capacity of 0
  // is a rendezvous, which the harness makes on top).
  std::uint32_t ahead_msgs_;
  Mapping flows_map_;  // [0] a -> b, [1] b -> a: Flow each, shared across fork
  Direction ab_, ba_;  // ba_ for pingpong only
};

}  // namespace

const Mechanism kFile{
    .name = "file",
    .summary = "a regular file: write() appends, the reader pread()s at its own offset",
    .capacity_knob =
        "none in the kernel: the harness keeps the writer at most capacity messages "
        "(capacity x size bytes) ahead of the reader",
    .order = 250,
    .family = kFamilyByteStream,
    .create = create_channel<FileChannel>,
};
const Registration kFileRegistration{kFile};

}  // namespace ipcbench
