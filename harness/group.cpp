#include "harness/group.hpp"

#include <sched.h>

#include <algorithm>
#include <memory>
#include <new>
#include <string>

#include "harness/case_channel.hpp"
#include "harness/error.hpp"
#include "harness/members.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

unsigned member_count(const PairSpec& spec) noexcept {
  switch (spec.config.pattern) {
    case Pattern::fanout:
    case Pattern::compete:
      return spec.config.consumers + 1;
    case Pattern::fanin:
      return spec.config.producers + 1;
    default:
      return 2 * spec.pairs;
  }
}

// Why this group cannot run, or "". Oversubscription of a sleeping mode is allowed
// (and recorded by the caller).
std::string refusal(const PairSpec& spec, unsigned members, std::size_t cpus) {
  const ChannelConfig& c = spec.config;
  const unsigned fan = c.pattern == Pattern::fanout || c.pattern == Pattern::compete ? c.consumers
                       : c.pattern == Pattern::fanin                                 ? c.producers
                                                                                     : spec.pairs;
  if (fan < 1 || fan > kMaxFan) return "a group takes 1 to " + std::to_string(kMaxFan) + " members";
  if (c.pattern == Pattern::fanin && c.msg_bytes < 4) {
    return "fan-in needs messages of at least 4 bytes: each carries its producer in the top byte "
           "of its 32-bit sequence number";
  }
  if (c.pattern == Pattern::compete && c.msg_bytes < 4) {
    return "compete needs messages of at least 4 bytes: a consumer's sequence numbers have gaps "
           "(the other consumers' messages), which only a whole 32-bit sequence number spans";
  }
  if (spec.mechanism->may_lose && c.msg_bytes < 4) {
    return std::string(spec.mechanism->name) +
           " may lose messages: it needs messages of at least 4 bytes, so that each carries its "
           "whole sequence number across a burst of losses";
  }
  if (spec.pairs > 1 && c.pattern == Pattern::rate) return "--pairs runs pingpong and stream";
  if (c.pattern == Pattern::fanin && c.capacity_msgs == 0) {
    return "fanin at capacity 0: a rendezvous waits for each producer's own message to be "
           "taken, which one shared count of taken messages cannot tell apart";
  }
  if (members > cpus && polls(c.wait)) {
    return "oversubscribed: " + std::to_string(members) + " processes would poll on " +
           std::to_string(cpus) +
           " CPUs, and a polling side holds the CPU its peer needs "
           "(sleeping waits run, marked oversubscribed)";
  }
  return "";
}

// The channels of the case: one shared (broadcast fan-out, fan-in, compete), one a consumer
// (fan-out by copies), one a pair (--pairs). Throws NotRunnable or SysError.
std::vector<std::unique_ptr<Channel>> open_channels(const PairSpec& spec, bool broadcast,
                                                    Granted& granted) {
  ChannelConfig config = spec.config;
  if (config.pattern != Pattern::pingpong) config.pattern = Pattern::stream;  // one way
  unsigned count = spec.pairs;
  if (spec.config.pattern == Pattern::fanout) count = broadcast ? 1 : spec.config.consumers;
  if (spec.config.pattern == Pattern::fanin || spec.config.pattern == Pattern::compete) count = 1;
  if (spec.config.pattern == Pattern::fanout && !broadcast) config.consumers = 1;
  std::vector<std::unique_ptr<Channel>> channels;
  Granted each;
  for (unsigned i = 0; i < count; ++i) {
    channels.push_back(open_case_channel(*spec.mechanism, config, each));
    if (i == 0) granted = each;
  }
  return channels;
}

// In a member: the channels it takes no end of are dropped, so that only their own
// members hold them and a member's death is seen by its peer (EOF, EPIPE).
void drop_others(const std::vector<std::unique_ptr<Channel>>& channels, std::size_t keep) {
  for (std::size_t i = 0; i < channels.size(); ++i) {
    if (i != keep) channels[i]->forked();
  }
}

// --pairs: member 2p + s is side s of pair p, over channel p. All pairs start together:
// a barrier of every member comes before each pair's own.
struct PairsShared {
  std::atomic<std::uint32_t> arrived{0};
};
// Where the pairs' PairShared array starts in the same mapping, aligned for it.
constexpr std::size_t kPairsOffset =
    (sizeof(PairsShared) + alignof(PairShared) - 1) / alignof(PairShared) * alignof(PairShared);

std::vector<Member> pair_members(const PairSpec& spec, std::vector<std::unique_ptr<Channel>>& ch,
                                 PairShared* pairs, PairsShared& group,
                                 const std::vector<int>& cpus) {
  std::vector<Member> members;
  const char* roles[2] = {spec.config.pattern == Pattern::pingpong ? "client" : "producer",
                          spec.config.pattern == Pattern::pingpong ? "server" : "consumer"};
  for (unsigned p = 0; p < spec.pairs; ++p) {
    for (const Side side : {Side::a, Side::b}) {
      const int s = side == Side::a ? 0 : 1;
      members.push_back({.role = "pair " + std::to_string(p) + " " + roles[s],
                         .cpu = cpus[2 * p + s],
                         .report = &pairs[p].side[s],
                         .run = [&, pairs, p, side] {
                           drop_others(ch, p);
                           std::unique_ptr<Endpoint> ep = ch[p]->open(side);
                           arrive_and_wait(group.arrived, 2 * spec.pairs);
                           run_side(side, *ep, spec, pairs[p]);
                         }});
    }
  }
  return members;
}

std::vector<Member> fanout_members(const PairSpec& spec, std::vector<std::unique_ptr<Channel>>& ch,
                                   FanShared& shared, const std::vector<int>& cpus) {
  std::vector<Member> members;
  members.push_back({.role = "producer", .cpu = cpus[0], .report = &shared.members[0], .run = [&] {
                       std::vector<std::unique_ptr<Endpoint>> owned;
                       std::vector<Endpoint*> eps;
                       for (auto& c : ch) eps.push_back(owned.emplace_back(c->open(Side::a)).get());
                       run_fanout_producer(eps, spec, shared);
                     }});
  for (unsigned i = 0; i < spec.config.consumers; ++i) {
    const std::size_t channel = ch.size() == 1 ? 0 : i;
    members.push_back({.role = "consumer " + std::to_string(i),
                       .cpu = cpus[1 + i],
                       .report = &shared.members[1 + i],
                       .run = [&, i, channel] {
                         drop_others(ch, channel);
                         std::unique_ptr<Endpoint> ep = ch[channel]->open(Side::b);
                         run_fanout_consumer(i, *ep, spec, shared);
                       }});
  }
  return members;
}

std::vector<Member> fanin_members(const PairSpec& spec, Channel& ch, FanShared& shared,
                                  const std::vector<int>& cpus) {
  std::vector<Member> members;
  const unsigned producers = spec.config.producers;
  for (unsigned i = 0; i < producers; ++i) {
    members.push_back({.role = "producer " + std::to_string(i),
                       .cpu = cpus[i],
                       .report = &shared.members[i],
                       .run = [&, i] {
                         std::unique_ptr<Endpoint> ep = ch.open(Side::a);
                         run_fanin_producer(i, *ep, spec, shared);
                       }});
  }
  members.push_back({.role = "consumer",
                     .cpu = cpus[producers],
                     .report = &shared.members[producers],
                     .run = [&] {
                       std::unique_ptr<Endpoint> ep = ch.open(Side::b);
                       run_fanin_consumer(*ep, spec, shared);
                     }});
  return members;
}

// Compete: each consumer's ledger lies in the shared mapping after the FanShared.
constexpr std::size_t kLedgersOffset = (sizeof(FanShared) + 4095) / 4096 * 4096;
Ledger ledger_of(void* map, std::uint64_t bits, unsigned consumer) noexcept {
  auto* words = reinterpret_cast<std::uint64_t*>(static_cast<std::byte*>(map) + kLedgersOffset);
  return {.words = words + consumer * (bits / 64), .bits = bits};
}

std::vector<Member> compete_members(const PairSpec& spec, Channel& ch, FanShared& shared, void* map,
                                    const std::vector<int>& cpus) {
  const std::uint64_t bits = compete_ledger_bits(spec.config.consumers);
  std::vector<Member> members;
  // `bits` by value: the members run after this function has returned.
  members.push_back(
      {.role = "producer", .cpu = cpus[0], .report = &shared.members[0], .run = [&, bits] {
         std::unique_ptr<Endpoint> ep = ch.open(Side::a);
         run_compete_producer(*ep, spec, shared, bits);
       }});
  for (unsigned i = 0; i < spec.config.consumers; ++i) {
    members.push_back({.role = "consumer " + std::to_string(i),
                       .cpu = cpus[1 + i],
                       .report = &shared.members[1 + i],
                       .run = [&, i, map, bits] {
                         std::unique_ptr<Endpoint> ep = ch.open(Side::b);
                         run_compete_consumer(i, *ep, spec, shared, ledger_of(map, bits, i));
                       }});
  }
  return members;
}

void add_cpu(CpuUse& sum, const CpuUse& part) {
  sum.user_ns += part.user_ns;
  sum.sys_ns += part.sys_ns;
  sum.msgs += part.msgs;
  sum.voluntary_switches += part.voluntary_switches;
  sum.involuntary_switches += part.involuntary_switches;
}

// One consumer's report into the case's: its latency samples (and whether its p99 is
// the slowest), its verification and its CPU time.
void add_consumer(const SideReport& c, PairResult& result) {
  result.latency_ns.merge(c.latency_ns);
  if (c.latency_ns.count() > 0)
    result.slowest_p99_ns = std::max(result.slowest_p99_ns, c.latency_ns.percentile(0.99));
  result.verify += c.verify;
  add_cpu(result.cpu[1], c.cpu);
}

// Fan-out: every consumer's samples; the rate at which every consumer received, from
// the earliest first receipt to the latest last (for a lossy mechanism: the messages
// the consumer that got the fewest got).
void collect_fanout(const PairSpec& spec, const FanShared& shared, PairResult& result) {
  const unsigned n = spec.config.consumers;
  result.cpu[0] = shared.members[0].cpu;
  std::uint64_t first = UINT64_MAX, last = 0, msgs = UINT64_MAX;
  for (unsigned i = 1; i <= n; ++i) {
    const SideReport& c = shared.members[i];
    add_consumer(c, result);
    first = std::min(first, c.first_ns);
    last = std::max(last, c.last_ns);
    msgs = std::min(msgs, c.measured_msgs);
  }
  result.measured_msgs = msgs;
  result.measured_seconds = static_cast<double>(last - first) * 1e-9;
  result.stamp_stride = shared.plans[0].stamp_stride.load();
}

// Compete: every consumer's samples; the rate at which the consumers together took
// the measured messages, from the earliest first receipt to the latest end marker;
// each consumer's share of them; and the ledgers' loss and duplication.
void collect_compete(const PairSpec& spec, const FanShared& shared, void* map, PairResult& result) {
  const unsigned n = spec.config.consumers;
  const std::uint64_t bits = compete_ledger_bits(n);
  result.cpu[0] = shared.members[0].cpu;
  std::uint64_t first = UINT64_MAX, last = 0, msgs = 0, least = UINT64_MAX, most = 0;
  std::vector<Ledger> ledgers;
  for (unsigned i = 1; i <= n; ++i) {
    const SideReport& c = shared.members[i];
    add_consumer(c, result);
    if (c.first_ns != 0) first = std::min(first, c.first_ns);
    last = std::max(last, c.last_ns);
    msgs += c.measured_msgs;
    least = std::min(least, c.measured_msgs);
    most = std::max(most, c.measured_msgs);
    ledgers.push_back(ledger_of(map, bits, i - 1));
  }
  const std::uint64_t total = shared.plans[0].total.load();
  result.verify += check_ledgers(ledgers, std::min(total, bits));
  result.measured_msgs = msgs;
  result.measured_seconds = first < last ? static_cast<double>(last - first) * 1e-9 : 0;
  result.stamp_stride = shared.plans[0].stamp_stride.load();
  if (msgs > 0) {
    result.share_min = static_cast<double>(least) / static_cast<double>(msgs);
    result.share_max = static_cast<double>(most) / static_cast<double>(msgs);
  }
}

void collect_fanin(const PairSpec& spec, const FanShared& shared, PairResult& result) {
  const unsigned n = spec.config.producers;
  for (unsigned i = 0; i < n; ++i) add_cpu(result.cpu[0], shared.members[i].cpu);
  const SideReport& c = shared.members[n];
  result.cpu[1] = c.cpu;
  result.latency_ns = c.latency_ns;
  result.verify = c.verify;
  result.measured_msgs = c.measured_msgs;
  result.measured_seconds = static_cast<double>(c.measured_ns) * 1e-9;
  result.stamp_stride = shared.plans[0].stamp_stride.load();
}

// --pairs: each pair read as a pair; the aggregate rate is the sum of the pairs' rates.
void collect_pairs(const PairSpec& spec, const PairShared* pairs, PairResult& result) {
  double rate_sum = 0;
  for (unsigned p = 0; p < spec.pairs; ++p) {
    PairResult one;
    collect_pair(spec, pairs[p], one);
    if (one.outcome != Outcome::ok) {
      result.outcome = one.outcome;
      result.message = "pair " + std::to_string(p) + ": " + one.message;
      return;
    }
    result.latency_ns.merge(one.latency_ns);
    result.batched_rtt_ns.merge(one.batched_rtt_ns);
    if (one.latency_ns.count() > 0)
      result.slowest_p99_ns = std::max(result.slowest_p99_ns, one.latency_ns.percentile(0.99));
    result.verify += one.verify;
    for (int s = 0; s < 2; ++s) add_cpu(result.cpu[s], one.cpu[s]);
    result.measured_msgs += one.measured_msgs;
    if (one.measured_seconds > 0)
      rate_sum += static_cast<double>(one.measured_msgs) / one.measured_seconds;
    result.stamp_stride = one.stamp_stride;
    result.verify_ns_per_msg += one.verify_ns_per_msg / spec.pairs;
  }
  result.measured_seconds = rate_sum > 0 ? static_cast<double>(result.measured_msgs) / rate_sum : 0;
}

}  // namespace

bool is_group(const PairSpec& spec) noexcept {
  return spec.pairs > 1 || spec.config.pattern == Pattern::fanout ||
         spec.config.pattern == Pattern::fanin || spec.config.pattern == Pattern::compete;
}

std::vector<int> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) < 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

std::vector<int> member_cpus(const std::array<int, 2>& pair_cpus, const std::vector<int>& usable,
                             unsigned n) {
  if (pair_cpus[0] < 0 || pair_cpus[1] < 0) return std::vector<int>(n, -1);
  std::vector<int> order = {pair_cpus[0]};
  if (pair_cpus[1] == pair_cpus[0]) return std::vector<int>(n, pair_cpus[0]);  // same_cpu
  order.push_back(pair_cpus[1]);
  for (int c : usable) {
    if (std::find(order.begin(), order.end(), c) == order.end()) order.push_back(c);
  }
  std::vector<int> cpus(n);
  for (unsigned i = 0; i < n; ++i) cpus[i] = order[i % order.size()];
  return cpus;
}

namespace {

// The bytes of the mapping the members share with the orchestrator.
std::size_t shared_bytes(const PairSpec& spec, bool pairs) {
  if (pairs) return kPairsOffset + spec.pairs * sizeof(PairShared);
  if (spec.config.pattern != Pattern::compete) return sizeof(FanShared);
  return kLedgersOffset + spec.config.consumers * compete_ledger_bits(spec.config.consumers) / 8;
}

}  // namespace

PairResult run_group(const PairSpec& spec) {
  PairResult result;
  const unsigned n = member_count(spec);
  const std::vector<int> usable = usable_cpus();
  result.processes = n;
  if (interrupted()) {
    result.outcome = Outcome::interrupted;
    result.message = "interrupted";
    return result;
  }
  if (std::string why = refusal(spec, n, usable.size()); !why.empty()) {
    result.outcome = Outcome::not_runnable;
    result.message = std::move(why);
    return result;
  }
  const Pattern pattern = spec.config.pattern;
  result.oversubscribed = n > usable.size();
  result.broadcast = pattern == Pattern::fanout && spec.mechanism->broadcast;
  std::vector<std::unique_ptr<Channel>> channels;
  try {
    channels = open_channels(spec, result.broadcast, result.granted);
  } catch (const NotRunnable& e) {
    result.outcome = Outcome::not_runnable;
    result.message = e.what();
    return result;
  }
  const std::vector<int> cpus = member_cpus(spec.cpus, usable, n);
  const bool pairs =
      pattern != Pattern::fanout && pattern != Pattern::fanin && pattern != Pattern::compete;
  // The members report into memory shared with the orchestrator (no name to leak).
  Mapping map = map_shared(shared_bytes(spec, pairs));
  std::vector<Member> members;
  FanShared* fan = nullptr;
  PairShared* pair_shared = nullptr;
  PairsShared* group = nullptr;
  if (pairs) {
    group = new (map.get()) PairsShared{};
    pair_shared = reinterpret_cast<PairShared*>(static_cast<std::byte*>(map.get()) + kPairsOffset);
    for (unsigned p = 0; p < spec.pairs; ++p) new (pair_shared + p) PairShared{};
    members = pair_members(spec, channels, pair_shared, *group, cpus);
  } else {
    fan = new (map.get()) FanShared{};
    members = pattern == Pattern::fanout ? fanout_members(spec, channels, *fan, cpus)
              : pattern == Pattern::fanin
                  ? fanin_members(spec, *channels[0], *fan, cpus)
                  : compete_members(spec, *channels[0], *fan, map.get(), cpus);
  }
  const WatchEnd end = run_members(members, spec.timeout_seconds, [&] {
    for (auto& c : channels) c->forked();
  });
  channels.clear();  // removes any name the mechanism still holds
  if (!end.failure.empty()) {
    result.outcome = end.interrupted ? Outcome::interrupted : Outcome::failed;
    result.message = end.failure;
    return result;
  }
  if (pairs) {
    collect_pairs(spec, pair_shared, result);
    if (!result.message.empty()) return result;
  } else if (pattern == Pattern::fanout) {
    collect_fanout(spec, *fan, result);
  } else if (pattern == Pattern::fanin) {
    collect_fanin(spec, *fan, result);
  } else {
    collect_compete(spec, *fan, map.get(), result);
  }
  judge_verification(spec, result);
  return result;
}

}  // namespace ipcbench
