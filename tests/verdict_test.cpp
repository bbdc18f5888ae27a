// The verdict: per pattern x size x way of waiting, the best mechanism, its median and
// MAD, the runner-up and the ratio, from hand-made Google Benchmark entries.
#include "harness/verdict.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

namespace ipcbench {
namespace {

using nlohmann::json;

// One iteration entry per value (a repetition each).
void add(json& b, const std::string& name, const char* key, const std::vector<double>& values) {
  for (double v : values)
    b.push_back({{"name", name}, {"run_name", name}, {"run_type", "iteration"}, {key, v}});
}

void add_error(json& b, const std::string& name, const std::string& error) {
  b.push_back({{"name", name},
               {"run_name", name},
               {"run_type", "iteration"},
               {"error_occurred", true},
               {"error_message", error}});
}

std::string pp(const std::string& mech, int size, const std::string& wait, int capacity = 16) {
  return "pingpong/" + mech + "/size:" + std::to_string(size) +
         "/capacity:" + std::to_string(capacity) + "/wait:" + wait;
}

TEST(Verdict, BestRunnerUpRatioAndSpread) {
  json b = json::array();
  add(b, pp("shm_ring", 64, "spin"), "p50_ns", {100, 110, 90, 100, 104});  // median 100, MAD 4
  add(b, pp("shm_ring", 64, "spin_yield"), "p50_ns", {150, 150, 150});     // worse: not chosen
  add(b, pp("pipe", 64, "spin"), "p50_ns", {300, 290, 310});               // median 300, MAD 10
  add(b, pp("pipe", 64, "block"), "p50_ns", {5000, 5000});
  add(b, pp("shm_ring", 64, "block"), "p50_ns", {4000, 4000});
  const VerdictReport r = compute_verdicts(b);
  ASSERT_EQ(r.verdicts.size(), 2u);
  const json& polling = r.verdicts[0];
  EXPECT_EQ(polling["pattern"], "pingpong");
  EXPECT_EQ(polling["size"], 64);
  EXPECT_EQ(polling["waiting"], "polling");
  EXPECT_EQ(polling["metric"], "p50_ns");
  EXPECT_EQ(polling["unit"], "ns");
  EXPECT_EQ(polling["better"], "lower");
  EXPECT_EQ(polling["best"], "shm_ring");
  EXPECT_EQ(polling["best_case"], pp("shm_ring", 64, "spin"));
  EXPECT_DOUBLE_EQ(polling["value"].get<double>(), 100);
  EXPECT_DOUBLE_EQ(polling["spread"].get<double>(), 4);
  EXPECT_EQ(polling["runner_up"], "pipe");
  EXPECT_DOUBLE_EQ(polling["runner_up_value"].get<double>(), 300);
  EXPECT_DOUBLE_EQ(polling["ratio"].get<double>(), 3);
  EXPECT_NEAR(polling["ratio_spread"].get<double>(), 3 * std::hypot(0.04, 10.0 / 300), 1e-12);
  EXPECT_EQ(polling["repetitions"], 5);
  EXPECT_EQ(polling["candidates"], 2);
  const json& sleeping = r.verdicts[1];
  EXPECT_EQ(sleeping["waiting"], "sleeping");
  EXPECT_EQ(sleeping["best"], "shm_ring");
  EXPECT_DOUBLE_EQ(sleeping["ratio"].get<double>(), 1.25);
  EXPECT_DOUBLE_EQ(sleeping["ratio_spread"].get<double>(), 0);
}

// --capacities 0,1,16: every capacity has as many cases, and the verdict ranks at 1,
// the smallest buffered one, not at the rendezvous (0).
TEST(Verdict, TiedCapacitiesRankAtTheSmallestBufferedOne) {
  json b = json::array();
  for (int capacity : {0, 1, 16}) {
    const double speed = capacity == 0 ? 1 : capacity == 1 ? 2 : 3;
    add(b, "stream/pipe/size:64/capacity:" + std::to_string(capacity) + "/wait:block", "msgs_per_s",
        {speed * 1e5});
    add(b, "stream/tcp/size:64/capacity:" + std::to_string(capacity) + "/wait:block", "msgs_per_s",
        {speed * 2e5});
  }
  const VerdictReport r = compute_verdicts(b);
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0]["best_case"], "stream/tcp/size:64/capacity:1/wait:block");
}

TEST(Verdict, StreamHigherIsBetterAndSortedBySize) {
  json b = json::array();
  const std::string big = "stream/pipe/size:4096/capacity:16/wait:block";
  add(b, big, "msgs_per_s", {1e6, 1e6});
  add(b, "stream/tcp/size:4096/capacity:16/wait:block", "msgs_per_s", {4e6, 4e6});
  add(b, "stream/tcp/size:64/capacity:16/wait:block", "msgs_per_s", {2e6, 2e6});
  const VerdictReport r = compute_verdicts(b);
  ASSERT_EQ(r.verdicts.size(), 2u);
  EXPECT_EQ(r.verdicts[0]["size"], 64);
  EXPECT_EQ(r.verdicts[1]["best"], "tcp");
  EXPECT_EQ(r.verdicts[1]["better"], "higher");
  EXPECT_EQ(r.verdicts[1]["unit"], "msgs/s");
  EXPECT_DOUBLE_EQ(r.verdicts[1]["ratio"].get<double>(), 4);
}

TEST(Verdict, MissingRunnerUpAndSingleRepetition) {
  json b = json::array();
  add(b, pp("shm_ring", 64, "spin"), "p50_ns", {100});
  add_error(b, pp("pipe", 64, "spin"), "pipe: broken");
  const VerdictReport r = compute_verdicts(b);
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_TRUE(r.verdicts[0]["runner_up"].is_null());
  EXPECT_TRUE(r.verdicts[0]["runner_up_value"].is_null());
  EXPECT_TRUE(r.verdicts[0]["ratio"].is_null());
  EXPECT_TRUE(r.verdicts[0]["ratio_spread"].is_null());
  EXPECT_DOUBLE_EQ(r.verdicts[0]["spread"].get<double>(), 0);
  EXPECT_EQ(r.verdicts[0]["candidates"], 1);
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed.at(pp("pipe", 64, "spin")), "pipe: broken");
}

TEST(Verdict, TieGoesToTheFirstNameAndRatioIsOne) {
  json b = json::array();
  add(b, pp("tcp", 64, "block"), "p50_ns", {200, 200});
  add(b, pp("pipe", 64, "block"), "p50_ns", {200, 200});
  const VerdictReport r = compute_verdicts(b);
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0]["best"], "pipe");
  EXPECT_EQ(r.verdicts[0]["runner_up"], "tcp");
  EXPECT_DOUBLE_EQ(r.verdicts[0]["ratio"].get<double>(), 1);
}

TEST(Verdict, OnlyTheMainCapacityAndNoRate) {
  json b = json::array();
  add(b, pp("shm_ring", 64, "spin"), "p50_ns", {100, 100});
  add(b, pp("pipe", 64, "spin"), "p50_ns", {300, 300});
  add(b, pp("pipe", 64, "spin", 1024), "p50_ns", {50});  // a sweep's point: ignored
  add(b, "rate/pipe/size:64/capacity:16/wait:spin/rate:1000", "p50_ns", {10});
  add_error(b, pp("udp", 65536, "block"), "not runnable: too big");
  add_error(b, pp("posix_mq", 65536, "block"), "not runnable: too big");
  const VerdictReport r = compute_verdicts(b);
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0]["best"], "shm_ring");
  EXPECT_DOUBLE_EQ(r.verdicts[0]["runner_up_value"].get<double>(), 300);
  ASSERT_EQ(r.not_runnable.size(), 1u);
  EXPECT_EQ(r.not_runnable.at("not runnable: too big").size(), 2u);
  const std::string text = format_verdicts(r);
  EXPECT_NE(text.find("2 cases not runnable: too big (posix_mq, udp)"), std::string::npos) << text;
  EXPECT_NE(text.find("3.00 ± 0.00 times faster than pipe (300 ns)"), std::string::npos) << text;
  EXPECT_TRUE(r.failed.empty());
}

// Groups compete only within their shape: a fan-out with its consumer count, pairs at
// once with their number, and a --pairs sweep's one pair apart from the plain case.
TEST(Verdict, ShapesCompeteApartAndAreNamed) {
  json b = json::array();
  add(b, pp("shm_ring", 64, "spin"), "p50_ns", {100, 100});
  add(b, pp("pipe", 64, "spin"), "p50_ns", {300, 300});
  add(b, pp("pipe", 64, "spin") + "/pairs:1", "p50_ns", {50});
  add(b, pp("pipe", 64, "spin") + "/pairs:2", "p50_ns", {400});
  add(b, "fanout/pipe/size:64/capacity:16/wait:block/consumers:3", "msgs_per_s", {1e5});
  add(b, "fanout/shm_ring/size:64/capacity:16/wait:block/consumers:3", "msgs_per_s", {2e5});
  add(b, "fanout/shm_ring/size:64/capacity:16/wait:block/consumers:1", "msgs_per_s", {9e9});
  const VerdictReport r = compute_verdicts(b);
  std::map<std::string, std::string> best;  // "pattern shape" -> best
  for (const json& v : r.verdicts)
    best[v["pattern"].get<std::string>() + " " + v["shape"].get<std::string>()] = v["best"];
  EXPECT_EQ(best.at("pingpong "), "shm_ring");  // not the pairs:1 case's 50 ns
  EXPECT_EQ(best.at("pingpong 1 pair"), "pipe");
  EXPECT_EQ(best.at("pingpong 2 pairs"), "pipe");
  EXPECT_EQ(best.at("fanout 3 consumers"), "shm_ring");
  EXPECT_EQ(best.at("fanout 1 consumer"), "shm_ring");
  EXPECT_EQ(r.verdicts.size(), 5u);
  const std::string text = format_verdicts(r);
  EXPECT_NE(text.find("fanout 64 B, 3 consumers, sleeping:"), std::string::npos) << text;
  EXPECT_NE(text.find("2.00 times faster than pipe"), std::string::npos) << text;
}

TEST(Verdict, EngineeringUnits) {
  EXPECT_EQ(format_metric(180, "ns"), "180 ns");
  EXPECT_EQ(format_metric(1250, "ns"), "1.25 µs");
  EXPECT_EQ(format_metric(3.1e6, "ns"), "3.1 ms");
  EXPECT_EQ(format_metric(500, "msgs/s"), "500 msgs/s");
  EXPECT_EQ(format_metric(1.23e6, "msgs/s"), "1.23 M msgs/s");
}

}  // namespace
}  // namespace ipcbench
