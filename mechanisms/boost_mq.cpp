// boost_mq: boost::interprocess::message_queue, Boost's priority message queue in a
// POSIX shared-memory segment (a process-shared mutex and two condition variables
// guard a circular index of preallocated messages). Stream uses one queue (a -> b);
// pingpong two (a -> b, b -> a). Every message is sent at priority 0.
//
// Capacity: max_num_msg = capacity and max_msg_size = the case's size, so exactly
// `capacity` whole messages fit (granted capacity_msgs = get_max_msg()). Boost
// preallocates them all; capacity_bytes is the segment's real size (fstat), which adds
// Boost's per-message header and index entry to capacity x size. Requests over
// ipcbench's per-channel limit (256 MiB of capacity x size) are not runnable.
// Wait: block = send/receive (sleep on Boost's condition variables);
// spin = try_send/try_receive in a loop. "try" only means "do not wait for space or
// data": each call takes Boost's mutex with a blocking lock, which sleeps in the kernel
// while the peer holds it, so spinning can turn into a lock convoy: on a loaded
// 2-CPU machine a 4 KiB stream ran anywhere from 0.5 k to 200 k msgs/s (shm_locked
// polls with try_lock instead and does not convoy). This is Boost's API as a user gets
// it; ipcbench does not reach around it.
// Names: the orchestrator creates each queue create_only, mode 0600, under an
// unpredictable name, reserves the segment's memory (a full /dev/shm fails here, not
// with SIGBUS in a child) and removes the name before create() returns. The queue
// objects live in the Channel; the children use their fork copies, whose mapping they
// inherit, so the name never outlives setup. The destructor removes it again as a
// backstop. Boost's sync objects are never destroyed: a killed child may still be
// counted as a waiter, and glibc's pthread_cond_destroy would wait for it forever.
// Timed: Boost's lock, copy in, notify (only when the peer waits), and the same on
// the receiving side.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <optional>
#include <string>

#include "harness/capacity.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

namespace bip = boost::interprocess;

// Boost reports failures as interprocess_exception; ipcbench's callers expect SysError
// (a failed call, with its errno), PeerError (the peer is gone: throw_io_error decides)
// or NotRunnable (a limit).
[[noreturn]] void rethrow_as_ours(const bip::interprocess_exception& e, const std::string& call,
                                  const std::string& name) {
  if (const int err = e.get_native_error(); err != 0) {
    if (err == ENOSPC || err == ENOMEM) {
      throw NotRunnable("boost_mq: " + call + " " + name + ": " + std::strerror(err) +
                        " (not enough shared memory; lower --capacities or --sizes)");
    }
    throw_io_error(call.c_str(), name, err);
  }
  throw PeerError("boost_mq: " + call + " " + name + ": " + e.what());
}

// Boost wants a name without a slash (it adds its own); /dev/shm holds "ipcbench-...".
std::string boost_name() { return unique_ipc_name().substr(1); }

int remove_queue(const char* name) { return bip::message_queue::remove(name) ? 0 : -1; }

// Fails cleanly when /dev/shm cannot hold `bytes`: Boost touches its segment while
// formatting it, and a tmpfs page it cannot allocate is a SIGBUS, not an error.
void check_shm_space(std::uint64_t bytes) {
  struct statvfs fs {};
  if (::statvfs("/dev/shm", &fs) != 0) throw SysError("statvfs", "/dev/shm");
  const std::uint64_t free_bytes = std::uint64_t{fs.f_bavail} * fs.f_frsize;
  if (bytes > free_bytes) {
    throw NotRunnable("boost_mq needs about " + std::to_string(bytes >> 20) +
                      " MiB in /dev/shm and only " + std::to_string(free_bytes >> 20) +
                      " MiB are free");
  }
}

// Reserves every page of the queue's segment now, so that no child faults on a page
// tmpfs cannot supply; returns the segment's size in bytes.
std::uint64_t reserve_segment(const std::string& name) {
  const std::string path = "/" + name;
  UniqueFd fd(::shm_open(path.c_str(), O_RDWR | O_CLOEXEC, 0));
  if (!fd) throw SysError("shm_open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw SysError("fstat", path);
  if (const int err = ::posix_fallocate(fd.get(), 0, st.st_size); err != 0) {
    if (err == ENOSPC)
      throw NotRunnable("boost_mq needs " + std::to_string(st.st_size) +
                        " B in /dev/shm and it is full (ENOSPC)");
    throw SysError("posix_fallocate", path, err);
  }
  return static_cast<std::uint64_t>(st.st_size);
}

class BoostMqEndpoint final : public Endpoint {
 public:
  BoostMqEndpoint(bip::message_queue* tx, bip::message_queue* rx, WaitMode wait)
      : tx_(tx), rx_(rx), wait_(wait) {}

  void send(std::span<const std::byte> msg) override {
    try {
      if (wait_ == WaitMode::block) {
        tx_->send(msg.data(), msg.size(), 0);
      } else {
        while (!tx_->try_send(msg.data(), msg.size(), 0)) cpu_relax();
      }
    } catch (const bip::interprocess_exception& e) {
      rethrow_as_ours(e, "message_queue::send", "");
    }
  }

  std::size_t recv(std::span<std::byte> buf) override {
    bip::message_queue::size_type len = 0;
    unsigned priority = 0;
    try {
      if (wait_ == WaitMode::block) {
        rx_->receive(buf.data(), buf.size(), len, priority);
      } else {
        while (!rx_->try_receive(buf.data(), buf.size(), len, priority)) cpu_relax();
      }
    } catch (const bip::interprocess_exception& e) {
      rethrow_as_ours(e, "message_queue::receive", "");
    }
    return len;
  }

 private:
  bip::message_queue* tx_;  // owned by the Channel (this process's fork copy)
  bip::message_queue* rx_;
  WaitMode wait_;
};

class BoostMqChannel final : public Channel {
 public:
  explicit BoostMqChannel(const ChannelConfig& cfg) : cfg_(cfg) {
    if (cfg.capacity_msgs == 0) throw NotRunnable("boost_mq: capacity 0 holds no message");
    const int queues = cfg.pattern == Pattern::pingpong ? 2 : 1;
    // Boost pads each message to 8 B and adds a 16-byte header and an 8-byte index entry.
    check_shm_space(queues * cfg.capacity_msgs * ((cfg.msg_bytes + 7) / 8 * 8 + 24) + (1u << 20));
    create_queue(ab_, ab_name_);
    if (cfg.pattern == Pattern::pingpong) create_queue(ba_, ba_name_);
    granted_.capacity_msgs = ab_->get_max_msg();
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    bip::message_queue* ab = &*ab_;
    bip::message_queue* ba = ba_ ? &*ba_ : nullptr;
    return std::make_unique<BoostMqEndpoint>(side == Side::a ? ab : ba, side == Side::a ? ba : ab,
                                             cfg_.wait);
  }

  // The children hold their own copies of the mappings; the segments go away with the
  // last of them.
  void forked() override { ab_.reset(), ba_.reset(); }

 private:
  void create_queue(std::optional<bip::message_queue>& queue, OwnedName& owned) {
    const std::string name = boost_name();
    try {
      queue.emplace(bip::create_only, name.c_str(), cfg_.capacity_msgs, cfg_.msg_bytes,
                    bip::permissions(0600));
    } catch (const bip::interprocess_exception& e) {
      // EEXIST is shm_open(O_EXCL) refusing a name someone else holds: Boost created
      // nothing, and that object is left alone. Any later failure may leave a segment
      // Boost created (it truncates it but does not remove it): that one is removed.
      if (e.get_native_error() != EEXIST) remove_queue(name.c_str());
      rethrow_as_ours(e, "message_queue create_only", name);
    }
    owned = OwnedName(name, remove_queue);
    granted_.capacity_bytes = reserve_segment(owned.str());
    owned.remove_now();  // the mapping keeps the memory; nothing named is left to leak
  }

  ChannelConfig cfg_;
  // Declared before the queues: destroyed after them (the backstop removal).
  OwnedName ab_name_, ba_name_;
  std::optional<bip::message_queue> ab_, ba_;
};

}  // namespace

const Mechanism kBoostMq{
    .name = "boost_mq",
    .summary = "boost::interprocess::message_queue (mutex + condition variables in POSIX shm)",
    .capacity_knob =
        "max_num_msg = capacity, max_msg_size = size (Boost preallocates every message)",
    .order = 130,
    .family = kFamilySharedMemory,
    .create = create_channel<BoostMqChannel>,
};
const Registration kBoostMqRegistration{kBoostMq};

}  // namespace ipcbench
