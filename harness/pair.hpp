#pragma once
// Runs one case: a fresh pair of processes connected by one mechanism.
//
// The orchestrating process (the caller) creates the channel, forks side a (pingpong
// client / stream producer) and side b (server / consumer), and then only watches:
// it sleeps in poll() on the children's death pipes until both exit or the deadline passes,
// so it is on no measured path. Each child dies with the orchestrator
// (PR_SET_PDEATHSIG), pins itself to its CPU, opens its end, allocates and touches its
// buffers, meets its peer at a start barrier, warms up, then measures. Results come
// back through an anonymous shared mapping of the orchestrator's own (no name, so
// nothing to leak).
#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include "harness/channel.hpp"
#include "harness/histogram.hpp"
#include "harness/message.hpp"

namespace ipcbench {

struct PairSpec {
  const Mechanism* mechanism = nullptr;
  ChannelConfig config;
  std::array<int, 2> cpus{-1, -1};  // CPU of side a and side b; -1: not pinned
  // Measured time to aim for. The message count is chosen after the warm-up from its
  // pace, so every mechanism gets about the same time whatever its speed.
  double target_seconds = 0.2;
  // > 0: exactly this many measured messages (after a fixed warm-up), no adaptation.
  std::uint64_t fixed_msgs = 0;
  bool verify = true;           // checksum every payload (sequence is always checked)
  double timeout_seconds = 30;  // the watchdog's deadline for the whole case
  double timer_cost_ns = 25;    // sets how sparsely stream latency is sampled
  std::uint64_t seed = 1;       // payload content
  // Pattern::rate only: the producer's schedule, messages per second (> 0).
  std::uint64_t offered_msgs_per_s = 0;
  // --pairs: this many independent pairs of the pattern run at once, each over its own
  // channel (harness/group.hpp). Fan-out and fan-in take their counts from
  // config.consumers and config.producers.
  unsigned pairs = 1;
};

enum class Outcome { ok, not_runnable, failed, interrupted };

// CPU time one side spent over its measured window, and the messages in that window
// (pingpong: round trips). getrusage's user/system split is tick-sampled on most
// kernels (the exact total is divided by tick counts), so only the sum is precise.
struct CpuUse {
  std::uint64_t user_ns = 0;
  std::uint64_t sys_ns = 0;
  std::uint64_t msgs = 0;
  // Context switches in the window (getrusage's nvcsw, nivcsw): the side slept, or
  // another task took its CPU. Not emitted; they let a test tell a spinner that
  // was preempted (CPU time below wall time) from one that slept.
  std::uint64_t voluntary_switches = 0;
  std::uint64_t involuntary_switches = 0;
  // (user + system) per message; NaN when the window holds no message.
  double ns_per_msg() const noexcept {
    return msgs == 0 ? NAN : static_cast<double>(user_ns + sys_ns) / static_cast<double>(msgs);
  }
  double sys_ns_per_msg() const noexcept {
    return msgs == 0 ? NAN : static_cast<double>(sys_ns) / static_cast<double>(msgs);
  }
};

struct PairResult {
  Outcome outcome = Outcome::failed;
  std::string message;  // why, when not ok
  Granted granted;
  // pingpong: round-trip times of every measured exchange; stream: one-way latency of
  // every stamp_stride-th measured message (empty when messages are under 8 bytes).
  Histogram latency_ns;
  // pingpong: the mean round trip of each batch of 16 exchanges timed together (no
  // clock read inside the batch, as the cache-line floor is timed).
  Histogram batched_rtt_ns;
  std::uint64_t measured_msgs = 0;  // pingpong: round trips; stream: messages
  double measured_seconds = 0;      // pingpong: sum of round trips; stream: first to last receipt
  std::uint64_t stamp_stride = 0;   // stream: 1 in N messages carries a timestamp (0: none)
  VerifyCounts verify;              // both sides' receivers
  // Stream: mean time the consumer spent verifying one message (measured on a sample
  // of messages); 0 for pingpong, where verification is off the timed path.
  double verify_ns_per_msg = 0;
  // [0] side a (pingpong client, stream producer): its measured loop. [1] side b
  // (server, consumer): from its first measured receipt to its last, so its window
  // holds one message fewer than side a's.
  std::array<CpuUse, 2> cpu;
  // Rate: how far the producer's measured sends started after their intended times.
  std::uint64_t sent_msgs = 0;   // measured sends
  std::uint64_t late_sends = 0;  // of them, started more than kLateSendNs late
  std::uint64_t max_send_lag_ns = 0;
  double mean_send_lag_ns = 0;
  // A group (fan-out, fan-in, --pairs; harness/group.hpp). For a group, latency_ns
  // holds every consumer's (every pair's) samples, measured_msgs / measured_seconds
  // give the aggregate rate, and cpu[0] / cpu[1] sum the producers' / consumers' (the
  // clients' / servers').
  unsigned processes = 2;
  // More processes than the CPUs this run may use: they took turns on them.
  bool oversubscribed = false;
  // Fan-out over one broadcast channel, rather than a copy down each consumer's own.
  bool broadcast = false;
  // The p99 of the slowest consumer (fan-out) or pair (--pairs), in the histogram's
  // units (a pingpong's round trips); 0 when not a group.
  double slowest_p99_ns = 0;
  // Compete: the fewest and the most of the measured messages one consumer took, as
  // fractions of all of them (1/N each when the consumers shared the work evenly).
  double share_min = 0;
  double share_max = 0;
};

// Rate: a send that starts more than this after its intended time counts as late.
// Well above what the schedule loop itself costs (a clock read, tens of ns).
inline constexpr std::uint64_t kLateSendNs = 1'000;

PairResult run_pair(const PairSpec& spec);

// Ctrl-C and SIGTERM: the handlers set a flag and wake run_pair, which kills the
// running pair; later cases see interrupted() and do not start.
void install_interrupt_handlers();
bool interrupted() noexcept;

}  // namespace ipcbench
