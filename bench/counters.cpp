#include "bench/counters.hpp"

#include <cstdio>

#include "harness/report.hpp"

namespace ipcbench {
namespace {

// A rate case is saturated when
//  - the pair delivered under kSaturatedShare of the offered rate, and that shortfall
//    is sustained: most sends started late (the channel held the producer back), or
//    the p50 rose past kBacklogFactor x the series's base p50 (a backlog), or over
//    kLossShare of the messages were lost (a datagram channel dropping what it cannot
//    take). A single stall near the end of a short, slow case also lowers the
//    delivered rate (it stretches the last interval) but none of the three;
//  - or its p50 grew past kExplodeFactor x the p50 at the series's lowest rate: the
//    queue is building up, and a longer case would show a larger p50.
constexpr double kSaturatedShare = 0.95;
constexpr double kMostLate = 0.5;
constexpr double kBacklogFactor = 2;
constexpr double kLossShare = 0.05;
constexpr double kExplodeFactor = 10;

using Counters = std::map<std::string, double>;

// "300k", "1.5M", "10M" messages per second.
std::string show_rate(double per_s) {
  const char* suffix = "";
  if (per_s >= 1e6) {
    per_s /= 1e6;
    suffix = "M";
  } else if (per_s >= 1e3) {
    per_s /= 1e3;
    suffix = "k";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%s", per_s, suffix);
  return buf;
}

void add_label(std::string& label, const std::string& part) {
  label += (label.empty() ? "" : "; ") + part;
}

double ratio(std::uint64_t part, std::uint64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

void latency_counters(const PairResult& r, double one_way, Counters& c, std::string& label) {
  if (r.latency_ns.count() == 0) {
    add_label(label,
              "one-way latency not measured: a message under 8 B has no room for a timestamp");
    return;
  }
  c["p50_ns"] = r.latency_ns.percentile(0.50) * one_way;
  c["p90_ns"] = r.latency_ns.percentile(0.90) * one_way;
  c["p99_ns"] = r.latency_ns.percentile(0.99) * one_way;
  c["p999_ns"] = r.latency_ns.percentile(0.999) * one_way;
  c["p9999_ns"] = r.latency_ns.percentile(0.9999) * one_way;
  c["max_ns"] = static_cast<double>(r.latency_ns.max_ns()) * one_way;
  c["latency_samples"] = static_cast<double>(r.latency_ns.count());
}

// Loss is an error unless the mechanism may lose messages by design (UDP); then it is
// reported as loss: lost_msgs, and the label says which semantics applied.
void verify_counters(const PairSpec& spec, const PairResult& r, Counters& c, std::string& label) {
  c["verified"] = static_cast<double>(r.verify.verified);
  const bool lossy = spec.mechanism->may_lose;
  c["errors"] = static_cast<double>(lossy ? r.verify.errors_except_loss() : r.verify.errors());
  c["lost_msgs"] = static_cast<double>(r.verify.lost);
  if (lossy) {
    c["loss_ratio"] = ratio(r.verify.lost, r.verify.verified + r.verify.lost);
    add_label(label, "loss allowed (datagram semantics): lost messages are counted, not errors");
  }
}

// What waiting costs, next to what it buys: the CPU each side burned per message
// (pingpong: per round trip), user + system, and the system part alone. A side that
// spins is ~ its wall time per message; one that sleeps, far less. Left out only when
// a window holds no message (--messages 1).
void cpu_counters(const PairResult& r, Counters& c) {
  const char* const side_suffix[2] = {"_tx", "_rx"};
  for (int i = 0; i < 2; ++i) {
    if (r.cpu[i].msgs == 0) continue;
    c[std::string("cpu_ns_per_msg") + side_suffix[i]] = r.cpu[i].ns_per_msg();
    c[std::string("cpu_sys_ns_per_msg") + side_suffix[i]] = r.cpu[i].sys_ns_per_msg();
  }
}

// A group (fan-out, fan-in, compete, --pairs): how many processes and in what shape,
// whether they had a CPU each, and the slowest consumer's (pair's) p99 beside the p99
// of all; for compete, how evenly the consumers shared the messages.
void group_counters(const PairSpec& spec, const PairResult& r, double one_way, Counters& c,
                    std::string& label) {
  const Pattern p = spec.config.pattern;
  if (r.processes <= 2 && spec.pairs <= 1 && p != Pattern::fanout && p != Pattern::fanin &&
      p != Pattern::compete)
    return;
  c["processes"] = r.processes;
  c["pairs"] = spec.pairs;
  if (spec.config.pattern == Pattern::fanout) {
    c["consumers"] = spec.config.consumers;
    c["broadcast"] = r.broadcast ? 1 : 0;
    add_label(label, r.broadcast ? "fan-out by broadcast: one channel, every consumer reads it"
                                 : "fan-out by copies: one channel a consumer, the producer "
                                   "sends each message down each");
  }
  if (spec.config.pattern == Pattern::fanin) c["producers"] = spec.config.producers;
  if (p == Pattern::compete) {
    c["consumers"] = spec.config.consumers;
    c["share_min"] = r.share_min;
    c["share_max"] = r.share_max;
  }
  if (r.slowest_p99_ns > 0) c["slowest_p99_ns"] = r.slowest_p99_ns * one_way;
  c["oversubscribed"] = r.oversubscribed ? 1 : 0;
  if (r.oversubscribed) {
    add_label(label, "oversubscribed: " + std::to_string(r.processes) +
                         " processes took turns on fewer CPUs");
  }
}

// Pingpong against the floor measured in this run (the model: pingpong_floor_rtt_ns):
// the round trip over the matching latency floor (cache line for the polling modes,
// wake-up for the sleeping ones) plus the message copied once each way. Polling modes
// are read against the cache-line floor the way that floor is timed: batch means, no
// clock inside (p50_batched_ns); sleeping ones against the wake-up floor, timed per
// trip like p50_ns. The clock in the loop is what the two p50s differ by.
void pingpong_floor_counters(const PairSpec& spec, const PairResult& r, const Floors& floors,
                             Counters& c) {
  const bool batched = r.batched_rtt_ns.count() > 0;
  if (batched) c["p50_batched_ns"] = r.batched_rtt_ns.percentile(0.50) * 0.5;
  if (r.latency_ns.count() == 0) return;
  const bool polling = polls(spec.config.wait);
  const std::size_t bytes = spec.config.msg_bytes;
  const double floor_ns = pingpong_floor_rtt_ns(floors, polling, bytes);
  const double rtt_ns =
      polling && batched ? r.batched_rtt_ns.percentile(0.50) : r.latency_ns.percentile(0.50);
  if (floor_ns > 0) c["x_floor"] = rtt_ns / floor_ns;
  // Against one line per direction: what a design with a one-way channel each way (a
  // ring per direction) can reach at best.
  if (const double pair_ns = pingpong_pair_floor_rtt_ns(floors, bytes); polling && pair_ns > 0)
    c["x_floor_pair"] = rtt_ns / pair_ns;
}

// Why this rate saturated its series (see kSaturatedShare), or "".
std::string saturation(const PairSpec& spec, const PairResult& r, const RateSeries& series,
                       double achieved, double late_ratio) {
  const double offered = static_cast<double>(spec.offered_msgs_per_s);
  const double p50 = r.latency_ns.count() > 0 ? r.latency_ns.percentile(0.50) : 0;
  const double loss = ratio(r.verify.lost, r.verify.verified + r.verify.lost);
  const bool backlog = series.base_rate != 0 && p50 > kBacklogFactor * series.base_p50_ns;
  if (achieved < kSaturatedShare * offered &&
      (late_ratio > kMostLate || backlog || loss > kLossShare)) {
    return "achieved " + show_rate(achieved) + " of " + show_rate(offered) + " msgs/s offered";
  }
  if (series.base_rate != 0 && series.base_rate < spec.offered_msgs_per_s &&
      p50 > kExplodeFactor * series.base_p50_ns) {
    return "p50 " + format_ns(p50) + " at " + show_rate(offered) + " msgs/s offered, over " +
           std::to_string(static_cast<int>(kExplodeFactor)) + "x the " +
           format_ns(series.base_p50_ns) + " at " +
           show_rate(static_cast<double>(series.base_rate));
  }
  return "";
}

void rate_counters(const PairSpec& spec, const PairResult& r, const RateSeries& series,
                   double per_msg_s, CaseCounters& out) {
  Counters& c = out.counters;
  const double late_ratio = ratio(r.late_sends, r.sent_msgs);
  c["offered_msgs_per_s"] = static_cast<double>(spec.offered_msgs_per_s);
  c["late_send_ratio"] = late_ratio;
  c["max_send_lag_ns"] = static_cast<double>(r.max_send_lag_ns);
  c["mean_send_lag_ns"] = r.mean_send_lag_ns;
  out.saturated_why = saturation(spec, r, series, 1.0 / per_msg_s, late_ratio);
  c["saturated"] = out.saturated_why.empty() ? 0 : 1;
  if (!out.saturated_why.empty()) add_label(out.label, "saturated: " + out.saturated_why);
}

// Stream and rate: the memcpy bandwidth at this size over the achieved bandwidth
// (stream only), how sparsely latency was sampled, and what verification adds to the
// consumer next to the per-message time it shares: a reader sees at once whether the
// check is small against the mechanism.
void one_way_counters(const PairSpec& spec, const PairResult& r, const Floors& floors,
                      double per_msg_s, Counters& c) {
  if (spec.config.pattern == Pattern::stream) {
    const auto bw = floors.memcpy_bytes_per_s.find(spec.config.msg_bytes);
    if (bw != floors.memcpy_bytes_per_s.end()) {
      c["x_floor_bw"] = bw->second / (static_cast<double>(spec.config.msg_bytes) / per_msg_s);
    }
  }
  c["stamp_stride"] = static_cast<double>(r.stamp_stride);
  c["verify_ns_per_msg"] = r.verify_ns_per_msg;
}

}  // namespace

CaseCounters counters_for(const PairSpec& spec, const PairResult& r, const Floors& floors,
                          const RateSeries& series) {
  CaseCounters out;
  if (r.outcome != Outcome::ok) {
    out.error = r.outcome == Outcome::not_runnable ? "not runnable: " + r.message : r.message;
    out.failed = r.outcome == Outcome::failed;
    return out;
  }
  const bool pingpong = spec.config.pattern == Pattern::pingpong;
  // One-way latency: pingpong halves each round trip; stream timestamps travel with
  // the message.
  const double one_way = pingpong ? 0.5 : 1.0;
  const double per_msg_s = r.measured_seconds / static_cast<double>(r.measured_msgs);
  out.iteration_seconds = per_msg_s * one_way;

  Counters& c = out.counters;
  if (spec.mechanism->uses_backing)
    out.label = "backing: " + std::string(to_string(spec.config.backing));
  latency_counters(r, one_way, c, out.label);
  c["msgs_per_s"] = 1.0 / per_msg_s;
  c["bytes_per_s"] = static_cast<double>(spec.config.msg_bytes) / per_msg_s;
  c["capacity_effective"] = static_cast<double>(r.granted.capacity_msgs);
  c["capacity_bytes"] = static_cast<double>(r.granted.capacity_bytes);
  if (!r.granted.detail.empty()) add_label(out.label, r.granted.detail);
  verify_counters(spec, r, c, out.label);
  c["measured_msgs"] = static_cast<double>(r.measured_msgs);
  cpu_counters(r, c);
  group_counters(spec, r, one_way, c, out.label);
  if (pingpong) {
    pingpong_floor_counters(spec, r, floors, c);
  } else {
    if (spec.config.pattern == Pattern::rate) rate_counters(spec, r, series, per_msg_s, out);
    one_way_counters(spec, r, floors, per_msg_s, c);
  }
  return out;
}

std::string floor_contamination(const std::string& case_name, const PairSpec& spec,
                                const CaseCounters& counters, const Floors& floors) {
  if (spec.config.pattern != Pattern::pingpong || !polls(spec.config.wait)) return "";
  const auto x = counters.counters.find("x_floor");
  if (x == counters.counters.end() || !(x->second < kMinPollingXFloor)) return "";
  const double floor_ns = pingpong_floor_rtt_ns(floors, true, spec.config.msg_bytes);
  char text[512];
  std::snprintf(text, sizeof text,
                "%s: x_floor %.2f, under %.1f: its round trip of %s beat the floor of %s "
                "(cache line %s + the message copied each way), so the floor was read while "
                "the CPUs were busy",
                case_name.c_str(), x->second, kMinPollingXFloor,
                format_ns(x->second * floor_ns).c_str(), format_ns(floor_ns).c_str(),
                format_ns(floors.cacheline_rtt_ns).c_str());
  return text;
}

void note_rate(RateSeries& series, std::uint64_t offered_msgs_per_s, const CaseCounters& counters) {
  if (!counters.saturated_why.empty()) {
    if (series.saturated_at == 0) {
      series.saturated_at = offered_msgs_per_s;
      series.why = "saturated at " + show_rate(static_cast<double>(offered_msgs_per_s)) +
                   " msgs/s offered (" + counters.saturated_why + ")";
    }
    return;
  }
  const auto p50 = counters.counters.find("p50_ns");
  if (series.base_rate == 0 && p50 != counters.counters.end() && p50->second > 0) {
    series.base_rate = offered_msgs_per_s;
    series.base_p50_ns = p50->second;
  }
}

}  // namespace ipcbench
