#include "harness/report.hpp"

#include <gtest/gtest.h>

namespace ipcbench {
namespace {

TEST(StrictJson, NanAndInfOutsideStringsBecomeNull) {
  const std::string gb =
      R"({"a": NaN, "b": -NaN, "c": Inf, "d": -Inf, "e": 1.5, "s": "NaN -Inf \"NaN\""})";
  const auto doc = nlohmann::json::parse(strict_json_numbers(gb));
  EXPECT_TRUE(doc["a"].is_null());
  EXPECT_TRUE(doc["b"].is_null());
  EXPECT_TRUE(doc["c"].is_null());
  EXPECT_TRUE(doc["d"].is_null());
  EXPECT_DOUBLE_EQ(doc["e"].get<double>(), 1.5);
  EXPECT_EQ(doc["s"], "NaN -Inf \"NaN\"");
}

// GB 1.7's own spelling: a repetition of 0 messages has an infinite time per message.
TEST(StrictJson, InfinityBecomesNull) {
  const auto doc = nlohmann::json::parse(
      strict_json_numbers(R"({"real_time": Infinity, "x": -Infinity, "y": [Infinity,NaN]})"));
  EXPECT_TRUE(doc["real_time"].is_null());
  EXPECT_TRUE(doc["x"].is_null());
  EXPECT_TRUE(doc["y"][0].is_null() && doc["y"][1].is_null());
}

TEST(Format, UnitsScaleAndSayWhatTheyAre) {
  EXPECT_EQ(format_ns(812), "812 ns");
  EXPECT_EQ(format_ns(12'345), "12.3 us");
  EXPECT_EQ(format_ns(4'560'000), "4.56 ms");
  EXPECT_EQ(format_rate(3.45e9, "B/s"), "3.45 GB/s");
  EXPECT_EQ(format_rate(1234, "msg/s"), "1.23 kmsg/s");
}

}  // namespace
}  // namespace ipcbench
