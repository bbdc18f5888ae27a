// shm_locked: the textbook bounded buffer, the classic design the lock-free ring
// (shm_ring) is measured against. A circular buffer of `capacity` slots in shared
// memory, each holding one whole message and its length, guarded by one
// process-shared mutex and two condition variables (not_full, not_empty): Boost's
// interprocess_mutex and interprocess_condition (pthread objects with
// PTHREAD_PROCESS_SHARED on Linux). Stream uses one buffer (a -> b); pingpong two.
//
// Capacity: slots = capacity, exactly; capacity_bytes is the slot area (each slot is
// an 8-byte length and the payload, padded to a cache line). Buffers over ipcbench's
// per-channel limit (256 MiB of capacity x size) are not runnable.
// Wait: block = lock; while full (empty), wait on not_full (not_empty); copy the
// message in (out) under the lock; unlock; notify the other condition. A side counts
// itself in `*_waiting` under the mutex before it waits, and the other side notifies
// only when that count is non-zero: both read and write it under the mutex, so no
// wake-up is lost, and the notify comes after the unlock so the woken side does not
// at once block on a mutex we still hold (Boost's message_queue does the same).
// spin = try_lock, check, unlock, retry: no condition waits (so nobody ever needs a
// notify) and no sleep on the mutex either. A plain lock() here sleeps in the kernel
// whenever the peer holds the mutex, and the unfair pthread mutex lets the polling
// side re-take it before the sleeper runs: a lock convoy. In interleaved A/B runs on
// a shared 2-CPU machine (stream, 4 KiB, capacity 8) lock() gave 1.3-8 k msgs/s and
// try_lock 50-91 k.
// Names: none. The buffers live in an anonymous MAP_SHARED mapping made by the
// orchestrator and inherited by both children across fork(); the memory goes away
// with the last mapping. The mutex and conditions are never destroyed: a killed
// child may still be counted as a waiter, and glibc's pthread_cond_destroy would wait
// for it forever. Unmapping is enough.
// Timed: lock, copy, unlock and notify on one side; lock, wait, copy, unlock, notify
// on the other.
#include <boost/interprocess/sync/interprocess_condition.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <cstring>
#include <new>
#include <string>

#include "harness/cacheline.hpp"
#include "harness/capacity.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

namespace bip = boost::interprocess;
using Lock = bip::scoped_lock<bip::interprocess_mutex>;

struct Slot {
  std::uint64_t len;  // payload bytes; the payload follows
};

// The slot count and size a process was given when the channel was made: its own
// copy, since the control block's fields are the peer's to overwrite.
struct Geometry {
  std::uint64_t slot_count = 0;
  std::uint64_t slot_bytes = 0;
};

// One bounded buffer: this control block, then slot_count slots of slot_bytes each.
// Everything below the sync objects is read and written only under `mutex`.
struct LockedBuffer {
  bip::interprocess_mutex mutex;
  bip::interprocess_condition not_full;   // the sender waits here while count == slot_count
  bip::interprocess_condition not_empty;  // the receiver waits here while count == 0
  std::uint64_t slot_count = 0;
  std::uint64_t slot_bytes = 0;
  std::uint64_t head = 0;   // slot of the oldest message
  std::uint64_t count = 0;  // messages held
  std::uint32_t senders_waiting = 0;
  std::uint32_t receivers_waiting = 0;

  static std::size_t slot_bytes_for(std::size_t msg_bytes) noexcept {
    return round_up_to_cache_line(sizeof(Slot) + msg_bytes);
  }
  static std::size_t control_bytes() noexcept {
    return round_up_to_cache_line(sizeof(LockedBuffer));
  }
  // Slot i, placed by the geometry this process was given (slot_count and slot_bytes
  // below are the peer's to overwrite, so they never place a slot).
  Slot* slot(std::uint64_t i, std::uint64_t trusted_slot_bytes) noexcept {
    return reinterpret_cast<Slot*>(reinterpret_cast<std::byte*>(this) + control_bytes() +
                                   i * trusted_slot_bytes);
  }
  bool full() const noexcept { return count == slot_count; }
  bool empty() const noexcept { return count == 0; }

  // Both under the mutex, with this process's own copy of the geometry. A head, count
  // or length outside it is a corrupt peer: reported, never followed out of bounds.
  void put(std::span<const std::byte> msg, const Geometry& geometry) {
    check(geometry);
    Slot* s = slot((head + count) % geometry.slot_count, geometry.slot_bytes);
    s->len = msg.size();
    std::memcpy(s + 1, msg.data(), msg.size());
    ++count;
  }
  std::size_t take(std::span<std::byte> buf, const Geometry& geometry) {
    check(geometry);
    Slot* s = slot(head, geometry.slot_bytes);
    const std::uint64_t len = s->len;
    if (len > buf.size() || len > geometry.slot_bytes - sizeof(Slot)) {
      throw PeerError("shm_locked: slot length " + std::to_string(len) + " exceeds the " +
                      std::to_string(buf.size()) + "-byte buffer (corrupt peer?)");
    }
    std::memcpy(buf.data(), s + 1, len);
    head = head + 1 == geometry.slot_count ? 0 : head + 1;
    --count;
    return len;
  }
  void check(const Geometry& geometry) const {
    if (slot_count != geometry.slot_count || slot_bytes != geometry.slot_bytes ||
        head >= geometry.slot_count || count > geometry.slot_count) {
      throw PeerError("shm_locked: the buffer's control block was overwritten (head " +
                      std::to_string(head) + ", count " + std::to_string(count) + ", " +
                      std::to_string(slot_count) + " slots; corrupt peer?)");
    }
  }
};

// Sends one message. Any process that maps the buffer; one sender at a time.
void send(LockedBuffer& b, std::span<const std::byte> msg, WaitMode wait,
          const Geometry& geometry) {
  if (wait == WaitMode::spin) {
    for (;;) {
      Lock lock(b.mutex, bip::try_to_lock);
      if (lock && !b.full()) return b.put(msg, geometry);
      if (lock) lock.unlock();
      cpu_relax();
    }
  }
  bool wake_receiver = false;
  {
    Lock lock(b.mutex);
    while (b.full()) {
      ++b.senders_waiting;
      b.not_full.wait(lock);
      --b.senders_waiting;
    }
    b.put(msg, geometry);
    wake_receiver = b.receivers_waiting != 0;
  }
  if (wake_receiver) b.not_empty.notify_one();
}

// Receives one message into buf and returns its length. One receiver at a time.
std::size_t recv(LockedBuffer& b, std::span<std::byte> buf, WaitMode wait,
                 const Geometry& geometry) {
  if (wait == WaitMode::spin) {
    for (;;) {
      Lock lock(b.mutex, bip::try_to_lock);
      if (lock && !b.empty()) return b.take(buf, geometry);
      if (lock) lock.unlock();
      cpu_relax();
    }
  }
  std::size_t len = 0;
  bool wake_sender = false;
  {
    Lock lock(b.mutex);
    while (b.empty()) {
      ++b.receivers_waiting;
      b.not_empty.wait(lock);
      --b.receivers_waiting;
    }
    len = b.take(buf, geometry);
    wake_sender = b.senders_waiting != 0;
  }
  if (wake_sender) b.not_full.notify_one();
  return len;
}

class ShmLockedEndpoint final : public Endpoint {
 public:
  ShmLockedEndpoint(LockedBuffer* tx, LockedBuffer* rx, WaitMode wait, Geometry geometry)
      : tx_(tx), rx_(rx), wait_(wait), geometry_(geometry) {}
  void send(std::span<const std::byte> msg) override {
    ipcbench::send(*tx_, msg, wait_, geometry_);
  }
  std::size_t recv(std::span<std::byte> buf) override {
    return ipcbench::recv(*rx_, buf, wait_, geometry_);
  }

 private:
  LockedBuffer* tx_;  // in the Channel's mapping (this process's inherited copy)
  LockedBuffer* rx_;
  WaitMode wait_;
  Geometry geometry_;
};

class ShmLockedChannel final : public Channel {
 public:
  explicit ShmLockedChannel(const ChannelConfig& cfg) : wait_(cfg.wait) {
    if (cfg.capacity_msgs == 0) throw NotRunnable("shm_locked: capacity 0 holds no message");
    const std::size_t slot_bytes = LockedBuffer::slot_bytes_for(cfg.msg_bytes);
    geometry_ = {cfg.capacity_msgs, slot_bytes};
    const std::size_t area_bytes = cfg.capacity_msgs * slot_bytes;
    stride_bytes_ = LockedBuffer::control_bytes() + area_bytes;
    const int buffers = cfg.pattern == Pattern::pingpong ? 2 : 1;
    map_ = map_shared(stride_bytes_ * buffers);  // anonymous: no name, inherited by fork
    for (int i = 0; i < buffers; ++i) {
      auto* b = new (buffer(i)) LockedBuffer{};
      b->slot_count = cfg.capacity_msgs;
      b->slot_bytes = slot_bytes;
    }
    granted_.capacity_msgs = cfg.capacity_msgs;
    granted_.capacity_bytes = area_bytes;
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    LockedBuffer* ab = buffer(0);
    LockedBuffer* ba = map_.size() > stride_bytes_ ? buffer(1) : nullptr;
    return std::make_unique<ShmLockedEndpoint>(side == Side::a ? ab : ba, side == Side::a ? ba : ab,
                                               wait_, geometry_);
  }

  // The children keep their inherited mappings; ours is not needed any more.
  void forked() override { map_.reset(); }

 private:
  LockedBuffer* buffer(int i) const noexcept {
    return reinterpret_cast<LockedBuffer*>(static_cast<std::byte*>(map_.get()) + i * stride_bytes_);
  }

  WaitMode wait_;
  std::size_t stride_bytes_ = 0;
  Geometry geometry_;  // handed to each side's endpoint
  Mapping map_;
};

}  // namespace

const Mechanism kShmLocked{
    .name = "shm_locked",
    .summary =
        "classic bounded buffer in shared memory: process-shared mutex + 2 condition variables",
    .capacity_knob = "buffer slots = capacity (each slot holds one whole message)",
    .order = 120,
    .family = kFamilySharedMemory,
    .create = create_channel<ShmLockedChannel>,
};
const Registration kShmLockedRegistration{kShmLocked};

}  // namespace ipcbench
