// shm_mpsc: a bounded lock-free multi-producer, single-consumer queue in shared memory,
// for fan-in: any number of producer processes open side a of one channel and send at
// once; one consumer opens side b. Stream and fanin only (no pingpong).
//
// The queue, what it guarantees, its cost, how it waits (block: futex; spin) and what a
// producer killed mid-send does: shm_mpsc.hpp.
// Capacity: slots = capacity, exactly (as shm_ring); each slot holds one whole message.
// Backing, names, cleanup: as shm_ring (harness/shared_region.hpp): the region is
// created owner-only and nameless before create() returns.
// Timed: the claim, the copy into the slot, the publish, the poll or futex wait, the
// copy out.
#include "mechanisms/shm_mpsc.hpp"

#include <optional>

#include "harness/error.hpp"
#include "harness/registry.hpp"
#include "harness/shared_region.hpp"

namespace ipcbench {
namespace {

using mpsc::Consumer;
using mpsc::Producer;

class ShmMpscEndpoint final : public Endpoint {
 public:
  ShmMpscEndpoint(std::byte* base, Side side, WaitMode wait) : wait_(wait) {
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
  std::optional<Consumer> rx_;
};

class ShmMpscChannel final : public Channel {
 public:
  explicit ShmMpscChannel(const ChannelConfig& cfg) : wait_(cfg.wait) {
    if (cfg.pattern == Pattern::pingpong)
      throw NotRunnable("shm_mpsc: one-way only (stream, fanin); it has no pingpong");
    if (cfg.capacity_msgs > UINT32_MAX) throw NotRunnable("shm_mpsc: capacity exceeds 2^32 slots");
    const auto slots = static_cast<std::uint32_t>(cfg.capacity_msgs);
    const std::size_t bytes = mpsc::queue_bytes(slots, cfg.msg_bytes);
    region_.emplace(cfg.backing, bytes,
                    [&](std::byte* base) { mpsc::init_queue(base, slots, cfg.msg_bytes); });
    granted_.capacity_msgs = slots;
    granted_.capacity_bytes = bytes;
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    return std::make_unique<ShmMpscEndpoint>(region_->attach(), side, wait_);
  }

  void forked() override { region_->release(); }

 private:
  WaitMode wait_;
  std::optional<SharedRegion> region_;
};

}  // namespace

const Mechanism kShmMpsc{
    .name = "shm_mpsc",
    .summary =
        "lock-free bounded multi-producer queue in shared memory (Vyukov: CAS on tail, "
        "seq per slot; futex for block; --backing)",
    .capacity_knob = "queue slots = capacity, exactly (each slot holds one whole message)",
    .order = 160,
    .family = kFamilySharedMemory,
    .pingpong = false,
    .uses_backing = true,
    .many_writers = true,
    .create = create_channel<ShmMpscChannel>,
};
const Registration kShmMpscRegistration{kShmMpsc};

}  // namespace ipcbench
