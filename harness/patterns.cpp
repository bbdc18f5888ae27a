#include "harness/patterns.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "harness/clock.hpp"
#include "harness/futex.hpp"

namespace ipcbench {

void arrive_and_wait(std::atomic<std::uint32_t>& arrived, std::uint32_t parties) {
  if (arrived.fetch_add(1, std::memory_order_acq_rel) + 1 == parties) {
    futex_wake_all(arrived);
    return;
  }
  for (std::uint32_t seen; (seen = arrived.load(std::memory_order_acquire)) < parties;)
    futex_wait(arrived, seen);
}

namespace {

constexpr double kWarmupShare = 0.1;  // warm-up time / target time
constexpr std::uint64_t kMinWarmupMsgs = 64;
constexpr std::uint64_t kMinMeasuredMsgs = 100;
constexpr std::uint64_t kMaxMeasuredMsgs = 1'000'000'000;
// Stream latency stamps may cost at most this share of the per-message time.
constexpr double kMaxStampShare = 0.01;

// CPU time this process has used: one getrusage() call, taken only at the edges of
// a measured window. RUSAGE_SELF, not RUSAGE_THREAD: for the caller the kernel first
// adds the run time since the last tick (task_sched_runtime), while RUSAGE_THREAD
// reads the total as of the last tick or context switch, which a spinning side
// reaches only at ticks. Children are single-threaded, so SELF is this thread.
// The total is then exact to the timeval's microsecond; the user/system split is
// sampled at ticks on most kernels (cputime_adjust scales the exact total by tick
// counts), so the system share is indicative, the sum is not.
struct CpuMark {
  std::uint64_t user_ns = 0, sys_ns = 0, nvcsw = 0, nivcsw = 0;
};

CpuMark cpu_now() noexcept {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(t.tv_usec) * 1000u;
  };
  return {ns(ru.ru_utime), ns(ru.ru_stime), static_cast<std::uint64_t>(ru.ru_nvcsw),
          static_cast<std::uint64_t>(ru.ru_nivcsw)};
}

CpuUse cpu_between(const CpuMark& from, const CpuMark& to, std::uint64_t msgs) noexcept {
  return {.user_ns = to.user_ns - from.user_ns,
          .sys_ns = to.sys_ns - from.sys_ns,
          .msgs = msgs,
          .voluntary_switches = to.nvcsw - from.nvcsw,
          .involuntary_switches = to.nivcsw - from.nivcsw};
}

// Side a, after the warm-up of `warm_msgs` messages in `warm_ns`: how many to measure.
std::uint64_t measured_count(const PairSpec& spec, std::uint64_t warm_msgs, std::uint64_t warm_ns) {
  if (spec.fixed_msgs > 0) return spec.fixed_msgs;
  const double per_msg_ns =
      std::max(1.0, static_cast<double>(warm_ns) / static_cast<double>(warm_msgs));
  const double n = spec.target_seconds * 1e9 / per_msg_ns;
  return std::clamp<std::uint64_t>(static_cast<std::uint64_t>(n), kMinMeasuredMsgs,
                                   kMaxMeasuredMsgs);
}

// Sends (and for pingpong, receives) the warm-up; returns its duration. At least
// kMinWarmupMsgs, and kWarmupShare of the target time unless the count is fixed.
template <typename OneMessage>
std::uint64_t warm_up(const PairSpec& spec, std::uint64_t& seq, OneMessage&& one) {
  const std::uint64_t start = now_ns();
  const std::uint64_t first = seq;
  const auto warm_ns = static_cast<std::uint64_t>(spec.target_seconds * kWarmupShare * 1e9);
  for (;;) {
    one(seq++);
    if (seq - first < kMinWarmupMsgs) continue;
    if (spec.fixed_msgs > 0 || now_ns() - start >= warm_ns) break;
  }
  return now_ns() - start;
}

void publish(Plan& plan, std::uint64_t from, std::uint64_t measured, std::uint64_t stride) {
  plan.measure_from.store(from, std::memory_order_relaxed);
  plan.stamp_stride.store(stride, std::memory_order_relaxed);
  // release: side b that sees total also sees the fields above.
  plan.total.store(from + measured, std::memory_order_release);
}

// What every receiving side owns, built before the start barrier so nothing is
// allocated or first touched while measuring: the payload pool (a pingpong client
// sends from it; every receiver reads the expected checksums from it), a receive
// buffer and the verifier.
struct Receiver {
  explicit Receiver(const PairSpec& spec)
      : zero_copy(spec.mechanism->zero_copy),
        pool(spec.config.msg_bytes, spec.seed),
        rx(zero_copy ? 0 : spec.config.msg_bytes + 1),
        verifier(pool, spec.verify) {}
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Receives one message; the span views rx until the next receive. A message
  // mechanism returns a longer message's real length (MSG_TRUNC) without writing past
  // the case's size: rx's one spare byte lets such a message stay longer than the
  // case's size, so the verifier counts it as truncated.
  // A zero-copy mechanism's message is read where it lies, until done().
  std::span<const std::byte> receive(Endpoint& ep) {
    if (zero_copy) return ep.peek();
    const std::size_t n = ep.recv(rx.span().first(rx.size() - 1));
    return rx.span().first(std::min(n, rx.size()));
  }
  // The received message is no longer needed (zero-copy: its slot goes back).
  void done(Endpoint& ep) {
    if (zero_copy) ep.release();
  }

  bool zero_copy;
  PayloadPool pool;
  AlignedBuffer rx;
  Verifier verifier;  // refers to pool: declared after it
};

// Sends `msg`. A zero-copy mechanism gets it written straight into the room it lends
// (the one write an application composing the message in place would make); any
// other mechanism copies it in send().
void send_message(Endpoint& ep, bool zero_copy, std::span<const std::byte> msg) {
  if (!zero_copy) return ep.send(msg);
  const std::span<std::byte> room = ep.loan();
  std::memcpy(room.data(), msg.data(), msg.size());
  ep.publish(msg.size());
}

void pingpong_client(Endpoint& ep, const PairSpec& spec, PairShared& shared, SideReport& rep) {
  Receiver r(spec);
  auto hist = std::make_unique<Histogram>();
  arrive_and_wait(shared.arrived, 2);

  std::uint64_t seq = 0;
  auto round_trip = [&](std::uint64_t s) {
    send_message(ep, r.zero_copy, r.pool.message(s));
    r.verifier.check(r.receive(ep));
    r.done(ep);
  };
  const std::uint64_t warm_ns = warm_up(spec, seq, round_trip);
  const std::uint64_t measured = measured_count(spec, seq, warm_ns);
  const std::uint64_t batches = batch_count(measured);
  publish(shared.plan, seq, measured + batches * kBatchTrips, 1);

  // Timed: send, the peer's receive and echo, our receive. The header write comes
  // before the first clock read; verification and recording after the second.
  const CpuMark cpu_from = cpu_now();
  for (const std::uint64_t end = seq + measured; seq < end; ++seq) {
    const std::span<const std::byte> msg = r.pool.message(seq);
    const std::uint64_t t0 = now_ns();
    send_message(ep, r.zero_copy, msg);
    const std::span<const std::byte> echo = r.receive(ep);
    const std::uint64_t t1 = now_ns();
    hist->record(t1 - t0);
    r.verifier.check(echo);
    r.done(ep);
  }
  // Timed in batches: kBatchTrips trips between two clock reads. Each echo is
  // verified after the next request is sent, while that request is in flight, so
  // verification stays off the timed path here too. (A zero-copy echo keeps its rx
  // slot until done(); the request goes out through the other ring.)
  auto batched = std::make_unique<Histogram>();
  for (std::uint64_t b = 0; b < batches; ++b) {
    const std::uint64_t t0 = now_ns();
    send_message(ep, r.zero_copy, r.pool.message(seq++));
    for (std::uint64_t k = 1; k <= kBatchTrips; ++k) {
      const std::span<const std::byte> echo = r.receive(ep);
      if (k < kBatchTrips) {
        send_message(ep, r.zero_copy, r.pool.message(seq++));
        r.verifier.check(echo);  // the echo stays readable until its done()
        r.done(ep);
      } else {
        const std::uint64_t t1 = now_ns();
        batched->record((t1 - t0) / kBatchTrips);
        r.verifier.check(echo);
        r.done(ep);
      }
    }
  }
  rep.batched_rtt_ns = *batched;
  rep.cpu = cpu_between(cpu_from, cpu_now(), measured + batches * kBatchTrips);
  rep.latency_ns = *hist;
  rep.measured_msgs = measured;
  rep.measured_ns = hist->sum_ns();
  rep.verify = r.verifier.counts();
  shared.client_done.store(1, std::memory_order_release);
  futex_wake_all(shared.client_done);
}

void pingpong_server(Endpoint& ep, const PairSpec& spec, PairShared& shared, SideReport& rep) {
  Receiver r(spec);
  arrive_and_wait(shared.arrived, 2);
  // CPU window: from the first measured request echoed (the plan is visible by then)
  // to the last; the round trips in between are counted.
  CpuMark cpu_from;
  std::uint64_t cpu_msgs = 0;
  bool measuring = false;
  for (;;) {
    const std::span<const std::byte> request = r.receive(ep);
    send_message(ep, r.zero_copy, request);
    // Checked after the echo is on its way: off the client's timed path.
    const std::uint64_t seq = r.verifier.check(request);
    r.done(ep);
    const std::uint64_t total = shared.plan.total.load(std::memory_order_acquire);
    if (measuring) {
      ++cpu_msgs;
    } else if (total != UINT64_MAX &&
               seq >= shared.plan.measure_from.load(std::memory_order_relaxed)) {
      measuring = true;
      cpu_from = cpu_now();
    }
    if (seq + 1 >= total) break;
  }
  rep.cpu = cpu_between(cpu_from, cpu_now(), cpu_msgs);
  rep.verify = r.verifier.counts();
  while (shared.client_done.load(std::memory_order_acquire) == 0) futex_wait(shared.client_done, 0);
}

// Stamping every message of a fast stream would make the clock the bottleneck:
// stamp 1 in `stride` (a power of two) so the clock costs <= kMaxStampShare.
std::uint64_t stamp_stride(const PairSpec& spec, std::uint64_t warm_msgs, std::uint64_t warm_ns) {
  if (spec.config.msg_bytes < kMinStampedBytes) return 0;
  const double per_msg_ns = static_cast<double>(warm_ns) / static_cast<double>(warm_msgs);
  const double want = spec.timer_cost_ns / (kMaxStampShare * std::max(per_msg_ns, 1.0));
  return std::bit_ceil(static_cast<std::uint64_t>(std::max(1.0, std::ceil(want))));
}

// A producer returns (and its end closes) only once its consumers have taken the last
// message: closing some channels discards what they still hold (a pty's master end,
// a socket closed with linger 0, a library transport torn down early). The wait comes
// after the measured window. A mechanism that may lose messages may have dropped the
// final one: it is repeated meanwhile, down every endpoint (the watchdog bounds this if
// every repeat is lost too). A consumer that dies never counts itself done: the
// orchestrator sees the death and ends the case, killing this side.
struct Finish {
  std::atomic<std::uint32_t>& done;  // consumers done (futex word)
  std::uint32_t consumers;           // how many there are
};

void wait_for_consumers(std::span<Endpoint* const> eps, const PairSpec& spec, const Finish& finish,
                        PayloadPool& pool, std::uint64_t last_seq) {
  std::atomic<std::uint32_t>& done = finish.done;
  std::uint32_t seen;
  if (!spec.mechanism->may_lose) {
    while ((seen = done.load(std::memory_order_acquire)) < finish.consumers) futex_wait(done, seen);
    return;
  }
  const std::span<const std::byte> last = pool.message(last_seq);
  while (done.load(std::memory_order_acquire) < finish.consumers) {
    const timespec pause{0, 100'000};  // 100 us: quick, but no flood
    ::nanosleep(&pause, nullptr);
    if (done.load(std::memory_order_acquire) >= finish.consumers) break;
    for (Endpoint* ep : eps) send_message(*ep, spec.mechanism->zero_copy, last);
  }
}

// A stream producer's place in its group: a pair's, a fan-out's (every message down
// each endpoint) or one of a fan-in's producers (its own plan, its sequence from its tag).
struct ProducerRole {
  std::span<Endpoint* const> eps;
  Plan& plan;
  std::atomic<std::uint32_t>& arrived;  // the start barrier
  std::uint32_t parties;                // processes meeting there
  Finish finish;
  std::uint64_t first_seq = 0;
  std::uint64_t max_measured = kMaxMeasuredMsgs;
  // Compete: messages sent after the measured ones, one per consumer (each stops at
  // its first), numbered on from the plan's total.
  std::uint32_t end_markers = 0;
  Rendezvous* rendezvous = nullptr;  // capacity 0: wait for each message to be taken
};

void produce(const ProducerRole& role, const PairSpec& spec, SideReport& rep) {
  PayloadPool pool(spec.config.msg_bytes, spec.seed);
  const bool zero_copy = spec.mechanism->zero_copy;
  arrive_and_wait(role.arrived, role.parties);

  std::uint64_t seq = role.first_seq;
  std::uint32_t to_be_taken = 0;  // capacity 0: messages the consumers must have taken
  // Each message is taken once by every consumer, but by only one of competing ones.
  const std::uint32_t takers = role.end_markers != 0 ? 1 : role.finish.consumers;
  auto send_all = [&](std::span<const std::byte> msg) {
    for (Endpoint* ep : role.eps) send_message(*ep, zero_copy, msg);
    if (role.rendezvous != nullptr)
      rendezvous_wait(*role.rendezvous, to_be_taken += takers, spec.config.wait);
  };
  const std::uint64_t warm_ns =
      warm_up(spec, seq, [&](std::uint64_t s) { send_all(pool.message(s)); });
  const std::uint64_t warm_msgs = seq - role.first_seq;
  const std::uint64_t measured =
      std::min(measured_count(spec, warm_msgs, warm_ns), role.max_measured - warm_msgs);
  const std::uint64_t stride = stamp_stride(spec, warm_msgs, warm_ns);
  const std::uint64_t from = seq;
  publish(role.plan, from, measured, stride);

  const std::uint64_t mask = stride == 0 ? ~0ull : stride - 1;
  const bool stamping = stride != 0;
  const CpuMark cpu_from = cpu_now();
  for (const std::uint64_t end = from + measured; seq < end; ++seq) {
    const std::span<const std::byte> msg = pool.message(seq);
    if (stamping && ((seq - from) & mask) == 0) pool.stamp(seq, now_ns());
    send_all(msg);
  }
  rep.cpu = cpu_between(cpu_from, cpu_now(), measured);
  rep.measured_msgs = measured;
  for (std::uint32_t k = 0; k < role.end_markers; ++k) {
    for (Endpoint* ep : role.eps) send_message(*ep, zero_copy, pool.message(seq + k));
  }
  wait_for_consumers(role.eps, spec, role.finish, pool, seq - 1);
}

void stream_producer(Endpoint& ep, const PairSpec& spec, PairShared& shared, SideReport& rep) {
  Endpoint* const eps[] = {&ep};
  produce({.eps = eps,
           .plan = shared.plan,
           .arrived = shared.arrived,
           .parties = 2,
           .finish = {shared.consumer_done, 1},
           .rendezvous = rendezvous_for(spec.config.capacity_msgs, shared.rendezvous)},
          spec, rep);
}

// Rate (open loop): message i is due at t0 + i / rate, whatever happened to the
// messages before it, and carries its due time as its stamp. The consumer is the
// stream's, so latency = receipt - due time: a stall of the channel or of the producer
// (which then sends late, and late again for every message queued behind) shows in
// every message it delays, instead of silently slowing the sender down as in a closed
// loop (coordinated omission).
//
// Waiting for a due time: a sleep is a system call and a wake-up that may come tens of
// microseconds late (a cross-CPU wake-up costs ~30 us on a VM), and each late wake
// would be charged to the mechanism. So gaps up to kSleepAboveNs are spun on the vDSO
// clock (no system call); longer gaps sleep with an absolute clock_nanosleep to
// kWakeMarginNs before the due time (absolute, so the sleep's own cost does not add
// up), then spin the rest. The timer slack is set to 1 ns first: the default 50 us
// would let the kernel defer the wake past the margin.
constexpr std::uint64_t kSleepAboveNs = 200'000;
constexpr std::uint64_t kWakeMarginNs = 100'000;
// A producer that cannot keep up sends for at most this many times the case time
// (at the pace its warm-up showed), so a rate far past saturation still ends.
constexpr double kMaxStretch = 3.0;

// Returns the time at which the wait ended: >= due_ns.
std::uint64_t wait_until(std::uint64_t due_ns) noexcept {
  std::uint64_t now = now_ns();
  if (now >= due_ns) return now;
  if (due_ns - now > kSleepAboveNs) {
    const std::uint64_t wake_ns = due_ns - kWakeMarginNs;
    const timespec wake{static_cast<time_t>(wake_ns / 1'000'000'000u),
                        static_cast<long>(wake_ns % 1'000'000'000u)};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, nullptr) == EINTR) {
    }
  }
  while ((now = now_ns()) < due_ns) cpu_relax();
  return now;
}

void rate_producer(Endpoint& ep, const PairSpec& spec, PairShared& shared, SideReport& rep) {
  PayloadPool pool(spec.config.msg_bytes, spec.seed);
  const bool zero_copy = spec.mechanism->zero_copy;
  const double rate = static_cast<double>(spec.offered_msgs_per_s);
  const double period_ns = 1e9 / rate;
  // The warm-up runs on the same schedule, so the measured part starts in the steady
  // state of this load: a tenth of the case time's messages. A producer that falls
  // behind stops after kMaxStretch x the warm-up's scheduled time instead: a tenth of
  // 0.1 s at 100M msgs/s of 64 KiB would otherwise be 64 GB.
  std::uint64_t warm =
      spec.fixed_msgs > 0
          ? kMinWarmupMsgs
          : std::max(kMinWarmupMsgs,
                     static_cast<std::uint64_t>(rate * spec.target_seconds * kWarmupShare));
  const auto warm_limit_ns =
      static_cast<std::uint64_t>(kMaxStretch * static_cast<double>(warm) * period_ns);
  ::prctl(PR_SET_TIMERSLACK, 1UL);
  arrive_and_wait(shared.arrived, 2);

  const std::uint64_t t0 = now_ns();
  auto due = [&](std::uint64_t seq) {
    return t0 + static_cast<std::uint64_t>(static_cast<double>(seq) * period_ns);
  };
  Rendezvous* const rendezvous = rendezvous_for(spec.config.capacity_msgs, shared.rendezvous);
  auto send_one = [&](std::span<const std::byte> msg, std::uint64_t seq) {
    send_message(ep, zero_copy, msg);
    if (rendezvous != nullptr)
      rendezvous_wait(*rendezvous, static_cast<std::uint32_t>(seq + 1), spec.config.wait);
  };
  std::uint64_t seq = 0;
  for (; seq < warm; ++seq) {
    const std::span<const std::byte> msg = pool.message(seq);
    if (seq >= kMinWarmupMsgs && now_ns() - t0 > warm_limit_ns) break;
    wait_until(due(seq));
    send_one(msg, seq);
  }
  warm = seq;
  const std::uint64_t warm_ns = now_ns() - t0;
  std::uint64_t measured = spec.fixed_msgs;
  if (measured == 0) {
    // rate x case time, unless the warm-up showed that would take more than
    // kMaxStretch x the case time.
    const double at_pace = kMaxStretch * spec.target_seconds * 1e9 * static_cast<double>(warm) /
                           static_cast<double>(std::max<std::uint64_t>(warm_ns, 1));
    const double n = std::min(rate * spec.target_seconds, at_pace);
    measured = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(n), kMinMeasuredMsgs,
                                         kMaxMeasuredMsgs);
  }
  const std::uint64_t stride = stamp_stride(spec, warm, warm_ns);
  const std::uint64_t from = seq;
  publish(shared.plan, from, measured, stride);

  const std::uint64_t mask = stride == 0 ? ~0ull : stride - 1;
  const bool stamping = stride != 0;
  std::uint64_t late = 0, max_lag = 0, lag_sum = 0;
  for (const std::uint64_t end = from + measured; seq < end; ++seq) {
    const std::uint64_t due_ns = due(seq);
    const std::span<const std::byte> msg = pool.message(seq);
    if (stamping && ((seq - from) & mask) == 0) pool.stamp(seq, due_ns);
    const std::uint64_t lag = wait_until(due_ns) - due_ns;
    send_one(msg, seq);
    late += lag > kLateSendNs ? 1 : 0;
    max_lag = std::max(max_lag, lag);
    lag_sum += lag;
  }
  // No CPU figure for this side: it spins on the clock between due times, so its CPU
  // would measure the schedule, not the mechanism (the consumer's is reported).
  rep.measured_msgs = measured;
  rep.late_sends = late;
  rep.max_send_lag_ns = max_lag;
  rep.send_lag_ns_sum = lag_sum;
  Endpoint* const eps[] = {&ep};
  wait_for_consumers(eps, spec, {shared.consumer_done, 1}, pool, seq - 1);
}

// A stream consumer's place in its group: a pair's, or one of a fan-out's consumers.
struct ConsumerRole {
  const Plan& plan;
  std::atomic<std::uint32_t>& arrived;  // the start barrier
  std::uint32_t parties;                // processes meeting there
  std::atomic<std::uint32_t>& done;     // counts the consumers done (futex word)
  Rendezvous* rendezvous = nullptr;     // capacity 0: count each message taken
};

void consume(const ConsumerRole& role, Endpoint& ep, const PairSpec& spec, SideReport& rep) {
  Receiver r(spec);
  auto hist = std::make_unique<Histogram>();
  arrive_and_wait(role.arrived, role.parties);

  std::uint64_t first_ns = 0, last_ns = 0;
  CpuMark cpu_from;
  std::uint64_t received = 0, received_measured = 0;
  // Verification is timed on 1 in `time_every` messages (the stamp stride, or 64 when
  // nothing is stamped) so its clock reads stay as rare as the latency samples.
  std::uint64_t time_mask = UINT64_MAX;
  bool measuring = false;
  for (;;) {
    const std::span<const std::byte> msg = r.receive(ep);
    if (role.rendezvous != nullptr) rendezvous_taken(*role.rendezvous);
    const bool time_it = (received++ & time_mask) == 0;
    const std::uint64_t v0 = time_it ? now_ns() : 0;
    const std::uint64_t seq = r.verifier.check(msg);
    if (time_it) {
      rep.verify_ns += now_ns() - v0;
      ++rep.verify_samples;
    }
    const std::uint64_t total = role.plan.total.load(std::memory_order_acquire);
    if (total != UINT64_MAX) {
      const std::uint64_t from = role.plan.measure_from.load(std::memory_order_relaxed);
      const std::uint64_t stride = role.plan.stamp_stride.load(std::memory_order_relaxed);
      if (seq >= from) {
        if (stride != 0 && ((seq - from) & (stride - 1)) == 0 && msg.size() >= kMinStampedBytes) {
          const auto sent = read_stamp(msg);
          hist->record(static_cast<std::uint32_t>(static_cast<std::uint32_t>(now_ns()) - sent));
        }
        if (time_mask == UINT64_MAX) time_mask = (stride == 0 ? 64 : stride) - 1;
        if (!measuring) {
          measuring = true;
          cpu_from = cpu_now();  // before the clock: the wall window leaves it out
          first_ns = now_ns();
        }
        ++received_measured;
      }
    }
    r.done(ep);  // msg is not read below: a zero-copy slot goes back now
    if (total != UINT64_MAX) {
      // The final message, or a repeat of it when the mechanism may lose it.
      if (seq + 1 >= total) {
        last_ns = now_ns();
        break;
      }
    }
  }
  const CpuMark cpu_to = cpu_now();  // after the clock, for the same reason
  role.done.fetch_add(1, std::memory_order_release);
  futex_wake_all(role.done);  // the producers may sleep on it (wait_for_consumers)
  rep.cpu = cpu_between(cpu_from, cpu_to, received_measured - 1);
  rep.latency_ns = *hist;
  // Intervals between the first and last measured receipt, counting only messages
  // that arrived: a lossy mechanism's throughput is what it delivered.
  rep.measured_msgs = received_measured - 1;
  rep.measured_ns = last_ns - first_ns;
  rep.first_ns = first_ns;
  rep.last_ns = last_ns;
  rep.verify = r.verifier.counts();
}

void stream_consumer(Endpoint& ep, const PairSpec& spec, PairShared& shared, SideReport& rep) {
  consume({.plan = shared.plan,
           .arrived = shared.arrived,
           .parties = 2,
           .done = shared.consumer_done,
           .rendezvous = rendezvous_for(spec.config.capacity_msgs, shared.rendezvous)},
          ep, spec, rep);
}

}  // namespace

void run_side(Side side, Endpoint& ep, const PairSpec& spec, PairShared& shared) {
  SideReport& rep = shared.side[side == Side::a ? 0 : 1];
  const bool a = side == Side::a;
  switch (spec.config.pattern) {
    case Pattern::pingpong:
      a ? pingpong_client(ep, spec, shared, rep) : pingpong_server(ep, spec, shared, rep);
      break;
    case Pattern::stream:
      a ? stream_producer(ep, spec, shared, rep) : stream_consumer(ep, spec, shared, rep);
      break;
    case Pattern::rate:
      // The consumer is the stream's: the stamps it reads are due times.
      a ? rate_producer(ep, spec, shared, rep) : stream_consumer(ep, spec, shared, rep);
      break;
    case Pattern::fanout:
    case Pattern::fanin:
    case Pattern::compete:
      throw std::logic_error("fanout, fanin and compete run as a group (harness/group.hpp)");
  }
}

// Fan-out and fan-in (harness/group.cpp forks the members).

void run_fanout_producer(std::span<Endpoint* const> eps, const PairSpec& spec, FanShared& shared) {
  const std::uint32_t consumers = spec.config.consumers;
  produce({.eps = eps,
           .plan = shared.plans[0],
           .arrived = shared.arrived,
           .parties = consumers + 1,
           .finish = {shared.consumers_done, consumers},
           .rendezvous = rendezvous_for(spec.config.capacity_msgs, shared.rendezvous)},
          spec, shared.members[0]);
}

void run_fanout_consumer(unsigned consumer, Endpoint& ep, const PairSpec& spec, FanShared& shared) {
  consume({.plan = shared.plans[0],
           .arrived = shared.arrived,
           .parties = spec.config.consumers + 1,
           .done = shared.consumers_done,
           .rendezvous = rendezvous_for(spec.config.capacity_msgs, shared.rendezvous)},
          ep, spec, shared.members[1 + consumer]);
}

void run_fanin_producer(unsigned producer, Endpoint& ep, const PairSpec& spec, FanShared& shared) {
  Endpoint* const eps[] = {&ep};
  produce({.eps = eps,
           .plan = shared.plans[producer],
           .arrived = shared.arrived,
           .parties = spec.config.producers + 1,
           .finish = {shared.consumers_done, 1},
           .first_seq = fanin_first_seq(producer),
           // Its sequence must stay below the next producer's tag (and one repeat).
           .max_measured = (std::uint64_t{1} << kFaninTagShift) - 2},
          spec, shared.members[producer]);
}

namespace {

// Which producer sent a fan-in message: the top byte of its 32-bit sequence number.
// Messages are at least 4 bytes (group.cpp refuses smaller ones).
unsigned fanin_producer_of(std::span<const std::byte> msg) noexcept {
  std::uint32_t seq32 = 0;
  std::memcpy(&seq32, msg.data(), sizeof seq32);
  return seq32 >> kFaninTagShift;
}

// The fan-in consumer's view of one producer: its sequence, checked, and whether its
// final message has come.
// A measured message, at a fan-in's or a compete's consumer: its one-way latency when
// the producer stamped it (1 in the plan's stride), and at the first one, the start of
// this consumer's window.
void note_measured(const Plan& plan, std::uint64_t seq, std::uint64_t from,
                   std::span<const std::byte> msg, Histogram& hist, std::uint64_t& first_ns,
                   CpuMark& cpu_from) noexcept {
  const std::uint64_t stride = plan.stamp_stride.load(std::memory_order_relaxed);
  if (stride != 0 && ((seq - from) & (stride - 1)) == 0 && msg.size() >= kMinStampedBytes)
    hist.record(static_cast<std::uint32_t>(static_cast<std::uint32_t>(now_ns()) - read_stamp(msg)));
  if (first_ns == 0) {
    cpu_from = cpu_now();
    first_ns = now_ns();
  }
}

struct ProducerTrack {
  Verifier verifier;
  bool finished = false;
};

}  // namespace

// Messages of every producer interleave; each is checked against its own producer's
// sequence. The measured window runs from the first measured message of any producer
// to the last producer's final message, and counts every message received in it: a
// producer still warming up fills the channel as much as one measuring.
void run_fanin_consumer(Endpoint& ep, const PairSpec& spec, FanShared& shared) {
  const unsigned producers = spec.config.producers;
  SideReport& rep = shared.members[producers];
  Receiver r(spec);
  std::vector<ProducerTrack> tracks;
  tracks.reserve(producers);
  for (unsigned p = 0; p < producers; ++p)
    tracks.push_back({.verifier = Verifier(r.pool, spec.verify, fanin_first_seq(p))});
  auto hist = std::make_unique<Histogram>();
  VerifyCounts strays;  // messages too short to name a producer, or naming none of ours
  arrive_and_wait(shared.arrived, producers + 1);

  std::uint64_t first_ns = 0, in_window = 0;
  CpuMark cpu_from;
  for (unsigned running = producers; running > 0;) {
    const std::span<const std::byte> msg = r.receive(ep);
    const unsigned p = msg.size() >= 4 ? fanin_producer_of(msg) : producers;
    if (p >= producers || tracks[p].finished) {
      // A repeat of a finished producer's final message (a mechanism that may lose
      // one repeats it) is expected; anything else is an error.
      if (p >= producers) ++(msg.size() >= 4 ? strays.corrupted : strays.truncated);
      r.done(ep);
      continue;
    }
    const std::uint64_t seq = tracks[p].verifier.check(msg);
    const Plan& plan = shared.plans[p];
    const std::uint64_t total = plan.total.load(std::memory_order_acquire);
    const std::uint64_t from = plan.measure_from.load(std::memory_order_relaxed);
    if (total != UINT64_MAX && seq >= from)
      note_measured(plan, seq, from, msg, *hist, first_ns, cpu_from);
    in_window += first_ns != 0 ? 1 : 0;
    r.done(ep);
    if (total != UINT64_MAX && seq + 1 >= total) {
      tracks[p].finished = true;
      --running;
    }
  }
  const std::uint64_t last_ns = now_ns();
  const CpuMark cpu_to = cpu_now();
  shared.consumers_done.fetch_add(1, std::memory_order_release);
  futex_wake_all(shared.consumers_done);
  rep.cpu = cpu_between(cpu_from, cpu_to, in_window - 1);
  rep.latency_ns = *hist;
  rep.measured_msgs = in_window - 1;
  rep.measured_ns = last_ns - first_ns;
  rep.first_ns = first_ns;
  rep.last_ns = last_ns;
  rep.verify = strays;
  for (const ProducerTrack& t : tracks) rep.verify += t.verifier.counts();
}

// Compete (harness/group.cpp forks the members).

void run_compete_producer(Endpoint& ep, const PairSpec& spec, FanShared& shared,
                          std::uint64_t ledger_bits) {
  const std::uint32_t consumers = spec.config.consumers;
  Endpoint* const eps[] = {&ep};
  produce({.eps = eps,
           .plan = shared.plans[0],
           .arrived = shared.arrived,
           .parties = consumers + 1,
           .finish = {shared.consumers_done, consumers},
           .max_measured = ledger_bits,
           .end_markers = consumers,
           .rendezvous = rendezvous_for(spec.config.capacity_msgs, shared.rendezvous)},
          spec, shared.members[0]);
}

namespace {

// A compete consumer's ledger: marks `seq` as taken; false when it is past the ledger
// (a damaged sequence number: no producer sends one).
bool take(Ledger ledger, std::uint64_t seq) noexcept {
  if (seq >= ledger.bits) return false;
  ledger.words[seq / 64] |= std::uint64_t{1} << (seq % 64);
  return true;
}

}  // namespace

// The consumer's Verifier checks each message (checksum, length) and that its own
// sequence numbers increase; the gaps between them are other consumers' messages, so
// its "lost" count means nothing here: loss is counted over every ledger afterwards.
// The measured window runs from this consumer's first measured message to its end
// marker's receipt (the marker follows every measured message).
void run_compete_consumer(unsigned consumer, Endpoint& ep, const PairSpec& spec, FanShared& shared,
                          Ledger ledger) {
  SideReport& rep = shared.members[1 + consumer];
  const Plan& plan = shared.plans[0];
  Receiver r(spec);
  auto hist = std::make_unique<Histogram>();
  std::fill(ledger.words, ledger.words + ledger.bits / 64, 0);  // touched before the start
  VerifyCounts strays;
  Rendezvous* const rendezvous = rendezvous_for(spec.config.capacity_msgs, shared.rendezvous);
  arrive_and_wait(shared.arrived, spec.config.consumers + 1);

  std::uint64_t first_ns = 0, taken_measured = 0;
  CpuMark cpu_from;
  for (;;) {
    const std::span<const std::byte> msg = r.receive(ep);
    if (rendezvous != nullptr) rendezvous_taken(*rendezvous);
    const std::uint64_t seq = r.verifier.check(msg);
    const std::uint64_t total = plan.total.load(std::memory_order_acquire);
    const std::uint64_t from = plan.measure_from.load(std::memory_order_relaxed);
    if (total != UINT64_MAX && seq >= total) break;  // an end marker: msg is not read again
    if (!take(ledger, seq)) ++strays.corrupted;
    if (total != UINT64_MAX && seq >= from) {
      note_measured(plan, seq, from, msg, *hist, first_ns, cpu_from);
      ++taken_measured;
    }
    r.done(ep);
  }
  const std::uint64_t last_ns = now_ns();
  const CpuMark cpu_to = cpu_now();
  r.done(ep);
  shared.consumers_done.fetch_add(1, std::memory_order_release);
  futex_wake_all(shared.consumers_done);
  rep.cpu = cpu_between(first_ns != 0 ? cpu_from : cpu_to, cpu_to, taken_measured);
  rep.latency_ns = *hist;
  rep.measured_msgs = taken_measured;
  rep.measured_ns = first_ns != 0 ? last_ns - first_ns : 0;
  rep.first_ns = first_ns;
  rep.last_ns = last_ns;
  rep.verify = r.verifier.counts();
  rep.verify.lost = 0;  // the gaps are the other consumers' messages (see above)
  rep.verify += strays;
}

VerifyCounts check_ledgers(std::span<const Ledger> ledgers, std::uint64_t total) noexcept {
  VerifyCounts out;
  for (std::uint64_t w = 0; w * 64 < total; ++w) {
    // Bits of this word below total; past a ledger's end nothing was taken.
    const std::uint64_t valid = total - w * 64 >= 64 ? ~0ull : (1ull << (total - w * 64)) - 1;
    std::uint64_t once = 0;
    for (const Ledger& l : ledgers) {
      const std::uint64_t taken = w * 64 < l.bits ? l.words[w] & valid : 0;
      out.duplicated += static_cast<std::uint64_t>(std::popcount(taken & once));
      once |= taken;
    }
    out.lost += static_cast<std::uint64_t>(std::popcount(valid & ~once));
  }
  return out;
}

}  // namespace ipcbench
