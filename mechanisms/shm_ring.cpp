// shm_ring: the lock-free SPSC ring of shm_ring.hpp in a shared-memory region.
// Stream uses one ring (a -> b); pingpong two in the same region (a -> b, b -> a).
//
// Capacity: ring slots = capacity, exactly; each slot holds one whole message, so a
// message never outgrows the ring. Rings over ipcbench's per-channel limit
// (256 MiB) are not runnable.
// Wait: spin = poll the slot's seq word (with a pause hint); spin_yield = poll with
// sched_yield() between polls; block = futex, and a writer calls futex_wake only
// when the reader sleeps; adaptive = poll for kAdaptiveSpinNs, then as block;
// eventfd = as block, sleeping in read() on an eventfd (the orchestrator creates two
// per ring in create() and closes its copies in forked(); children hold them until
// they exit); sem = process-shared POSIX semaphores in the ring's control block
// (shm_ring.hpp says why).
// Backing (--backing, harness/shared_region.hpp): POSIX shm (default), a SysV
// segment, a file in a private directory under /tmp, or a memfd. The ring code is the
// same on each; only where the pages come from differs.
// Names: the orchestrator creates the region owner-only under an unpredictable name
// (or none), sizes it in full (a full filesystem fails here, cleanly, not with SIGBUS
// in a child), formats both rings and removes every name before create() returns.
// The children reach it through what fork gave them (a descriptor or a SysV
// attachment), so a crash at any later point leaves nothing in /dev/shm, /tmp or the
// SysV table.
// Timed: the copy into the slot, the publish, the poll or futex wait, the copy out.
#include "mechanisms/shm_ring.hpp"

#include <sched.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>
#include <optional>

#include "harness/capacity.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"
#include "harness/shared_region.hpp"
#include "mechanisms/shm_wait.hpp"

namespace ipcbench {
namespace ring {

namespace {

// sem: sem_wait, restarted after a signal. Only EINTR is expected on a semaphore
// that init_ring formatted.
void sem_acquire(sem_t& sem) {
  while (::sem_wait(&sem) < 0) {
    if (errno != EINTR) throw SysError("sem_wait", "shm_ring");
  }
}

}  // namespace

std::size_t ring_bytes(std::uint32_t slot_count, std::size_t max_msg_bytes) noexcept {
  const std::size_t bytes = offsetof(RingControl, slots_begin) +
                            std::size_t{slot_count} * slot_bytes_for(max_msg_bytes) + kSeparation;
  return (bytes + kSeparation - 1) / kSeparation * kSeparation;
}

void init_ring(void* mem, std::uint32_t slot_count, std::size_t max_msg_bytes) noexcept {
  auto* c = new (mem) RingControl{};
  c->magic = kMagic;
  c->version = kVersion;
  c->slot_count = slot_count;
  c->slot_bytes = slot_bytes_for(max_msg_bytes);
  c->max_msg_bytes = max_msg_bytes;
  // pshared = 1: the semaphores live in the shared mapping and are used by both
  // children. Never destroyed: a process-shared semaphore holds no resource outside
  // its bytes, which go with the mapping.
  ::sem_init(&c->data_sem, 1, 0);
  ::sem_init(&c->space_sem, 1, std::min<unsigned>(slot_count, SEM_VALUE_MAX));
  auto* slots = reinterpret_cast<std::byte*>(c) + offsetof(RingControl, slots_begin);
  for (std::uint32_t i = 0; i < slot_count; ++i) {
    new (slots + std::uint64_t{i} * c->slot_bytes) SlotHeader{};
  }
}

RingControl* attach_ring(void* mem) {
  auto* c = static_cast<RingControl*>(mem);
  if (c->magic != kMagic || c->version != kVersion) {
    throw PeerError("shm_ring: mapping has a bad magic or version (not an ipcbench ring?)");
  }
  return c;
}

Producer::Producer(RingControl* ring, EventFds fds) noexcept
    : ring_(ring),
      fds_(fds),
      slots_(reinterpret_cast<std::byte*>(ring) + offsetof(RingControl, slots_begin)),
      slot_bytes_(ring->slot_bytes),
      max_msg_bytes_(ring->max_msg_bytes),
      slot_count_(ring->slot_count) {}

bool Producer::full() noexcept {
  if (tail_ - cached_head_ < slot_count_) return false;
  // acquire: the consumer finished reading the slot before it published head.
  cached_head_ = ring_->head.load(std::memory_order_acquire);
  return tail_ - cached_head_ >= slot_count_;
}

std::span<std::byte> Producer::claim(WaitMode wait) {
  await_space(wait);
  return {reinterpret_cast<std::byte*>(slot() + 1), max_msg_bytes_};
}

void Producer::commit(std::size_t len, WaitMode wait) noexcept {
  SlotHeader* s = slot();
  s->len = static_cast<std::uint32_t>(len);
  const auto seq = static_cast<std::uint32_t>(tail_ + 1);
  if (wait == WaitMode::spin) {
    // release: len and payload are visible before the consumer sees seq.
    s->seq.store(seq, std::memory_order_release);
  } else {
    publish_waiting(s->seq, seq, wait);
  }
  demote_published_slot(s, len);
  ++tail_;
  slot_ = slot_ + 1 == slot_count_ ? 0 : slot_ + 1;
}

bool Producer::try_send(std::span<const std::byte> msg) noexcept {
  if (full()) return false;
  std::memcpy(reinterpret_cast<std::byte*>(slot() + 1), msg.data(), msg.size());
  commit(msg.size(), WaitMode::spin);
  return true;
}

void Producer::send(std::span<const std::byte> msg, WaitMode wait) {
  await_space(wait);
  std::memcpy(reinterpret_cast<std::byte*>(slot() + 1), msg.data(), msg.size());
  commit(msg.size(), wait);
}

void Producer::await_space(WaitMode wait) {
  if (wait == WaitMode::spin) {
    while (full()) cpu_relax();
  } else {
    wait_for_space(wait);
  }
}

// Every mode but spin: wait until a slot is free.
void Producer::wait_for_space(WaitMode wait) {
  if (wait == WaitMode::sem) {
    // sem_wait acquires what the consumer's sem_post released: its copy out is done.
    sem_acquire(ring_->space_sem);
    return;
  }
  if (!full()) return;
  if (wait == WaitMode::spin_yield) {
    while (full()) ::sched_yield();
    return;
  }
  if (wait == WaitMode::adaptive && poll_briefly([this] { return !full(); })) return;
  sleep_until(ring_->space_waiting, ring_->space_epoch, wait == WaitMode::eventfd ? fds_.space : -1,
              [this] {
                cached_head_ = ring_->head.load(std::memory_order_seq_cst);
                return tail_ - cached_head_ < slot_count_;
              });
}

// Every mode but spin: publish message `seq` and wake the consumer if it sleeps.
void Producer::publish_waiting(std::atomic<std::uint32_t>& seq_word, std::uint32_t seq,
                               WaitMode wait) noexcept {
  switch (wait) {
    case WaitMode::spin:
    case WaitMode::spin_yield:
    case WaitMode::sqpoll:  // io_uring's, not the ring's: never planned here
      // release: len and payload are visible before the consumer sees seq.
      seq_word.store(seq, std::memory_order_release);
      return;
    case WaitMode::sem:
      // The consumer reads seq after sem_wait, which acquires this post: release is
      // enough. sem_post only fails on overflow, and the count never exceeds the slots.
      seq_word.store(seq, std::memory_order_release);
      ::sem_post(&ring_->data_sem);
      return;
    case WaitMode::block:
    case WaitMode::adaptive:
    case WaitMode::eventfd:
      // seq_cst store, then the sleeper check: see the Dekker note in the header.
      seq_word.store(seq, std::memory_order_seq_cst);
      wake_if_waiting(ring_->data_waiting, ring_->data_epoch,
                      wait == WaitMode::eventfd ? fds_.data : -1);
      return;
  }
}

Consumer::Consumer(RingControl* ring, EventFds fds) noexcept
    : ring_(ring),
      fds_(fds),
      slots_(reinterpret_cast<std::byte*>(ring) + offsetof(RingControl, slots_begin)),
      slot_bytes_(ring->slot_bytes),
      max_msg_bytes_(ring->max_msg_bytes),
      slot_count_(ring->slot_count),
      // Spin mode publishes head once per quarter ring: the producer reads head only
      // when its cached copy says full, and each publish moves the line back to this
      // core. Measured here (three alternating runs each, capacity 16): 64 B stream
      // 20.4-22.6 M -> 29.2-31.9 M msgs/s; 64 B pingpong and 4 KiB stream unchanged.
      // Safe: once the consumer drains the ring, at most head_batch_ - 1 < capacity
      // releases are unpublished, so a producer waiting for space always sees some.
      head_batch_(std::max<std::uint32_t>(1, ring->slot_count / 4)),
      until_publish_(head_batch_) {}

// The published slot's payload. The length comes from the peer: checked against the
// slot size, never trusted.
std::span<const std::byte> Consumer::view() {
  const SlotHeader* s = slot();
  const std::uint32_t len = s->len;
  if (len > max_msg_bytes_) {
    throw PeerError("shm_ring: slot length " + std::to_string(len) + " exceeds the " +
                    std::to_string(max_msg_bytes_) + "-byte slot (corrupt peer?)");
  }
  return {reinterpret_cast<const std::byte*>(s + 1), len};
}

std::span<const std::byte> Consumer::peek(WaitMode wait) {
  if (wait == WaitMode::spin) {
    SlotHeader* s = slot();
    const auto want = static_cast<std::uint32_t>(head_ + 1);
    // acquire: pairs with the producer's publish of seq.
    while (s->seq.load(std::memory_order_acquire) != want) cpu_relax();
  } else {
    wait_for_data(wait);
  }
  return view();
}

void Consumer::release(WaitMode wait) noexcept {
  ++head_;
  slot_ = slot_ + 1 == slot_count_ ? 0 : slot_ + 1;
  if (wait == WaitMode::spin) {
    // release: the reads of the slot are done before the producer may reuse it. Only
    // every head_batch_-th release is published (see the constructor).
    if (--until_publish_ == 0) {
      ring_->head.store(head_, std::memory_order_release);
      until_publish_ = head_batch_;
    }
  } else {
    release_waiting(wait);
  }
}

bool Consumer::try_recv(std::span<std::byte> buf, std::size_t& len) {
  // acquire: pairs with the producer's publish of seq.
  if (slot()->seq.load(std::memory_order_acquire) != static_cast<std::uint32_t>(head_ + 1)) {
    return false;
  }
  len = recv(buf, WaitMode::spin);  // the message is there: recv does not wait
  return true;
}

std::size_t Consumer::recv(std::span<std::byte> buf, WaitMode wait) {
  const std::span<const std::byte> msg = peek(wait);
  if (msg.size() > buf.size()) {
    throw PeerError("shm_ring: slot length " + std::to_string(msg.size()) + " exceeds the " +
                    std::to_string(buf.size()) + "-byte buffer (corrupt peer?)");
  }
  std::memcpy(buf.data(), msg.data(), msg.size());
  release(wait);
  return msg.size();
}

// Every mode but spin: wait until the next slot is published.
void Consumer::wait_for_data(WaitMode wait) {
  SlotHeader* s = slot();
  const auto want = static_cast<std::uint32_t>(head_ + 1);
  // acquire: pairs with the producer's publish of seq.
  auto ready = [s, want] { return s->seq.load(std::memory_order_acquire) == want; };
  if (wait == WaitMode::sem) {
    sem_acquire(ring_->data_sem);
    // The post came after the publish, so the slot must be ready: anything else is a
    // peer that broke the protocol.
    if (!ready())
      throw PeerError(
          "shm_ring: data semaphore posted but the slot is not published (corrupt peer?)");
    return;
  }
  if (ready()) return;
  if (wait == WaitMode::spin_yield) {
    while (!ready()) ::sched_yield();
    return;
  }
  if (wait == WaitMode::adaptive && poll_briefly(ready)) return;
  sleep_until(ring_->data_waiting, ring_->data_epoch, wait == WaitMode::eventfd ? fds_.data : -1,
              [s, want] { return s->seq.load(std::memory_order_seq_cst) == want; });
}

// Every mode but spin: hand the slot just read back to the producer, waking it if it
// sleeps.
void Consumer::release_waiting(WaitMode wait) noexcept {
  switch (wait) {
    case WaitMode::spin:
    case WaitMode::spin_yield:
    case WaitMode::sqpoll:  // io_uring's, not the ring's: never planned here
      // release: the copy out is done before the producer may reuse the slot.
      ring_->head.store(head_, std::memory_order_release);
      return;
    case WaitMode::sem:
      // head still moves (the producer's try_send and full() read it); the post is
      // what a sem producer waits on.
      ring_->head.store(head_, std::memory_order_release);
      ::sem_post(&ring_->space_sem);
      return;
    case WaitMode::block:
    case WaitMode::adaptive:
    case WaitMode::eventfd:
      ring_->head.store(head_, std::memory_order_seq_cst);
      wake_if_waiting(ring_->space_waiting, ring_->space_epoch,
                      wait == WaitMode::eventfd ? fds_.space : -1);
      return;
  }
}

}  // namespace ring

namespace {

// eventfd mode: the two eventfds of each ring (a -> b, then b -> a for pingpong).
// EFD_CLOEXEC is harmless: children are forked, never exec'd. Blocking, so that a
// sleeper's read() sleeps.
struct RingEventFds {
  UniqueFd data, space;
  ring::EventFds view() const noexcept { return {data.get(), space.get()}; }
};

RingEventFds make_eventfds() {
  RingEventFds fds;
  fds.data = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!fds.data) throw SysError("eventfd", "shm_ring data");
  fds.space = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!fds.space) throw SysError("eventfd", "shm_ring space");
  return fds;
}

class ShmRingEndpoint final : public Endpoint {
 public:
  // `base` stays mapped for the child's life (the channel owns the region); so do
  // the eventfds in `fds` (the child inherited them and never closes them).
  ShmRingEndpoint(std::byte* base, std::size_t ring_stride, Pattern pattern, Side side,
                  WaitMode wait, const ring::EventFds (&fds)[2])
      : wait_(wait) {
    ring::RingControl* ab = ring::attach_ring(base);
    ring::RingControl* ba =
        pattern == Pattern::pingpong ? ring::attach_ring(base + ring_stride) : nullptr;
    ring::RingControl* tx = side == Side::a ? ab : ba;
    ring::RingControl* rx = side == Side::a ? ba : ab;
    const ring::EventFds& tx_fds = side == Side::a ? fds[0] : fds[1];
    const ring::EventFds& rx_fds = side == Side::a ? fds[1] : fds[0];
    if (tx != nullptr) tx_.emplace(tx, tx_fds);
    if (rx != nullptr) rx_.emplace(rx, rx_fds);
  }
  void send(std::span<const std::byte> msg) override { tx_->send(msg, wait_); }
  std::size_t recv(std::span<std::byte> buf) override { return rx_->recv(buf, wait_); }
  std::span<std::byte> loan() override { return tx_->claim(wait_); }
  void publish(std::size_t bytes) override { tx_->commit(bytes, wait_); }
  std::span<const std::byte> peek() override { return rx_->peek(wait_); }
  void release() override { rx_->release(wait_); }

 private:
  WaitMode wait_;
  std::optional<ring::Producer> tx_;
  std::optional<ring::Consumer> rx_;
};

class ShmRingChannel final : public Channel {
 public:
  explicit ShmRingChannel(const ChannelConfig& cfg) : cfg_(cfg) {
    if (cfg.capacity_msgs > UINT32_MAX) throw NotRunnable("shm_ring: capacity exceeds 2^32 slots");
    const auto slots = static_cast<std::uint32_t>(cfg.capacity_msgs);
    ring_stride_ = ring::ring_bytes(slots, cfg.msg_bytes);
    const int rings = cfg.pattern == Pattern::pingpong ? 2 : 1;
    const std::size_t total_bytes = ring_stride_ * static_cast<std::size_t>(rings);
    region_.emplace(cfg.backing, total_bytes, [&](std::byte* base) {
      ring::init_ring(base, slots, cfg.msg_bytes);
      if (cfg.pattern == Pattern::pingpong)
        ring::init_ring(base + ring_stride_, slots, cfg.msg_bytes);
    });
    if (cfg.wait == WaitMode::eventfd) {
      for (int i = 0; i < rings; ++i) eventfds_[i] = make_eventfds();
    }
    granted_.capacity_msgs = slots;
    granted_.capacity_bytes = ring_stride_;
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    const ring::EventFds fds[2] = {eventfds_[0].view(), eventfds_[1].view()};
    return std::make_unique<ShmRingEndpoint>(region_->attach(), ring_stride_, cfg_.pattern, side,
                                             cfg_.wait, fds);
  }

  void forked() override {
    region_->release();
    for (RingEventFds& e : eventfds_) e = RingEventFds{};
  }

 private:
  ChannelConfig cfg_;
  std::size_t ring_stride_ = 0;
  std::optional<SharedRegion> region_;
  RingEventFds eventfds_[2];  // eventfd mode; [1] for pingpong only
};

}  // namespace

namespace {
constexpr std::string_view kRingKnob = "ring slots = capacity (each slot holds one whole message)";
constexpr WaitModes kRingWaits{WaitMode::block,    WaitMode::spin,    WaitMode::spin_yield,
                               WaitMode::adaptive, WaitMode::eventfd, WaitMode::sem};
}  // namespace

const Mechanism kShmRing{
    .name = "shm_ring",
    .summary = "lock-free SPSC ring in shared memory (seq-in-slot, futex for block; --backing)",
    .capacity_knob = kRingKnob,
    .order = 100,
    .family = kFamilySharedMemory,
    .waits = kRingWaits,
    .uses_backing = true,
    .create = create_channel<ShmRingChannel>,
};
const Registration kShmRingRegistration{kShmRing};

// The same ring, used in place: the sender writes each message straight into its slot
// and the receiver verifies it there, so neither side copies through the channel. Its
// transport is shm_ring, the same ring with the copies: x_transport is then what
// skipping them is worth.
const Mechanism kShmRingZc{
    .name = "shm_ring_zc",
    .summary =
        "shm_ring, zero-copy: messages written and read in their slots (loan/publish, "
        "peek/release)",
    .capacity_knob = kRingKnob,
    .order = 110,
    .family = kFamilySharedMemory,
    .transport = "shm_ring",
    .waits = kRingWaits,
    .uses_backing = true,
    .zero_copy = true,
    .create = create_channel<ShmRingChannel>,
};
const Registration kShmRingZcRegistration{kShmRingZc};

}  // namespace ipcbench
