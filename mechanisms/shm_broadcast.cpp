// shm_broadcast: one writer, N readers over one ring in shared memory; every reader
// receives every message, in order (Mechanism::broadcast).
//
// Design (shm_ring.hpp's ring, with one read cursor per consumer):
// - Slots are shm_ring's: a {seq, len} header and up to max_msg_bytes of payload,
//   whole cache lines each. The producer writes message i into slot i % slots and
//   publishes it by storing seq = i + 1 (release); every consumer polls that word
//   (acquire), so all N read the same published copy and nothing is written per reader.
// - Each consumer publishes its own cursor (messages it has consumed) on a line of its
//   own, kCacheLineSeparation apart, so readers never write a line another reads.
//   A consumer claims its cursor in open(Side::b) with a fetch_add on a shared
//   counter: the orchestrator passes no index, and a claim past ChannelConfig::
//   consumers is refused.
// - The producer may write message t only when every cursor has passed t - slots
//   (the slowest reader has read the message the slot last held). Reading N cursors
//   costs N cache-line transfers, so the producer keeps the minimum it last saw and
//   rescans only when that minimum says the ring is full: in steady state it reads no
//   reader's line at all, and one rescan frees as many slots as the slowest reader
//   has consumed since.
// - Spin mode: a consumer publishes its cursor once per quarter ring, as shm_ring's
//   consumer does (the same measurement and the same proof that a waiting producer
//   always sees progress).
// - Block mode: futexes, with shm_ring's flag protocol (mechanisms/shm_wait.hpp). A
//   side that publishes reads the other side's waiting flag, a line only sleepers
//   write: while nobody sleeps that load hits the publisher's own cache and no system
//   call is made. Consumers may sleep together on one data flag, so only the producer
//   clears it (Sleepers::many), with one futex_wake_all per sleep round. The producer
//   sleeps alone on the space flag, having written which cursor value it waits for;
//   a consumer that finds the flag raised wakes it only once every cursor has got
//   there, so the slowest reader's release wakes it and the others' do not.
// Capacity: ring slots = capacity, each one whole message (as shm_ring); the region
// holds the slots once, whatever the number of readers.
// Names, backing and clean-up: shm_ring's (harness/shared_region.hpp): the region has
// no name once create() returns; each child maps what fork gave it.
// Timed: the copy into the slot, the publish, the poll or futex wait, the copy out.
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <new>
#include <optional>

#include "harness/cacheline.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/registry.hpp"
#include "harness/shared_region.hpp"
#include "mechanisms/shm_ring.hpp"
#include "mechanisms/shm_wait.hpp"

namespace ipcbench {
namespace {

using ring::SlotHeader;
constexpr std::size_t kSeparation = kCacheLineSeparation;
constexpr std::uint64_t kMagic = 0x74736362'63706269ull;  // "ibpcbcst"
constexpr std::uint32_t kVersion = 2;

struct BroadcastControl {
  // Immutable after format().
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t slot_count;
  std::uint64_t slot_bytes;
  std::uint64_t max_msg_bytes;
  std::uint32_t consumers;
  // open(Side::b) claims cursor next_cursor++ (once per consumer, before the start).
  std::atomic<std::uint32_t> next_cursor;
  // Consumers sleep here waiting for data (block): any number of them.
  alignas(kSeparation) std::atomic<std::uint32_t> data_epoch;
  std::atomic<std::uint32_t> data_waiting;
  // The producer sleeps here waiting for space (block): one sleeper, waiting until
  // every cursor has reached space_wanted (written before it raises the flag).
  alignas(kSeparation) std::atomic<std::uint32_t> space_epoch;
  std::atomic<std::uint32_t> space_waiting;
  std::atomic<std::uint64_t> space_wanted;
};
// One consumer's published progress: messages it has consumed. A line of its own.
struct alignas(kSeparation) Cursor {
  std::atomic<std::uint64_t> head;
};
static_assert(std::is_standard_layout_v<BroadcastControl>);
static_assert(sizeof(BroadcastControl) % kSeparation == 0 && sizeof(Cursor) == kSeparation);

// The region: the control block, `consumers` cursors, the slots, and a separation's
// padding so that the last slot shares no line pair with whatever follows.
struct Layout {
  std::uint32_t slot_count;
  std::uint32_t consumers;
  std::size_t max_msg_bytes;
  std::size_t cursors_offset() const noexcept { return sizeof(BroadcastControl); }
  std::size_t slots_offset() const noexcept {
    return cursors_offset() + std::size_t{consumers} * sizeof(Cursor);
  }
  std::size_t bytes() const noexcept {
    return slots_offset() + std::size_t{slot_count} * ring::slot_bytes_for(max_msg_bytes) +
           kSeparation;
  }
};

// Orchestrator, before fork: formats the ring in the region's zeroed memory.
void format(std::byte* base, const Layout& layout) noexcept {
  auto* c = new (base) BroadcastControl{};
  c->magic = kMagic;
  c->version = kVersion;
  c->slot_count = layout.slot_count;
  c->slot_bytes = ring::slot_bytes_for(layout.max_msg_bytes);
  c->max_msg_bytes = layout.max_msg_bytes;
  c->consumers = layout.consumers;
  for (std::uint32_t i = 0; i < layout.consumers; ++i)
    new (base + layout.cursors_offset() + i * sizeof(Cursor)) Cursor{};
  std::byte* slots = base + layout.slots_offset();
  for (std::uint32_t i = 0; i < layout.slot_count; ++i)
    new (slots + std::uint64_t{i} * c->slot_bytes) SlotHeader{};
}

// What both sides read from the formatted region (a child, after attach).
struct View {
  BroadcastControl* control;
  Cursor* cursors;
  std::byte* slots;
  std::uint64_t slot_bytes;
  std::uint64_t max_msg_bytes;
  std::uint32_t slot_count;
  std::uint32_t consumers;

  // `region_bytes`: the mapping's size. The layout comes from the shared block, so it
  // is checked against that before anything is read through it.
  View(std::byte* base, std::size_t region_bytes)
      : control(reinterpret_cast<BroadcastControl*>(base)) {
    if (control->magic != kMagic || control->version != kVersion)
      throw PeerError("shm_broadcast: mapping has a bad magic or version");
    slot_count = control->slot_count;
    consumers = control->consumers;
    const Layout layout{slot_count, consumers, control->max_msg_bytes};
    if (layout.bytes() > region_bytes ||
        control->slot_bytes != ring::slot_bytes_for(control->max_msg_bytes))
      throw PeerError("shm_broadcast: the ring's layout does not fit its mapping (corrupt peer?)");
    cursors = reinterpret_cast<Cursor*>(base + layout.cursors_offset());
    slots = base + layout.slots_offset();
    slot_bytes = control->slot_bytes;
    max_msg_bytes = control->max_msg_bytes;
  }
  SlotHeader* slot(std::uint32_t i) const noexcept {
    return reinterpret_cast<SlotHeader*>(slots + std::uint64_t{i} * slot_bytes);
  }
};

// Producer process only.
class Producer {
 public:
  Producer(const View& v, WaitMode wait) noexcept : v_(v), wait_(wait) {}

  void send(std::span<const std::byte> msg) {
    if (wait_ == WaitMode::spin) {
      while (full(std::memory_order_acquire)) cpu_relax();
    } else if (full(std::memory_order_acquire)) {
      // The cursor value that frees the slot, for the consumers to compare with: it
      // reaches them with the flag (relaxed here, published by the flag's seq_cst store).
      v_.control->space_wanted.store(tail_ - v_.slot_count + 1, std::memory_order_relaxed);
      ring::sleep_until(v_.control->space_waiting, v_.control->space_epoch, -1,
                        [this] { return !full(std::memory_order_seq_cst); });
    }
    SlotHeader* s = v_.slot(slot_);
    std::memcpy(reinterpret_cast<std::byte*>(s + 1), msg.data(), msg.size());
    s->len = static_cast<std::uint32_t>(msg.size());
    const auto seq = static_cast<std::uint32_t>(tail_ + 1);
    if (wait_ == WaitMode::spin) {
      // release: len and payload are visible before a consumer sees seq.
      s->seq.store(seq, std::memory_order_release);
    } else {
      // seq_cst store, then the sleeper check (the Dekker note in shm_ring.hpp).
      s->seq.store(seq, std::memory_order_seq_cst);
      ring::wake_if_waiting(v_.control->data_waiting, v_.control->data_epoch, -1);
    }
    ring::demote_published_slot(s, msg.size());
    ++tail_;
    slot_ = slot_ + 1 == v_.slot_count ? 0 : slot_ + 1;
  }

 private:
  // True while the slowest reader still needs the slot of message tail_. Rescans the
  // cursors only when the cached minimum says full (the header says why). `order`:
  // acquire (a reader's copy out is done before its cursor moved) or seq_cst (the
  // re-check of a sleeper, ordered against the consumers' flag loads).
  bool full(std::memory_order order) noexcept {
    if (tail_ - cached_min_head_ < v_.slot_count) return false;
    std::uint64_t min_head = UINT64_MAX;
    for (std::uint32_t i = 0; i < v_.consumers; ++i)
      min_head = std::min(min_head, v_.cursors[i].head.load(order));
    cached_min_head_ = min_head;
    return tail_ - cached_min_head_ >= v_.slot_count;
  }

  View v_;
  WaitMode wait_;
  std::uint32_t slot_ = 0;             // slot of the next message
  std::uint64_t tail_ = 0;             // messages sent
  std::uint64_t cached_min_head_ = 0;  // slowest cursor last seen; rescanned only when full
};

// Consumer, block: wakes a sleeping producer, but only once the slowest cursor has
// freed the slot it waits for; a release that leaves another reader behind would only
// wake it to sleep again. Scanning the cursors costs N loads and happens only while the
// producer sleeps. No wake is lost: the release that frees the slot is, in the seq_cst
// order, after the producer's flag store (else its re-check would have seen the slot
// free) and after every other needed cursor store, so this consumer sees the flag
// raised and every cursor at or past space_wanted. Measured on the 2-vCPU VM (fan-out
// to 3 consumers, 64 B, capacity 16, perf's count of futex calls, three runs each):
// 1.4-1.75 futex calls per message when every release woke it, 0.7-1.0 with this.
void wake_producer_if_free(const View& v) noexcept {
  BroadcastControl& c = *v.control;
  if (c.space_waiting.load(std::memory_order_seq_cst) == 0) return;
  const std::uint64_t wanted = c.space_wanted.load(std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < v.consumers; ++i) {
    if (v.cursors[i].head.load(std::memory_order_seq_cst) < wanted) return;
  }
  ring::wake_if_waiting(c.space_waiting, c.space_epoch, -1);
}

// Consumer process only.
class Consumer {
 public:
  Consumer(const View& v, WaitMode wait)
      : v_(v),
        wait_(wait),
        // Spin: publish the cursor once per quarter ring (shm_ring's Consumer says why
        // and why a waiting producer still always sees progress).
        head_batch_(wait == WaitMode::spin ? std::max<std::uint32_t>(1, v.slot_count / 4) : 1),
        until_publish_(head_batch_) {
    const std::uint32_t index = v.control->next_cursor.fetch_add(1, std::memory_order_relaxed);
    if (index >= v.consumers) {
      throw PeerError("shm_broadcast: more consumers opened the channel than the " +
                      std::to_string(v.consumers) + " it was made for");
    }
    cursor_ = &v.cursors[index];
  }

  std::size_t recv(std::span<std::byte> buf) {
    SlotHeader* s = v_.slot(slot_);
    const auto want = static_cast<std::uint32_t>(head_ + 1);
    // acquire: pairs with the producer's publish of seq.
    auto ready = [s, want] { return s->seq.load(std::memory_order_acquire) == want; };
    if (wait_ == WaitMode::spin) {
      while (!ready()) cpu_relax();
    } else if (!ready()) {
      ring::sleep_until(
          v_.control->data_waiting, v_.control->data_epoch, -1,
          [s, want] { return s->seq.load(std::memory_order_seq_cst) == want; },
          ring::Sleepers::many);
    }
    // The length comes from the peer: checked, never trusted.
    const std::uint32_t len = s->len;
    if (len > buf.size()) {
      throw PeerError("shm_broadcast: slot length " + std::to_string(len) + " exceeds the " +
                      std::to_string(buf.size()) + "-byte buffer (corrupt peer?)");
    }
    std::memcpy(buf.data(), reinterpret_cast<const std::byte*>(s + 1), len);
    release();
    return len;
  }

 private:
  void release() noexcept {
    ++head_;
    slot_ = slot_ + 1 == v_.slot_count ? 0 : slot_ + 1;
    if (--until_publish_ != 0) return;
    until_publish_ = head_batch_;
    if (wait_ == WaitMode::spin) {
      // release: the copy out is done before the producer may reuse the slot.
      cursor_->head.store(head_, std::memory_order_release);
    } else {
      cursor_->head.store(head_, std::memory_order_seq_cst);
      wake_producer_if_free(v_);
    }
  }

  View v_;
  WaitMode wait_;
  Cursor* cursor_ = nullptr;
  std::uint32_t slot_ = 0;
  std::uint64_t head_ = 0;
  std::uint32_t head_batch_;     // publish the cursor every head_batch_ messages
  std::uint32_t until_publish_;  // messages left before the next publish
};

class BroadcastEndpoint final : public Endpoint {
 public:
  BroadcastEndpoint(std::byte* base, std::size_t region_bytes, Side side, WaitMode wait) {
    const View v(base, region_bytes);
    if (side == Side::a) {
      tx_.emplace(v, wait);
    } else {
      rx_.emplace(v, wait);
    }
  }
  void send(std::span<const std::byte> msg) override {
    if (!tx_) throw PeerError("shm_broadcast: a consumer cannot send");
    tx_->send(msg);
  }
  std::size_t recv(std::span<std::byte> buf) override {
    if (!rx_) throw PeerError("shm_broadcast: the producer cannot receive");
    return rx_->recv(buf);
  }

 private:
  std::optional<Producer> tx_;
  std::optional<Consumer> rx_;
};

class BroadcastChannel final : public Channel {
 public:
  explicit BroadcastChannel(const ChannelConfig& cfg) : wait_(cfg.wait) {
    if (cfg.capacity_msgs > UINT32_MAX)
      throw NotRunnable("shm_broadcast: capacity exceeds 2^32 slots");
    if (cfg.consumers == 0) throw NotRunnable("shm_broadcast: a broadcast needs a consumer");
    const Layout layout{static_cast<std::uint32_t>(cfg.capacity_msgs), cfg.consumers,
                        cfg.msg_bytes};
    region_.emplace(cfg.backing, layout.bytes(), [&](std::byte* base) { format(base, layout); });
    granted_.capacity_msgs = layout.slot_count;
    granted_.capacity_bytes = layout.bytes();
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    std::byte* base = region_->attach();
    return std::make_unique<BroadcastEndpoint>(base, region_->size(), side, wait_);
  }
  void forked() override { region_->release(); }

 private:
  WaitMode wait_;
  std::optional<SharedRegion> region_;
};

}  // namespace

const Mechanism kShmBroadcast{
    .name = "shm_broadcast",
    .summary =
        "broadcast ring in shared memory: one writer, a read cursor per consumer, the writer "
        "waits for the slowest (--backing)",
    .capacity_knob = "ring slots = capacity (each slot holds one whole message, read by all)",
    .order = 150,
    .family = kFamilySharedMemory,
    .pingpong = false,
    .uses_backing = true,
    .broadcast = true,
    .create = create_channel<BroadcastChannel>,
};
const Registration kShmBroadcastRegistration{kShmBroadcast};

}  // namespace ipcbench
