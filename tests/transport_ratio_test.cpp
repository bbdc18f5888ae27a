// x_transport (harness/transport_ratio.hpp): each case of a mechanism with a transport,
// over the same case of that transport in the same results document.
#include "harness/transport_ratio.hpp"

#include <gtest/gtest.h>

namespace ipcbench {
namespace {

nlohmann::json repetition(const std::string& name, const char* key, double value) {
  return {{"name", name}, {"run_name", name}, {"run_type", "iteration"}, {key, value}};
}

nlohmann::json aggregate(const std::string& name, const char* what) {
  return {{"name", name + "_" + what},
          {"run_name", name},
          {"run_type", "aggregate"},
          {"aggregate_name", what}};
}

// lib rides on base; solo rides on nothing; orphan rides on a mechanism that did not run.
nlohmann::json document() {
  nlohmann::json doc;
  doc["context"]["mechanisms"] = {{"lib", {{"transport", "base"}}},
                                  {"base", {{"transport", ""}}},
                                  {"solo", {{"transport", ""}}},
                                  {"orphan", {{"transport", "absent"}}}};
  const std::string tail = "/size:64/capacity:1/wait:block";
  doc["benchmarks"] = nlohmann::json::array();
  auto& b = doc["benchmarks"];
  for (double v : {1000.0, 2000.0, 3000.0})
    b.push_back(repetition("pingpong/base" + tail, "p50_ns", v));
  for (double v : {3000.0, 4000.0, 5000.0})
    b.push_back(repetition("pingpong/lib" + tail, "p50_ns", v));
  b.push_back(aggregate("pingpong/lib" + tail, "median"));
  b.push_back(aggregate("pingpong/lib" + tail, "stddev"));
  for (double v : {8e9, 10e9}) b.push_back(repetition("stream/base" + tail, "bytes_per_s", v));
  for (double v : {3e9, 6e9}) b.push_back(repetition("stream/lib" + tail, "bytes_per_s", v));
  b.push_back(repetition("pingpong/solo" + tail, "p50_ns", 100));
  b.push_back(repetition("pingpong/orphan" + tail, "p50_ns", 100));
  return doc;
}

TEST(TransportRatio, PingpongIsP50OverTheTransportsMedianP50) {
  nlohmann::json doc = document();
  derive_transport_ratios(doc);
  const auto& b = doc["benchmarks"];
  EXPECT_DOUBLE_EQ(b[3]["x_transport"].get<double>(), 1.5);  // 3000 / median 2000
  EXPECT_DOUBLE_EQ(b[5]["x_transport"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(b[6]["x_transport"].get<double>(), 2.0);  // the median aggregate
  EXPECT_DOUBLE_EQ(b[7]["x_transport"].get<double>(), 0.5);  // stddev of 1.5, 2, 2.5
  EXPECT_FALSE(b[0].contains("x_transport"));                // the transport itself has none
}

TEST(TransportRatio, StreamIsTheTransportsThroughputOverThroughput) {
  nlohmann::json doc = document();
  derive_transport_ratios(doc);
  const auto& b = doc["benchmarks"];
  EXPECT_DOUBLE_EQ(b[10]["x_transport"].get<double>(), 3.0);  // median 9e9 / 3e9
  EXPECT_DOUBLE_EQ(b[11]["x_transport"].get<double>(), 1.5);
}

TEST(TransportRatio, NoneWithoutATransportOrWhenItDidNotRun) {
  nlohmann::json doc = document();
  derive_transport_ratios(doc);
  EXPECT_FALSE(doc["benchmarks"][12].contains("x_transport"));  // solo
  EXPECT_FALSE(doc["benchmarks"][13].contains("x_transport"));  // orphan
}

TEST(TransportRatio, NoneAgainstATransportCaseThatFailed) {
  nlohmann::json doc = document();
  doc["benchmarks"][1]["error_occurred"] = true;
  derive_transport_ratios(doc);
  EXPECT_FALSE(doc["benchmarks"][3].contains("x_transport"));
  EXPECT_FALSE(doc["benchmarks"][6].contains("x_transport"));
}

TEST(TransportRatio, OtherWaitModesAndSizesAreNotMatched) {
  nlohmann::json doc = document();
  for (auto& row : doc["benchmarks"]) {
    std::string n = row["run_name"];
    if (n.rfind("pingpong/base", 0) == 0) row["run_name"] = n.replace(n.find("block"), 5, "spin");
  }
  derive_transport_ratios(doc);
  EXPECT_FALSE(doc["benchmarks"][3].contains("x_transport"));
}

TEST(TransportRatio, ADocumentWithoutFactsIsLeftAsItIs) {
  nlohmann::json doc = document();
  doc["context"].erase("mechanisms");
  const nlohmann::json before = doc;
  derive_transport_ratios(doc);
  EXPECT_EQ(doc, before);
}

}  // namespace
}  // namespace ipcbench
