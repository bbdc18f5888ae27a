#pragma once
// The three patterns, as the code each child runs, and the memory the pair shares with
// the orchestrator. Internal to the harness (pair.cpp and tests).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <span>

#include "harness/cacheline.hpp"
#include "harness/channel.hpp"
#include "harness/histogram.hpp"
#include "harness/message.hpp"
#include "harness/pair.hpp"
#include "harness/rendezvous.hpp"

namespace ipcbench {

// Side a decides how many messages to measure once the warm-up showed its pace, and
// publishes the plan before it sends message `measure_from`, so side b reads it
// (acquire on `total`) no later than when that message arrives.
struct Plan {
  std::atomic<std::uint64_t> measure_from{UINT64_MAX};
  std::atomic<std::uint64_t> stamp_stride{0};
  std::atomic<std::uint64_t> total{UINT64_MAX};  // warm-up + measured; written last
};

// Pingpong also times round trips in batches, as the cache-line floor is timed: an
// ordered clock read right after a spin loop's exit costs far more than a clock read
// in isolation (here ~90 ns of a ~125 ns round trip), so single-trip times of spinning
// transports carry the clock; batch means do not. After the `measured` single trips
// come batch_count(measured) batches of kBatchTrips: a quarter as many trips again,
// at least 8 batches.
inline constexpr std::uint64_t kBatchTrips = 16;
constexpr std::uint64_t batch_count(std::uint64_t measured) noexcept {
  return std::max<std::uint64_t>(8, measured / (4 * kBatchTrips));
}

struct SideReport {
  std::atomic<int> state{0};  // 0 running, 1 done, 2 failed
  char error[240] = {};
  VerifyCounts verify;
  Histogram latency_ns;
  // Pingpong client: mean round trip of each batch of kBatchTrips.
  Histogram batched_rtt_ns;
  std::uint64_t measured_msgs = 0;
  std::uint64_t measured_ns = 0;
  // Stream consumer: its first and last measured receipt (CLOCK_MONOTONIC, which all
  // processes share): a fan-out's window runs from the earliest first to the latest last.
  std::uint64_t first_ns = 0;
  std::uint64_t last_ns = 0;
  // Stream consumer: time spent verifying, measured on the latency-sampled messages.
  std::uint64_t verify_samples = 0;
  std::uint64_t verify_ns = 0;
  CpuUse cpu;  // over this side's measured window (PairResult::cpu)
  // Rate producer: lag of each measured send behind its intended time.
  std::uint64_t late_sends = 0;
  std::uint64_t max_send_lag_ns = 0;
  std::uint64_t send_lag_ns_sum = 0;
};

struct PairShared {
  std::atomic<std::uint32_t> arrived{0};  // start barrier (futex word)
  // Stream consumer: set once it has received the final message (or a repeat of it).
  // The producer leaves only then (futex word; wait_for_consumer in patterns.cpp).
  std::atomic<std::uint32_t> consumer_done{0};
  // Pingpong client: set once it has its last reply. The server leaves only then: a
  // transport may still be finishing the client's last send after the server has all
  // it needs (libtirpc writes a call's end-of-record mark last), and a server that
  // closes first would break it.
  std::atomic<std::uint32_t> client_done{0};
  alignas(kCacheLineSeparation) Plan plan;
  alignas(kCacheLineSeparation) SideReport side[2];
  Rendezvous rendezvous;  // capacity 0 only (harness/rendezvous.hpp)
};

// The start barrier of `parties` processes: returns once all have arrived.
void arrive_and_wait(std::atomic<std::uint32_t>& arrived, std::uint32_t parties);

// Runs side `side` of spec's pattern over `ep`, filling shared.side[side].
void run_side(Side side, Endpoint& ep, const PairSpec& spec, PairShared& shared);

// A fan-in message
// carries its producer in the top byte of its 32-bit sequence number (the low 24 bits
// count its messages, so a fan-in producer sends fewer than 2^24).
inline constexpr int kFaninTagShift = 24;
constexpr std::uint64_t fanin_first_seq(unsigned producer) noexcept {
  return std::uint64_t{producer} << kFaninTagShift;
}

// The memory a fan-out or fan-in group shares with the orchestrator. Members: the
// producers first (one for fan-out), then the consumers (one for fan-in).
struct FanShared {
  std::atomic<std::uint32_t> arrived{0};  // start barrier of every member (futex word)
  // Consumers that have received their last message (futex word): the producers
  // leave only once it reaches the count of consumers (wait_for_consumer).
  std::atomic<std::uint32_t> consumers_done{0};
  alignas(kCacheLineSeparation) Plan plans[kMaxFan];  // fan-out: [0]; fan-in: one a producer
  alignas(kCacheLineSeparation) SideReport members[kMaxFan + 1];
  Rendezvous rendezvous;  // fan-out at capacity 0 only (harness/rendezvous.hpp)
};

// Fan-out: the producer sends every message down each of `eps` (one broadcast
// channel, or one channel per consumer), and each consumer receives all of them.
void run_fanout_producer(std::span<Endpoint* const> eps, const PairSpec& spec, FanShared& shared);
void run_fanout_consumer(unsigned consumer, Endpoint& ep, const PairSpec& spec, FanShared& shared);
// Fan-in: producer `producer` of config.producers sends its own sequence (tagged);
// the consumer checks every producer's sequence.
void run_fanin_producer(unsigned producer, Endpoint& ep, const PairSpec& spec, FanShared& shared);
void run_fanin_consumer(Endpoint& ep, const PairSpec& spec, FanShared& shared);

// Compete: one producer, config.consumers consumers taking its messages from one
// channel, each message going to one of them. The producer sends the warm-up and the
// measured messages (plans[0]), then one end marker per consumer: messages numbered
// from plans[0].total on. A consumer stops at its first end marker, so the N markers
// reach N different consumers, each after every message before it was taken.
// Each consumer records the sequence numbers it took (warm-up and measured, below
// plans[0].total) in its own ledger, a bitmap in memory shared with the orchestrator,
// which then checks that every number was taken exactly once (check_ledgers).
// Sequence numbers fit the ledger: the producer sends at most ledger bits' messages.
struct Ledger {
  std::uint64_t* words = nullptr;
  std::uint64_t bits = 0;  // sequence numbers 0 .. bits - 1
};
// Ledger bits for each of `consumers`: the case's messages at most (the bitmaps of a
// case take kCompeteLedgerBytes together, each at most kCompeteMaxMsgs bits).
inline constexpr std::uint64_t kCompeteLedgerBytes = std::uint64_t{32} << 20;
inline constexpr std::uint64_t kCompeteMaxMsgs = std::uint64_t{1} << 25;
constexpr std::uint64_t compete_ledger_bits(unsigned consumers) noexcept {
  return std::min(kCompeteMaxMsgs, kCompeteLedgerBytes * 8 / std::max(consumers, 1u)) / 64 * 64;
}
void run_compete_producer(Endpoint& ep, const PairSpec& spec, FanShared& shared,
                          std::uint64_t ledger_bits);
void run_compete_consumer(unsigned consumer, Endpoint& ep, const PairSpec& spec, FanShared& shared,
                          Ledger ledger);
// After the case: every sequence number below `total` taken by no consumer counts as
// lost, every one taken by more than one as duplicated (once per extra taker).
VerifyCounts check_ledgers(std::span<const Ledger> ledgers, std::uint64_t total) noexcept;

}  // namespace ipcbench
