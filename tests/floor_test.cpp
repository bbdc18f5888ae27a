// The floor measurements: they run, return finite positive figures, and leave no
// process behind. (Their size is never asserted: tests check correctness, not speed.)
#include "harness/floor.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>

#include <cerrno>
#include <cmath>

#include "harness/environment.hpp"
#include "harness/report.hpp"

namespace ipcbench {
namespace {

std::array<int, 2> two_cpus() {
  const std::vector<int> cpus = allowed_cpus();
  return {cpus.at(0), cpus.size() > 1 ? cpus[1] : cpus[0]};
}

bool no_child_left() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

TEST(Floor, MeasuresEveryFloorAndReapsItsHelper) {
  const auto cpus = two_cpus();
  const Floors f = measure_floors(cpus, {64, 4096}, 20.0);
  if (cpus[0] != cpus[1]) {
    EXPECT_TRUE(std::isfinite(f.cacheline_rtt_ns) && f.cacheline_rtt_ns > 0);
  } else {
    EXPECT_EQ(f.cacheline_rtt_ns, 0);  // not measured on one CPU
  }
  EXPECT_TRUE(std::isfinite(f.wake_rtt_ns) && f.wake_rtt_ns > 0);
  EXPECT_GT(f.syscall_ns, 0);
  EXPECT_EQ(f.clock_ns, 20.0);
  ASSERT_EQ(f.memcpy_bytes_per_s.size(), 2u);
  for (const auto& [size, rate] : f.memcpy_bytes_per_s)
    EXPECT_TRUE(std::isfinite(rate) && rate > 0) << size;
  EXPECT_TRUE(no_child_left());
}

TEST(Floor, LeavesTheCallerUnpinned) {
  cpu_set_t before, after;
  CPU_ZERO(&before);
  CPU_ZERO(&after);
  ASSERT_EQ(::sched_getaffinity(0, sizeof before, &before), 0);
  measure_wake_rtt_ns(two_cpus());
  ASSERT_EQ(::sched_getaffinity(0, sizeof after, &after), 0);
  EXPECT_TRUE(CPU_EQUAL(&before, &after));
}

TEST(Floor, ContextKeys) {
  Floors f;
  f.cacheline_rtt_ns = 100;
  f.wake_rtt_ns = 50'000;
  f.memcpy_bytes_per_s[64] = 1e10;
  nlohmann::json env;
  add_floors_to_context(f, env);
  EXPECT_EQ(env["floor_cacheline_rtt_ns"], 100.0);
  EXPECT_EQ(env["floor_memcpy_bytes_per_s"]["64"], 1e10);
  f.cacheline_rtt_ns = 0;
  add_floors_to_context(f, env);
  EXPECT_TRUE(env["floor_cacheline_rtt_ns"].is_null());
}

TEST(Floor, KeepsTheLowestReadingAnotherConfirms) {
  EXPECT_EQ(stable_minimum({}), 0);
  EXPECT_EQ(stable_minimum({120}), 120);  // alone: the lowest
  // Read under load first (410, 405), then idle (68, 70): the idle pair is kept.
  EXPECT_EQ(stable_minimum({410, 405, 68, 70}), 68);
  // A lone low reading nobody confirms gives way to the lowest confirmed pair.
  EXPECT_EQ(stable_minimum({40, 100, 105, 300}), 100);
  EXPECT_EQ(stable_minimum({0, 100, 104}), 100);  // a failed reading is not one
  EXPECT_EQ(stable_minimum({100, 200}), 100);     // none confirmed: the lowest
  EXPECT_EQ(stable_maximum({5e9, 1e10, 9.5e9}), 1e10);
  EXPECT_EQ(stable_maximum({2e10, 1e10, 9.5e9}), 1e10);
}

TEST(Floor, MeasuresAgainWhileReadingsDisagree) {
  EXPECT_TRUE(needs_another_reading({}));
  EXPECT_TRUE(needs_another_reading({100}));
  EXPECT_FALSE(needs_another_reading({100, 105}));
  EXPECT_FALSE(needs_another_reading({100, 100}));
  EXPECT_TRUE(needs_another_reading({410, 68}));        // none confirmed
  EXPECT_TRUE(needs_another_reading({100, 105, 140}));  // the latest 40% off the kept 100
  EXPECT_FALSE(needs_another_reading({100, 105, 120}));
  EXPECT_FALSE(needs_another_reading({410, 405, 68, 70}));
  EXPECT_TRUE(needs_another_reading({146, 145, 125}));  // a lower one to confirm or refute
  EXPECT_FALSE(needs_another_reading({146, 145, 125, 126}));
  EXPECT_FALSE(needs_another_reading({146, 145, 125, 160}));  // not confirmed: 145 stays
}

TEST(Floor, ModelAddsTheMessageCopiedEachWay) {
  Floors f;
  f.cacheline_rtt_ns = 70;
  f.cacheline_pair_rtt_ns = 140;
  f.wake_rtt_ns = 40'000;
  f.memcpy_bytes_per_s = {{64, 6.4e10}, {16u << 20, 16.0 * (1 << 20) * 1e3}};  // 1 ns; 1 ms
  EXPECT_DOUBLE_EQ(pingpong_floor_rtt_ns(f, true, 64), 70 + 2 * 1.0);
  EXPECT_DOUBLE_EQ(pingpong_floor_rtt_ns(f, false, 64), 40'000 + 2 * 1.0);
  EXPECT_DOUBLE_EQ(pingpong_floor_rtt_ns(f, true, 16u << 20), 70 + 2 * 1e6);
  EXPECT_DOUBLE_EQ(pingpong_pair_floor_rtt_ns(f, 16u << 20), 140 + 2 * 1e6);
  EXPECT_DOUBLE_EQ(pingpong_floor_rtt_ns(f, true, 4096), 70);  // no memcpy figure: latency alone
  f.cacheline_rtt_ns = 0;
  EXPECT_EQ(pingpong_floor_rtt_ns(f, true, 64), 0);  // not measured: no floor
}

TEST(Floor, ContextHoldsEveryReadingAndTheModel) {
  Floors f;
  f.readings.cacheline_rtt_ns = {410, 405, 68, 70};
  f.cacheline_rtt_ns = 68;
  f.memcpy_bytes_per_s[64] = 1e10;
  f.readings.memcpy_bytes_per_s[64] = {9e9, 1e10};
  nlohmann::json env;
  add_floors_to_context(f, env);
  EXPECT_EQ(env["floor_cacheline_rtt_ns"], 68.0);
  EXPECT_EQ(env["floor_cacheline_rtt_ns_readings"], nlohmann::json({410, 405, 68, 70}));
  EXPECT_EQ(env["floor_memcpy_bytes_per_s_readings"]["64"], nlohmann::json({9e9, 1e10}));
  EXPECT_EQ(env["floor_model"], kFloorModel);
  const Floors back = floors_from_context(env);
  EXPECT_EQ(back.cacheline_rtt_ns, 68);
  EXPECT_EQ(back.wake_rtt_ns, 0);  // null: not measured
  EXPECT_EQ(back.memcpy_bytes_per_s.at(64), 1e10);
}

// A results document as Google Benchmark writes it: two repetitions and their aggregates.
nlohmann::json results_doc(const char* run_name, double p50_batched_a, double p50_batched_b) {
  nlohmann::json doc;
  Floors f;
  f.cacheline_rtt_ns = 100;
  f.cacheline_pair_rtt_ns = 200;
  f.wake_rtt_ns = 1000;
  add_floors_to_context(f, doc["context"]);
  for (double p : {p50_batched_a, p50_batched_b}) {
    doc["benchmarks"].push_back({{"name", run_name},
                                 {"run_name", run_name},
                                 {"run_type", "iteration"},
                                 {"p50_ns", p},
                                 {"p50_batched_ns", p},
                                 {"x_floor", 99.0}});
  }
  for (const char* what : {"mean", "median", "stddev", "cv"}) {
    doc["benchmarks"].push_back({{"name", std::string(run_name) + "_" + what},
                                 {"run_name", run_name},
                                 {"run_type", "aggregate"},
                                 {"aggregate_name", what},
                                 {"x_floor", 99.0}});
  }
  return doc;
}

TEST(Floor, ResultsRatiosAreDerivedFromTheFileFloors) {
  nlohmann::json doc = results_doc("pingpong/m/size:64/capacity:16/wait:spin", 100, 200);
  rederive_floor_ratios(doc);
  const auto& rows = doc["benchmarks"];
  EXPECT_DOUBLE_EQ(rows[0]["x_floor"], 2.0);  // round trip 200 ns over a 100 ns floor
  EXPECT_DOUBLE_EQ(rows[1]["x_floor"], 4.0);
  EXPECT_DOUBLE_EQ(rows[0]["x_floor_pair"], 1.0);
  EXPECT_DOUBLE_EQ(rows[2]["x_floor"], 3.0);  // mean
  EXPECT_DOUBLE_EQ(rows[3]["x_floor"], 3.0);  // median
  EXPECT_DOUBLE_EQ(rows[4]["x_floor"], std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(rows[5]["x_floor"], std::sqrt(2.0) / 3);
  EXPECT_TRUE(polling_under_floor(doc).empty());
}

TEST(Floor, APlacementCaseIsReadAgainstItsOwnPlacementsFloors) {
  nlohmann::json doc =
      results_doc("pingpong/m/size:64/capacity:16/wait:spin/placement:far", 100, 200);
  Floors far;
  far.cacheline_rtt_ns = 400;
  add_floors_to_context(far, doc["context"]["placements"]["far"]);
  add_floors_to_context(Floors{}, doc["context"]["placements"]["near"]);
  rederive_floor_ratios(doc);
  EXPECT_DOUBLE_EQ(doc["benchmarks"][0]["x_floor"], 0.5);       // 200 ns over far's 400, not 100
  EXPECT_DOUBLE_EQ(doc["benchmarks"][3]["x_floor"], 0.75);      // median
  EXPECT_FALSE(doc["benchmarks"][0].contains("x_floor_pair"));  // far has no pair floor
  // A placement whose cache-line floor was not measured (one CPU): no polling ratio.
  nlohmann::json near =
      results_doc("pingpong/m/size:64/capacity:16/wait:spin/placement:near", 1, 2);
  add_floors_to_context(Floors{}, near["context"]["placements"]["near"]);
  rederive_floor_ratios(near);
  EXPECT_FALSE(near["benchmarks"][0].contains("x_floor"));
}

TEST(Floor, PollingCasesUnderTheirFloorAreListed) {
  nlohmann::json doc = results_doc("pingpong/m/size:64/capacity:16/wait:spin", 30, 20);
  rederive_floor_ratios(doc);
  const std::vector<std::string> under = polling_under_floor(doc);  // one line, the lowest
  ASSERT_EQ(under.size(), 1u);
  EXPECT_EQ(under[0], "pingpong/m/size:64/capacity:16/wait:spin: x_floor 0.40");
  // Sleeping cases are not polling ones.
  nlohmann::json sleeping = results_doc("pingpong/m/size:64/capacity:16/wait:block", 20, 20);
  rederive_floor_ratios(sleeping);
  EXPECT_DOUBLE_EQ(sleeping["benchmarks"][0]["x_floor"], 0.04);
  EXPECT_TRUE(polling_under_floor(sleeping).empty());
}

TEST(Floor, AFloorReadUnderLoadIsMeasuredAgainBeforeTheFileIsWritten) {
  // Floor 100 ns (read while busy); the case's round trip 40 ns: x_floor 0.4.
  nlohmann::json doc = results_doc("pingpong/m/size:64/capacity:16/wait:spin", 20, 20);
  int measured = 0;
  settle_floor_ratios(doc, 2, [&](nlohmann::json& context) {
    ++measured;
    context["floor_cacheline_rtt_ns"] = 35.0;  // the clean reading
    return true;
  });
  EXPECT_EQ(measured, 1);
  EXPECT_DOUBLE_EQ(doc["benchmarks"][0]["x_floor"], 40.0 / 35);
  ASSERT_EQ(doc["context"]["warnings"].size(), 1u);
  const std::string warning = doc["context"]["warnings"][0];
  EXPECT_NE(warning.find("pingpong/m/size:64/capacity:16/wait:spin: x_floor 0.40"),
            std::string::npos)
      << warning;
  EXPECT_NE(warning.find("100 ns"), std::string::npos) << warning;
}

TEST(Floor, ACaseStillUnderItsFloorIsWarnedAboutNotClamped) {
  nlohmann::json doc = results_doc("pingpong/m/size:64/capacity:16/wait:spin", 20, 20);
  int measured = 0;
  settle_floor_ratios(doc, 2, [&](nlohmann::json&) { return ++measured, true; });
  EXPECT_EQ(measured, 2);
  EXPECT_DOUBLE_EQ(doc["benchmarks"][0]["x_floor"], 0.4);
  ASSERT_EQ(doc["context"]["warnings"].size(), 3u);  // one per case and round
  EXPECT_NE(doc["context"]["warnings"][2].get<std::string>().find("left as measured"),
            std::string::npos);
}

}  // namespace
}  // namespace ipcbench
