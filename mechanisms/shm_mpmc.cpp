// shm_mpmc: a bounded lock-free multi-producer, multi-consumer queue in shared memory,
// for compete: several consumer processes open side b of one channel and take its
// messages, each message going to exactly one of them; any number of producers may
// open side a (fanin) too. Stream, fanin and compete only (no pingpong).
//
// The queue is shm_mpsc's (mechanisms/shm_mpsc.hpp), with consumers that claim their
// positions by CAS on the queue's head as producers do on its tail (Vyukov's MPMC
// queue): what it guarantees, its cost, how it waits (block: futex, any number of
// sleepers on either side; spin) and what a member killed mid-message does are there.
// With one consumer it does what shm_mpsc does, plus a CAS per message on head.
// Capacity: slots = capacity, exactly (as shm_ring); each slot holds one whole message.
// Backing, names, cleanup: as shm_ring (harness/shared_region.hpp): the region is
// created owner-only and nameless before create() returns.
// Timed: the claim, the copy into the slot, the publish, the poll or futex wait, the
// consumer's claim, the copy out.
#include <optional>

#include "harness/error.hpp"
#include "harness/registry.hpp"
#include "harness/shared_region.hpp"
#include "mechanisms/shm_mpsc.hpp"

namespace ipcbench {
namespace {

using mpsc::Producer;
using mpsc::SharedConsumer;

class ShmMpmcEndpoint final : public Endpoint {
 public:
  ShmMpmcEndpoint(std::byte* base, Side side, WaitMode wait) : wait_(wait) {
    if (side == Side::a) {
      tx_.emplace(base);
    } else {
      rx_.emplace(base);
    }
  }
  void send(std::span<const std::byte> msg) override { tx_->send(msg, wait_); }
  std::size_t recv(std::span<std::byte> buf) override { return rx_->recv(buf, wait_); }

 private:
  WaitMode wait_;
  std::optional<Producer> tx_;
  std::optional<SharedConsumer> rx_;
};

class ShmMpmcChannel final : public Channel {
 public:
  explicit ShmMpmcChannel(const ChannelConfig& cfg) : wait_(cfg.wait) {
    if (cfg.pattern == Pattern::pingpong)
      throw NotRunnable("shm_mpmc: one-way only (stream, fanin, compete); it has no pingpong");
    if (cfg.capacity_msgs > UINT32_MAX) throw NotRunnable("shm_mpmc: capacity exceeds 2^32 slots");
    const auto slots = static_cast<std::uint32_t>(cfg.capacity_msgs);
    const std::size_t bytes = mpsc::queue_bytes(slots, cfg.msg_bytes);
    region_.emplace(cfg.backing, bytes,
                    [&](std::byte* base) { mpsc::init_queue(base, slots, cfg.msg_bytes); });
    granted_.capacity_msgs = slots;
    granted_.capacity_bytes = bytes;
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    return std::make_unique<ShmMpmcEndpoint>(region_->attach(), side, wait_);
  }

  void forked() override { region_->release(); }

 private:
  WaitMode wait_;
  std::optional<SharedRegion> region_;
};

}  // namespace

const Mechanism kShmMpmc{
    .name = "shm_mpmc",
    .summary =
        "lock-free bounded multi-producer, multi-consumer queue in shared memory (Vyukov: CAS "
        "on tail and head, seq per slot; futex for block; --backing)",
    .capacity_knob = "queue slots = capacity, exactly (each slot holds one whole message)",
    .order = 165,
    .family = kFamilySharedMemory,
    .pingpong = false,
    .uses_backing = true,
    .many_writers = true,
    .many_readers = true,
    .create = create_channel<ShmMpmcChannel>,
};
const Registration kShmMpmcRegistration{kShmMpmc};

}  // namespace ipcbench
