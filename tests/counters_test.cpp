// From a pair's raw result to a case's counters (bench/counters.hpp), with hand-built
// results: no process is forked. Values are chosen to be exact (histogram samples
// under 256 ns are kept exactly; rates and times are powers of ten), so each check
// compares the very figure the JSON file would hold.
#include "bench/counters.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace ipcbench {
namespace {

Mechanism mechanism(std::string_view name, bool may_lose, bool uses_backing) {
  Mechanism m;
  m.name = name;
  m.may_lose = may_lose;
  m.uses_backing = uses_backing;
  return m;
}
const Mechanism kPlain = mechanism("plain", false, false);
const Mechanism kLossy = mechanism("lossy", true, false);
const Mechanism kShared = mechanism("shared", false, true);

PairSpec spec_of(const Mechanism& m, Pattern pattern, WaitMode wait, std::size_t msg_bytes = 64) {
  PairSpec spec;
  spec.mechanism = &m;
  spec.config = {.pattern = pattern, .msg_bytes = msg_bytes, .capacity_msgs = 16, .wait = wait};
  return spec;
}

// An ok result of `msgs` measured messages (round trips) over `seconds`, with
// latencies 1..100 ns (p50 50, p90 90, p99 99, p999 and max 100).
PairResult ok_result(std::uint64_t msgs, double seconds) {
  PairResult r;
  r.outcome = Outcome::ok;
  r.measured_msgs = msgs;
  r.measured_seconds = seconds;
  for (std::uint64_t ns = 1; ns <= 100; ++ns) r.latency_ns.record(ns);
  r.granted = {.capacity_msgs = 16, .capacity_bytes = 1024, .detail = {}};
  r.verify.verified = msgs;
  return r;
}

// The latency floors (harness/floor.hpp); no memcpy floor unless added.
Floors latency_floors(double cacheline_rtt_ns, double cacheline_pair_rtt_ns, double wake_rtt_ns) {
  Floors f;
  f.cacheline_rtt_ns = cacheline_rtt_ns;
  f.cacheline_pair_rtt_ns = cacheline_pair_rtt_ns;
  f.wake_rtt_ns = wake_rtt_ns;
  return f;
}

std::set<std::string> keys(const CaseCounters& out) {
  std::set<std::string> k;
  for (const auto& [name, value] : out.counters) k.insert(name);
  return k;
}

// A figure that is missing is left out: no counter is ever NaN or infinite.
void expect_all_finite(const CaseCounters& out) {
  for (const auto& [name, value] : out.counters) EXPECT_TRUE(std::isfinite(value)) << name;
}

const std::set<std::string> kAlways = {"msgs_per_s",     "bytes_per_s",  "capacity_effective",
                                       "capacity_bytes", "verified",     "errors",
                                       "lost_msgs",      "measured_msgs"};
const std::set<std::string> kLatency = {"p50_ns",   "p90_ns", "p99_ns",         "p999_ns",
                                        "p9999_ns", "max_ns", "latency_samples"};

std::set<std::string> with(std::set<std::string> base,
                           std::initializer_list<std::set<std::string>> more) {
  for (const auto& m : more) base.insert(m.begin(), m.end());
  return base;
}

TEST(Counters, PingpongHalvesRoundTripsAndReadsSpinAgainstTheBatchedCacheLineFloor) {
  PairResult r = ok_result(1000, 1000 * 200e-9);  // 200 ns per round trip
  r.batched_rtt_ns.record(150);
  r.cpu[0] = {.user_ns = 100'000, .sys_ns = 50'000, .msgs = 1000};
  const Floors floors = latency_floors(50, 75, 1000);
  const CaseCounters out =
      counters_for(spec_of(kPlain, Pattern::pingpong, WaitMode::spin), r, floors);

  EXPECT_EQ(out.error, "");
  EXPECT_FALSE(out.failed);
  EXPECT_DOUBLE_EQ(out.iteration_seconds, 100e-9);  // one way: half the round trip
  EXPECT_EQ(keys(out), with(kAlways, {kLatency,
                                      {"cpu_ns_per_msg_tx", "cpu_sys_ns_per_msg_tx",
                                       "p50_batched_ns", "x_floor", "x_floor_pair"}}));
  const auto& c = out.counters;
  EXPECT_DOUBLE_EQ(c.at("p50_ns"), 25);
  EXPECT_DOUBLE_EQ(c.at("p90_ns"), 45);
  EXPECT_DOUBLE_EQ(c.at("p99_ns"), 49.5);
  EXPECT_DOUBLE_EQ(c.at("p999_ns"), 50);
  EXPECT_DOUBLE_EQ(c.at("p9999_ns"), 50);
  EXPECT_DOUBLE_EQ(c.at("max_ns"), 50);
  EXPECT_DOUBLE_EQ(c.at("latency_samples"), 100);
  EXPECT_DOUBLE_EQ(c.at("msgs_per_s"), 5e6);
  EXPECT_DOUBLE_EQ(c.at("bytes_per_s"), 64 * 5e6);
  EXPECT_DOUBLE_EQ(c.at("capacity_effective"), 16);
  EXPECT_DOUBLE_EQ(c.at("capacity_bytes"), 1024);
  EXPECT_DOUBLE_EQ(c.at("verified"), 1000);
  EXPECT_DOUBLE_EQ(c.at("errors"), 0);
  EXPECT_DOUBLE_EQ(c.at("lost_msgs"), 0);
  EXPECT_DOUBLE_EQ(c.at("measured_msgs"), 1000);
  EXPECT_DOUBLE_EQ(c.at("cpu_ns_per_msg_tx"), 150);
  EXPECT_DOUBLE_EQ(c.at("cpu_sys_ns_per_msg_tx"), 50);
  EXPECT_DOUBLE_EQ(c.at("p50_batched_ns"), 75);
  EXPECT_DOUBLE_EQ(c.at("x_floor"), 150.0 / 50);       // the batched round trip
  EXPECT_DOUBLE_EQ(c.at("x_floor_pair"), 150.0 / 75);  // against a line per direction
  EXPECT_EQ(out.label, "");
  expect_all_finite(out);
}

TEST(Counters, PingpongThatSleepsIsReadAgainstTheWakeUpFloorPerTrip) {
  PairResult r = ok_result(1000, 1000 * 200e-9);
  r.batched_rtt_ns.record(150);
  const Floors floors = latency_floors(50, 75, 25);
  const CaseCounters out =
      counters_for(spec_of(kPlain, Pattern::pingpong, WaitMode::block), r, floors);
  EXPECT_DOUBLE_EQ(out.counters.at("x_floor"), 50.0 / 25);  // p50 of single round trips
  EXPECT_EQ(out.counters.count("x_floor_pair"), 0u);        // a polling floor only
}

TEST(Counters, PingpongIsReadAgainstTheFloorModelAtItsSize) {
  // The cache-line round trip plus 64 B copied each way at 6.4 GB/s (10 ns a copy).
  PairResult r = ok_result(1000, 1000 * 200e-9);
  r.batched_rtt_ns.record(150);
  Floors floors = latency_floors(50, 75, 1000);
  floors.memcpy_bytes_per_s = {{64, 6.4e9}};
  const CaseCounters spin =
      counters_for(spec_of(kPlain, Pattern::pingpong, WaitMode::spin), r, floors);
  EXPECT_DOUBLE_EQ(spin.counters.at("x_floor"), 150.0 / (50 + 2 * 10));
  EXPECT_DOUBLE_EQ(spin.counters.at("x_floor_pair"), 150.0 / (75 + 2 * 10));
  const CaseCounters block =
      counters_for(spec_of(kPlain, Pattern::pingpong, WaitMode::block), r, floors);
  EXPECT_DOUBLE_EQ(block.counters.at("x_floor"), 50.0 / (1000 + 2 * 10));  // p50 trip 50
}

TEST(Counters, APollingCaseUnderItsFloorIsNamedAsContaminated) {
  PairResult r = ok_result(1000, 1000 * 200e-9);
  r.batched_rtt_ns.record(136);
  const PairSpec spin = spec_of(kPlain, Pattern::pingpong, WaitMode::spin);
  const Floors busy = latency_floors(410, 0, 1000);  // read while another process ran
  const std::string name = "pingpong/plain/size:64/capacity:16/wait:spin";
  const std::string warning = floor_contamination(name, spin, counters_for(spin, r, busy), busy);
  EXPECT_NE(warning.find(name), std::string::npos) << warning;
  EXPECT_NE(warning.find("x_floor 0.33"), std::string::npos) << warning;
  EXPECT_NE(warning.find("136 ns"), std::string::npos) << warning;  // the case's round trip
  EXPECT_NE(warning.find("410 ns"), std::string::npos) << warning;  // and the floor
  const Floors idle = latency_floors(68, 0, 1000);
  EXPECT_EQ(floor_contamination(name, spin, counters_for(spin, r, idle), idle), "");
  // Sleeping cases are read against a median of single wake-ups: never flagged.
  const PairSpec block = spec_of(kPlain, Pattern::pingpong, WaitMode::block);
  EXPECT_EQ(floor_contamination(name, block, counters_for(block, r, busy), busy), "");
}

TEST(Counters, FloorsNotMeasuredLeaveTheirRatiosOut) {
  PairResult r = ok_result(1000, 1000 * 200e-9);
  r.batched_rtt_ns.record(150);
  const Floors none = latency_floors(0, NAN, NAN);
  for (WaitMode wait : {WaitMode::spin, WaitMode::block}) {
    const CaseCounters out = counters_for(spec_of(kPlain, Pattern::pingpong, wait), r, none);
    EXPECT_EQ(out.counters.count("x_floor"), 0u) << to_string(wait);
    EXPECT_EQ(out.counters.count("x_floor_pair"), 0u) << to_string(wait);
    EXPECT_EQ(out.counters.count("p50_batched_ns"), 1u) << to_string(wait);
    expect_all_finite(out);
  }
}

TEST(Counters, StreamReportsOneWayFiguresBandwidthFloorAndVerificationCost) {
  PairResult r = ok_result(1000, 1000 * 100e-9);  // 100 ns per message: 10 M/s
  r.stamp_stride = 8;
  r.verify_ns_per_msg = 3.5;
  r.cpu[0] = {.user_ns = 80'000, .sys_ns = 20'000, .msgs = 1000};
  r.cpu[1] = {.user_ns = 99'900, .sys_ns = 0, .msgs = 999};
  Floors floors = latency_floors(50, 0, 1000);
  floors.memcpy_bytes_per_s = {{64, 6.4e9}, {4096, 1e10}};
  const CaseCounters out =
      counters_for(spec_of(kPlain, Pattern::stream, WaitMode::block), r, floors);

  EXPECT_DOUBLE_EQ(out.iteration_seconds, 100e-9);
  EXPECT_EQ(keys(out), with(kAlways, {kLatency,
                                      {"cpu_ns_per_msg_tx", "cpu_sys_ns_per_msg_tx",
                                       "cpu_ns_per_msg_rx", "cpu_sys_ns_per_msg_rx", "x_floor_bw",
                                       "stamp_stride", "verify_ns_per_msg"}}));
  const auto& c = out.counters;
  EXPECT_DOUBLE_EQ(c.at("p50_ns"), 50);  // not halved
  EXPECT_DOUBLE_EQ(c.at("max_ns"), 100);
  EXPECT_DOUBLE_EQ(c.at("msgs_per_s"), 1e7);
  EXPECT_DOUBLE_EQ(c.at("bytes_per_s"), 6.4e8);
  EXPECT_DOUBLE_EQ(c.at("x_floor_bw"), 10);  // memcpy 6.4 GB/s over 640 MB/s
  EXPECT_DOUBLE_EQ(c.at("stamp_stride"), 8);
  EXPECT_DOUBLE_EQ(c.at("verify_ns_per_msg"), 3.5);
  EXPECT_DOUBLE_EQ(c.at("cpu_ns_per_msg_tx"), 100);
  EXPECT_DOUBLE_EQ(c.at("cpu_ns_per_msg_rx"), 100);
  EXPECT_DOUBLE_EQ(c.at("cpu_sys_ns_per_msg_rx"), 0);
  EXPECT_EQ(out.label, "");
  expect_all_finite(out);
}

TEST(Counters, MissingFiguresAreLeftOutAndTheLabelSaysWhy) {
  // 4-byte messages: no timestamp, so no latency; no memcpy floor at this size; a
  // consumer window without messages (--messages 1).
  PairResult r = ok_result(1, 1e-6);
  r.latency_ns = Histogram{};
  r.cpu[0] = {.user_ns = 500, .sys_ns = 0, .msgs = 1};
  Floors floors;
  floors.memcpy_bytes_per_s = {{64, 6.4e9}};
  const CaseCounters out =
      counters_for(spec_of(kShared, Pattern::stream, WaitMode::spin, 4), r, floors);

  EXPECT_EQ(keys(out), with(kAlways, {{"cpu_ns_per_msg_tx", "cpu_sys_ns_per_msg_tx", "stamp_stride",
                                       "verify_ns_per_msg"}}));
  EXPECT_EQ(
      out.label,
      "backing: posix_shm; one-way latency not measured: a message under 8 B has no room for a "
      "timestamp");
  expect_all_finite(out);
}

TEST(Counters, LossIsAnErrorUnlessTheMechanismMayLose) {
  PairResult r = ok_result(900, 900 * 1e-6);
  r.verify = {.verified = 900, .lost = 100};

  const CaseCounters strict =
      counters_for(spec_of(kPlain, Pattern::stream, WaitMode::block), r, Floors{});
  EXPECT_DOUBLE_EQ(strict.counters.at("errors"), 100);
  EXPECT_DOUBLE_EQ(strict.counters.at("lost_msgs"), 100);
  EXPECT_EQ(strict.counters.count("loss_ratio"), 0u);
  EXPECT_EQ(strict.label, "");

  r.verify.corrupted = 2;
  const CaseCounters lossy =
      counters_for(spec_of(kLossy, Pattern::stream, WaitMode::block), r, Floors{});
  EXPECT_DOUBLE_EQ(lossy.counters.at("errors"), 2);  // corruption still counts
  EXPECT_DOUBLE_EQ(lossy.counters.at("lost_msgs"), 100);
  EXPECT_DOUBLE_EQ(lossy.counters.at("loss_ratio"), 0.1);  // of 1000 sent
  EXPECT_EQ(lossy.label,
            "loss allowed (datagram semantics): lost messages are counted, not errors");
}

PairResult rate_result(double achieved_msgs_per_s, std::uint64_t late_sends) {
  PairResult r = ok_result(100, 100 / achieved_msgs_per_s);
  r.sent_msgs = 100;
  r.late_sends = late_sends;
  r.max_send_lag_ns = 4000;
  r.mean_send_lag_ns = 250;
  r.stamp_stride = 1;
  return r;
}

PairSpec rate_spec(std::uint64_t offered_msgs_per_s) {
  PairSpec spec = spec_of(kPlain, Pattern::rate, WaitMode::block);
  spec.offered_msgs_per_s = offered_msgs_per_s;
  return spec;
}

TEST(Counters, RateKeptUpWithBecomesTheSeriesBase) {
  const CaseCounters out = counters_for(rate_spec(1000), rate_result(1000, 10), Floors{});
  EXPECT_EQ(keys(out), with(kAlways, {kLatency,
                                      {"offered_msgs_per_s", "late_send_ratio", "max_send_lag_ns",
                                       "mean_send_lag_ns", "saturated", "stamp_stride",
                                       "verify_ns_per_msg"}}));
  const auto& c = out.counters;
  EXPECT_DOUBLE_EQ(c.at("offered_msgs_per_s"), 1000);
  EXPECT_DOUBLE_EQ(c.at("msgs_per_s"), 1000);
  EXPECT_DOUBLE_EQ(c.at("late_send_ratio"), 0.1);
  EXPECT_DOUBLE_EQ(c.at("max_send_lag_ns"), 4000);
  EXPECT_DOUBLE_EQ(c.at("mean_send_lag_ns"), 250);
  EXPECT_DOUBLE_EQ(c.at("saturated"), 0);
  EXPECT_EQ(out.saturated_why, "");
  EXPECT_EQ(out.label, "");

  RateSeries series;
  note_rate(series, 1000, out);
  EXPECT_EQ(series.base_rate, 1000u);
  EXPECT_DOUBLE_EQ(series.base_p50_ns, 50);
  EXPECT_EQ(series.saturated_at, 0u);
}

TEST(Counters, RateShortOfOfferedWithLateSendsSaturatesTheSeries) {
  const CaseCounters out = counters_for(rate_spec(10'000), rate_result(1000, 80), Floors{});
  EXPECT_DOUBLE_EQ(out.counters.at("saturated"), 1);
  EXPECT_EQ(out.saturated_why, "achieved 1k of 10k msgs/s offered");
  EXPECT_EQ(out.label, "saturated: achieved 1k of 10k msgs/s offered");

  RateSeries series{.base_rate = 1000, .base_p50_ns = 50};
  note_rate(series, 10'000, out);
  EXPECT_EQ(series.saturated_at, 10'000u);
  EXPECT_EQ(series.why, "saturated at 10k msgs/s offered (achieved 1k of 10k msgs/s offered)");
  EXPECT_EQ(series.base_rate, 1000u);  // unchanged

  // A later saturated repetition keeps the first verdict.
  const CaseCounters again = counters_for(rate_spec(10'000), rate_result(2000, 90), Floors{});
  note_rate(series, 10'000, again);
  EXPECT_EQ(series.why, "saturated at 10k msgs/s offered (achieved 1k of 10k msgs/s offered)");
}

TEST(Counters, RateShortfallWithoutLateSendsBacklogOrLossIsNotSaturation) {
  // A single stall at the end of a short case: delivered under 95%, nothing sustained.
  const CaseCounters out = counters_for(rate_spec(10'000), rate_result(9000, 0), Floors{});
  EXPECT_DOUBLE_EQ(out.counters.at("saturated"), 0);
  // The same with the p50 (50 ns) past twice the series's base (20 ns): a backlog.
  const RateSeries series{.base_rate = 1000, .base_p50_ns = 20};
  const CaseCounters backlog =
      counters_for(rate_spec(10'000), rate_result(9000, 0), Floors{}, series);
  EXPECT_EQ(backlog.saturated_why, "achieved 9k of 10k msgs/s offered");
}

TEST(Counters, RateWhoseP50ExplodesPastTheBaseSaturates) {
  PairResult r = rate_result(3000, 0);  // keeps up...
  r.latency_ns = Histogram{};
  r.latency_ns.record(2000);  // ...but at 2 us, over 10 x the base's 100 ns
  const RateSeries series{.base_rate = 1000, .base_p50_ns = 100};
  const CaseCounters out = counters_for(rate_spec(3000), r, Floors{}, series);
  EXPECT_EQ(out.saturated_why, "p50 2 us at 3k msgs/s offered, over 10x the 100 ns at 1k");
  EXPECT_DOUBLE_EQ(out.counters.at("saturated"), 1);
}

TEST(Counters, RateWithoutLatencyNeverBecomesTheBase) {
  PairResult r = rate_result(1000, 0);
  r.latency_ns = Histogram{};
  const CaseCounters out = counters_for(rate_spec(1000), r, Floors{});
  RateSeries series;
  note_rate(series, 1000, out);
  EXPECT_EQ(series.base_rate, 0u);
  expect_all_finite(out);
}

TEST(Counters, OutcomesOtherThanOkCarryTheirReasonAndNoFigures) {
  const PairSpec spec = spec_of(kPlain, Pattern::pingpong, WaitMode::spin);
  PairResult r = ok_result(1000, 1e-3);

  r.outcome = Outcome::not_runnable;
  r.message = "needs 4 bytes";
  CaseCounters out = counters_for(spec, r, Floors{});
  EXPECT_EQ(out.error, "not runnable: needs 4 bytes");
  EXPECT_FALSE(out.failed);
  EXPECT_TRUE(out.counters.empty());
  EXPECT_EQ(out.label, "");

  r.outcome = Outcome::failed;
  r.message = "consumer failed: peer closed its end";
  out = counters_for(spec, r, Floors{});
  EXPECT_EQ(out.error, "consumer failed: peer closed its end");
  EXPECT_TRUE(out.failed);
  EXPECT_TRUE(out.counters.empty());

  r.outcome = Outcome::interrupted;
  r.message = "interrupted";
  out = counters_for(spec, r, Floors{});
  EXPECT_EQ(out.error, "interrupted");
  EXPECT_FALSE(out.failed);
  EXPECT_TRUE(out.counters.empty());
}

}  // namespace
}  // namespace ipcbench
