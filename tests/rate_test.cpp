// The open-loop rate pattern (every message delivered and verified; latency counted
// from the intended send time, so a stalled producer shows in the messages it delayed)
// and the planning of presets made of several grids. Correctness only: no assertion
// depends on how fast this machine is, only on lower bounds the harness guarantees.
#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bench/presets.hpp"
#include "bench/suite.hpp"
#include "harness/pair.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

PairSpec rate_spec(const Mechanism& m, WaitMode wait, std::uint64_t rate, std::uint64_t msgs) {
  PairSpec spec;
  spec.mechanism = &m;
  spec.config = {.pattern = Pattern::rate,
                 .msg_bytes = 64,
                 .capacity_msgs = 8,
                 .wait = wait};  // 8: within posix_mq msg_max 10
  spec.offered_msgs_per_s = rate;
  spec.fixed_msgs = msgs;
  spec.timeout_seconds = 20;
  return spec;
}

constexpr std::uint64_t kWarmupMsgs = 64;  // the fixed warm-up before --messages N

class RateDelivers : public ::testing::TestWithParam<std::tuple<const char*, WaitMode>> {};

TEST_P(RateDelivers, EveryMessageArrivesVerifiedAndStamped) {
  const auto [name, wait] = GetParam();
  const Mechanism* m = find_mechanism(name);
  ASSERT_NE(m, nullptr);
  const PairResult r = run_pair(rate_spec(*m, wait, 20'000, 1'000));
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.verify.errors(), 0u);
  EXPECT_EQ(r.verify.verified, kWarmupMsgs + 1'000);
  EXPECT_EQ(r.sent_msgs, 1'000u);
  EXPECT_EQ(r.measured_msgs, 999u);  // intervals between the first and last receipt
  // 50 us between messages: every one is stamped (stride 1), and each latency is a
  // real, positive delay.
  EXPECT_EQ(r.stamp_stride, 1u);
  EXPECT_EQ(r.latency_ns.count(), 1'000u);
  EXPECT_GT(r.latency_ns.min_ns(), 0u);
  EXPECT_LE(r.late_sends, r.sent_msgs);
  EXPECT_GE(r.max_send_lag_ns, static_cast<std::uint64_t>(r.mean_send_lag_ns));
  // The schedule sets the pace: the last message is due 999 x 50 us after the first
  // and is received after its due time; the first was received at most the largest
  // latency after its own. (A producer still catching up on a backlog when measuring
  // starts delivers faster than offered, so the interval alone has no lower bound.)
  EXPECT_GE(r.measured_seconds + static_cast<double>(r.latency_ns.max_ns()) * 1e-9,
            999 * 50e-6 * 0.99);
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, RateDelivers,
                         ::testing::Combine(::testing::Values("shm_ring", "pipe", "unix_dgram",
                                                              "posix_mq"),
                                            ::testing::Values(WaitMode::block, WaitMode::spin)));

TEST(Rate, SlowRatesSleepAndStillKeepTheSchedule) {
  // 500 messages/s: 2 ms gaps, slept with clock_nanosleep (see the bound above).
  const PairResult r = run_pair(rate_spec(*find_mechanism("pipe"), WaitMode::block, 500, 100));
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.verify.verified, kWarmupMsgs + 100);
  EXPECT_GE(r.measured_seconds + static_cast<double>(r.latency_ns.max_ns()) * 1e-9,
            99 * 2e-3 * 0.99);
}

TEST(Rate, NoRateIsAHarnessError) {
  const PairResult r = run_pair(rate_spec(*find_mechanism("pipe"), WaitMode::block, 0, 100));
  EXPECT_EQ(r.outcome, Outcome::failed);
  EXPECT_NE(r.message.find("offered rate"), std::string::npos) << r.message;
}

// A producer that stalls once, as a preempted or page-faulting sender would: its
// send of the given message sleeps first. Test-only, on a real pipe.
constexpr std::uint64_t kStallAtSend = kWarmupMsgs + 200;
constexpr std::uint64_t kStallNs = 30'000'000;

class StallingEndpoint final : public Endpoint {
 public:
  explicit StallingEndpoint(std::unique_ptr<Endpoint> inner) : inner_(std::move(inner)) {}
  void send(std::span<const std::byte> msg) override {
    if (++sends_ == kStallAtSend) {
      const timespec pause{0, static_cast<long>(kStallNs)};
      ::nanosleep(&pause, nullptr);  // sleeps at least that long
    }
    inner_->send(msg);
  }
  std::size_t recv(std::span<std::byte> buf) override { return inner_->recv(buf); }

 private:
  std::unique_ptr<Endpoint> inner_;
  std::uint64_t sends_ = 0;
};

class StallingChannel final : public Channel {
 public:
  explicit StallingChannel(std::unique_ptr<Channel> inner) : inner_(std::move(inner)) {
    granted_ = inner_->granted();
  }
  std::unique_ptr<Endpoint> open(Side side) override {
    return side == Side::a ? std::make_unique<StallingEndpoint>(inner_->open(side))
                           : inner_->open(side);
  }
  void forked() override { inner_->forked(); }

 private:
  std::unique_ptr<Channel> inner_;
};

Mechanism stalling_pipe() {
  Mechanism m;
  m.name = "stalling_pipe";
  m.create = [](const ChannelConfig& cfg) -> std::unique_ptr<Channel> {
    return std::make_unique<StallingChannel>(find_mechanism("pipe")->create(cfg));
  };
  return m;
}

TEST(Rate, LatencyCountsFromTheIntendedSendTime) {
  // 10,000 messages/s, 1,000 measured; the 201st measured send stalls 30 ms. That
  // message was due before the stall and arrives after it: its latency is >= 30 ms.
  // The ~300 messages due during the stall are sent late too, each latency >= its
  // lag. A closed loop (stamping at the actual send) would show none of this.
  const Mechanism m = stalling_pipe();
  const PairResult r = run_pair(rate_spec(m, WaitMode::block, 10'000, 1'000));
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.verify.errors(), 0u);
  ASSERT_EQ(r.latency_ns.count(), 1'000u);
  EXPECT_GE(r.latency_ns.max_ns(), kStallNs);
  // The messages due in the first half of the stall were sent >= 15 ms late: ~150 of
  // 1,000, so the 90th percentile is past 15 ms (bucket midpoints are within 0.4%).
  EXPECT_GE(r.latency_ns.percentile(0.90), 0.99 * kStallNs / 2);
  // The producer saw the lag it caused: the send after the stall started >= 30 ms
  // after its due time minus one gap, and over 100 sends were late.
  EXPECT_GE(r.max_send_lag_ns, kStallNs - 100'000);
  EXPECT_GE(r.late_sends, 100u);
}

// --- planning ------------------------------------------------------------------

GridPlan grid_from(const Grid& g) {
  GridPlan p;
  p.name = g.name;
  for (const Mechanism* m : mechanisms()) {
    if (grid_has(g, *m)) p.mechanisms.push_back(m);
  }
  p.patterns = g.patterns;
  p.sizes = g.sizes;
  p.capacities = g.capacities;
  p.waits = g.waits;
  p.rates_msgs_per_s = g.rates_msgs_per_s;
  p.repetitions = g.repetitions;
  p.case_seconds = g.case_seconds;
  return p;
}

RunPlan preset_plan(const Preset& preset) {
  RunPlan plan;
  plan.grids.push_back(grid_from(preset.main));
  for (const Grid& g : preset.sweeps) plan.grids.push_back(grid_from(g));
  return plan;
}

// pattern/mechanism/size:N/capacity:N/wait:W, and /rate:N exactly for a rate case,
// /consumers:N for fanout, /producers:N for fanin, /pairs:N or nothing for the others.
// (No std::regex: GCC 12's <regex> trips -Wmaybe-uninitialized under ASan.)
bool well_formed(const std::string& name) {
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const std::size_t slash = name.find('/', start);
    parts.push_back(name.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  auto number_after = [](const std::string& part, const std::string& key) {
    return part.starts_with(key) && part.size() > key.size() &&
           part.find_first_not_of("0123456789", key.size()) == std::string::npos;
  };
  // The sixth field each pattern must have (pingpong and stream: none, or /pairs:N).
  const std::map<std::string, std::string> sixth = {
      {"rate", "rate:"},       {"fanout", "consumers:"}, {"compete", "consumers:"},
      {"fanin", "producers:"}, {"pingpong", "pairs:"},   {"stream", "pairs:"}};
  const auto key = sixth.find(parts[0]);
  if (key == sixth.end()) return false;
  const bool optional = parts[0] == "pingpong" || parts[0] == "stream";
  if (parts.size() != 6u && !(optional && parts.size() == 5u)) return false;
  return find_mechanism(parts[1]) != nullptr && number_after(parts[2], "size:") &&
         (number_after(parts[3], "capacity:") || parts[3] == "capacity:max") &&
         parts[4].starts_with("wait:") && parts[4].size() > 5 &&
         (parts.size() == 5u || number_after(parts[5], key->second));
}

TEST(Plan, EveryPresetHasUniqueWellFormedNames) {
  EXPECT_FALSE(well_formed("rate/pipe/size:64/capacity:16/wait:block"));
  EXPECT_FALSE(well_formed("stream/pipe/size:64/capacity:16/wait:block/rate:5"));
  EXPECT_FALSE(well_formed("fanout/pipe/size:64/capacity:16/wait:block"));
  EXPECT_TRUE(well_formed("fanin/pipe/size:64/capacity:16/wait:block/producers:2"));
  EXPECT_TRUE(well_formed("compete/pipe/size:64/capacity:0/wait:block/consumers:2"));
  EXPECT_FALSE(well_formed("compete/pipe/size:64/capacity:16/wait:block/producers:2"));
  EXPECT_TRUE(well_formed("stream/pipe/size:64/capacity:16/wait:block/pairs:2"));
  EXPECT_TRUE(well_formed("stream/pipe/size:64/capacity:max/wait:block"));
  EXPECT_FALSE(well_formed("stream/pipe/size:64/capacity:maxx/wait:block"));
  for (const Preset& preset : presets()) {
    const std::vector<Case> cases = plan_cases(preset_plan(preset), 20, 1);
    ASSERT_FALSE(cases.empty()) << preset.name;
    std::set<std::string> names;
    for (const Case& c : cases) {
      EXPECT_TRUE(names.insert(c.name).second) << preset.name << ": " << c.name << " planned twice";
      EXPECT_TRUE(well_formed(c.name)) << c.name;
      EXPECT_EQ(c.spec.config.pattern == Pattern::rate, c.spec.offered_msgs_per_s > 0) << c.name;
    }
  }
}

TEST(Plan, DefaultHasTheCapacityAndRateSweepsAndACaseInTwoGridsRunsOnceWithTheFirstGridsSettings) {
  const Preset& d = *find_preset("default");
  const std::vector<Case> cases = plan_cases(preset_plan(d), 20, 1);
  std::map<std::string, const Case*> by_name;
  for (const Case& c : cases) by_name[c.name] = &c;
  // The capacity sweep: a rendezvous (0), then 1, 16, 64, 256 and 1024 for the pipe at 64 B
  // and 64 KiB, one short repetition.
  for (int cap : {0, 1, 16, 64, 256, 1024}) {
    for (const char* size : {"64", "65536"}) {
      const std::string name = "stream/pipe/size:" + std::string(size) +
                               "/capacity:" + std::to_string(cap) + "/wait:block";
      ASSERT_TRUE(by_name.count(name)) << name;
      if (cap != 16) {
        EXPECT_EQ(by_name[name]->grid, "capacity");
        EXPECT_EQ(by_name[name]->repetitions, 1);
      }
    }
  }
  // Capacity 16 is in the main grid too: planned once, with the main grid's settings.
  const Case& shared = *by_name.at("stream/pipe/size:64/capacity:16/wait:block");
  EXPECT_EQ(shared.grid, "main");
  EXPECT_EQ(shared.repetitions, d.main.repetitions);
  EXPECT_DOUBLE_EQ(shared.spec.target_seconds, d.main.case_seconds);
  // The rate sweep: every kernel mechanism that streams (not the RPC frameworks and
  // messaging libraries), in increasing rate per series.
  std::map<std::string, std::uint64_t> last_rate;
  std::set<std::string> rate_mechs;
  for (const Case& c : cases) {
    if (c.spec.config.pattern != Pattern::rate) continue;
    rate_mechs.insert(std::string(c.spec.mechanism->name));
    const std::string series = rate_series(c.name);
    EXPECT_GT(c.spec.offered_msgs_per_s, last_rate[series]) << c.name;
    last_rate[series] = c.spec.offered_msgs_per_s;
    EXPECT_EQ(c.name, series + "/rate:" + std::to_string(c.spec.offered_msgs_per_s));
  }
  // Every streaming mechanism of the kernel families, but those the rate grid excepts
  // (made for a group or one question: they run in sweeps of their own).
  const Grid* rate_grid = find_sweep(d, "rate");
  ASSERT_NE(rate_grid, nullptr);
  std::size_t streaming = 0;
  for (const Mechanism* m : mechanisms()) {
    const bool layer = m->family == kFamilyRpc || m->family == kFamilyLibrary;
    const bool own_sweep = std::find(rate_grid->except.begin(), rate_grid->except.end(), m->name) !=
                           rate_grid->except.end();
    streaming += m->stream && !layer && !own_sweep ? 1 : 0;
    if (layer || own_sweep) {
      EXPECT_FALSE(rate_mechs.contains(std::string(m->name))) << m->name;
    }
  }
  EXPECT_EQ(rate_mechs.size(), streaming);
}

TEST(Plan, GridsAreFilteredOneByOneAndAnEmptyGridPlansNothing) {
  RunPlan plan;
  GridPlan g;
  g.name = "main";
  g.mechanisms = {find_mechanism("pipe")};
  g.patterns = {Pattern::pingpong, Pattern::rate};
  g.sizes = {64};
  g.capacities = {4};
  g.waits = {WaitMode::block};
  g.rates_msgs_per_s = {300'000, 1'000};  // planned ascending whatever the order given
  g.repetitions = 2;
  g.case_seconds = 0.3;
  plan.grids.push_back(g);
  GridPlan empty = g;
  empty.name = "nothing";
  empty.mechanisms.clear();
  plan.grids.push_back(empty);
  const std::vector<Case> cases = plan_cases(plan, 20, 1);
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0].name, "pingpong/pipe/size:64/capacity:4/wait:block");
  EXPECT_EQ(cases[1].name, "rate/pipe/size:64/capacity:4/wait:block/rate:1000");
  EXPECT_EQ(cases[2].name, "rate/pipe/size:64/capacity:4/wait:block/rate:300000");
  for (const Case& c : cases) {
    EXPECT_EQ(c.repetitions, 2);
    EXPECT_DOUBLE_EQ(c.spec.target_seconds, 0.3);
  }
}

TEST(Plan, EachCaseRunsOncePerPlacementOnItsPair) {
  RunPlan plan;
  GridPlan g;
  g.name = "main";
  g.mechanisms = {find_mechanism("pipe")};
  g.patterns = {Pattern::pingpong, Pattern::rate};
  g.sizes = {64};
  g.capacities = {4};
  g.waits = {WaitMode::block};
  g.rates_msgs_per_s = {1'000, 2'000};
  plan.grids.push_back(g);
  plan.cpus = {0, 1};
  plan.placements = {
      {.placement = Placement::same_cpu, .cpus = {3, 3}, .not_offered = ""},
      {.placement = Placement::cross_numa, .cpus = {-1, -1}, .not_offered = "no NUMA"}};
  const std::vector<Case> cases = plan_cases(plan, 20, 1);
  ASSERT_EQ(cases.size(), 6u);
  EXPECT_EQ(cases[0].name, "pingpong/pipe/size:64/capacity:4/wait:block/placement:same_cpu");
  EXPECT_EQ(cases[1].name, "pingpong/pipe/size:64/capacity:4/wait:block/placement:cross_numa");
  // Before /rate:N, so each placement's rates are a series of their own, in order.
  EXPECT_EQ(cases[2].name, "rate/pipe/size:64/capacity:4/wait:block/placement:same_cpu/rate:1000");
  EXPECT_EQ(rate_series(cases[2].name),
            "rate/pipe/size:64/capacity:4/wait:block/placement:same_cpu");
  EXPECT_EQ(cases[5].name,
            "rate/pipe/size:64/capacity:4/wait:block/placement:cross_numa/rate:2000");
  EXPECT_EQ(cases[0].spec.cpus, (std::array<int, 2>{3, 3}));
  EXPECT_EQ(cases[0].placement, "same_cpu");
  EXPECT_TRUE(cases[0].not_offered.empty());
  EXPECT_EQ(cases[1].not_offered, "no NUMA");
  // Without placements, the names and CPUs are the run's own.
  plan.placements.clear();
  const std::vector<Case> plain = plan_cases(plan, 20, 1);
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain[0].name, "pingpong/pipe/size:64/capacity:4/wait:block");
  EXPECT_EQ(plain[0].spec.cpus, (std::array<int, 2>{0, 1}));
  EXPECT_TRUE(plain[0].placement.empty());
}

TEST(Plan, SweepsResolveInThePresetThenInDefault) {
  const Preset& quick = *find_preset("quick");
  const Preset& full = *find_preset("full");
  ASSERT_NE(find_sweep(quick, "rate"), nullptr);
  EXPECT_EQ(find_sweep(quick, "rate"), find_sweep(*find_preset("default"), "rate"));
  EXPECT_NE(find_sweep(full, "capacity"), find_sweep(*find_preset("default"), "capacity"));
  EXPECT_EQ(find_sweep(full, "nope"), nullptr);
  for (const Preset& p : presets()) {
    for (const Grid& g : p.sweeps) {
      EXPECT_NE(std::string(sweep_names()).find(g.name), std::string::npos) << g.name;
    }
  }
}

}  // namespace
}  // namespace ipcbench
