#pragma once
// The channel and endpoint of shm_mpsc and shm_mpmc: one Vyukov queue
// (mechanisms/shm_mpsc.hpp) in a shared region, producers on side a, consumers on
// side b. The two mechanisms differ only in their consumer: mpsc::Consumer reads the
// positions in order (one consumer), mpsc::SharedConsumer claims each by CAS (several).
// Capacity: slots = capacity, exactly (as shm_ring); each slot holds one whole message.
// Backing, names, cleanup: as shm_ring (harness/shared_region.hpp): the region is
// created owner-only and nameless before create() returns.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "harness/channel.hpp"
#include "harness/error.hpp"
#include "harness/shared_region.hpp"
#include "mechanisms/shm_mpsc.hpp"

namespace ipcbench::mpsc {

template <typename ConsumerT>
class QueueEndpoint final : public Endpoint {
 public:
  QueueEndpoint(std::byte* base, Side side, WaitMode wait) : wait_(wait) {
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
  std::optional<ConsumerT> rx_;
};

// `name` (the mechanism's) prefixes the reasons a configuration is not runnable.
template <typename ConsumerT, const char* name>
class QueueChannel final : public Channel {
 public:
  explicit QueueChannel(const ChannelConfig& cfg) : wait_(cfg.wait) {
    if (cfg.pattern == Pattern::pingpong)
      throw NotRunnable(std::string(name) + ": one-way only; it has no pingpong");
    if (cfg.capacity_msgs > UINT32_MAX)
      throw NotRunnable(std::string(name) + ": capacity exceeds 2^32 slots");
    const auto slots = static_cast<std::uint32_t>(cfg.capacity_msgs);
    const std::size_t bytes = queue_bytes(slots, cfg.msg_bytes);
    region_.emplace(cfg.backing, bytes,
                    [&](std::byte* base) { init_queue(base, slots, cfg.msg_bytes); });
    granted_.capacity_msgs = slots;
    granted_.capacity_bytes = bytes;
  }

  std::unique_ptr<Endpoint> open(Side side) override {
    return std::make_unique<QueueEndpoint<ConsumerT>>(region_->attach(), side, wait_);
  }

  void forked() override { region_->release(); }

 private:
  WaitMode wait_;
  std::optional<SharedRegion> region_;
};

}  // namespace ipcbench::mpsc
