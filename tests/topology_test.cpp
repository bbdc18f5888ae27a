// The topology reader and the placements derived from it, on recorded sysfs trees
// (tests/data/topology, see its README) and on small trees written here with files
// missing or garbled.
#include "harness/topology.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>

namespace ipcbench {
namespace {

namespace fs = std::filesystem;
using Pair = std::array<int, 2>;

std::vector<int> cpus_upto(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

Topology fixture(const std::string& machine, int cpus) {
  const std::string root = std::string(IPCBENCH_TEST_DATA_DIR) + "/topology/" + machine;
  return read_topology(cpus_upto(cpus), {.cpu = root + "/cpu", .node = root + "/node"});
}

std::optional<Pair> pair(const Topology& t, Placement p) { return placement_cpus(t, p); }

TEST(Topology, PlacementNamesRoundTrip) {
  for (Placement p : kPlacements) EXPECT_EQ(parse_placement(to_string(p)), p);
  EXPECT_FALSE(parse_placement("same-cpu"));
  EXPECT_FALSE(parse_placement(""));
  EXPECT_EQ(placement_names(), "same_cpu, smt_sibling, same_l3, cross_l3, cross_numa");
}

TEST(Topology, ParsesCpuLists) {
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("5"), std::vector<int>{5});
  EXPECT_EQ(parse_cpu_list(""), std::vector<int>{});
  for (const char* bad : {"3-1", "a", "1,", "1-", "-1", "0-99999999", "1 2", "0x3"}) {
    EXPECT_FALSE(parse_cpu_list(bad)) << bad;
  }
}

TEST(Topology, XeonTwoSocketsWithSmt) {
  const Topology t = fixture("xeon_2s_smt", 64);
  ASSERT_EQ(t.cpus.size(), 64u);
  EXPECT_TRUE(t.l3_known);
  EXPECT_TRUE(t.numa_known);
  EXPECT_TRUE(t.notes.empty());
  EXPECT_EQ(pair(t, Placement::same_cpu), (Pair{0, 0}));
  EXPECT_EQ(pair(t, Placement::smt_sibling), (Pair{0, 32}));
  EXPECT_EQ(pair(t, Placement::same_l3), (Pair{0, 1}));
  EXPECT_FALSE(pair(t, Placement::cross_l3));  // one L3 per node
  EXPECT_EQ(pair(t, Placement::cross_numa), (Pair{0, 16}));
  EXPECT_EQ(classify(t, {33, 1}), Placement::smt_sibling);
  EXPECT_EQ(classify(t, {47, 1}), Placement::same_l3);
  EXPECT_EQ(classify(t, {48, 1}), Placement::cross_numa);
}

TEST(Topology, EpycWithSeveralL3sPerNode) {
  const Topology t = fixture("epyc_1s_nps4", 128);
  ASSERT_EQ(t.cpus.size(), 128u);
  EXPECT_EQ(pair(t, Placement::same_cpu), (Pair{0, 0}));
  EXPECT_EQ(pair(t, Placement::smt_sibling), (Pair{0, 64}));
  EXPECT_EQ(pair(t, Placement::same_l3), (Pair{0, 1}));
  EXPECT_EQ(pair(t, Placement::cross_l3), (Pair{0, 8}));
  EXPECT_EQ(pair(t, Placement::cross_numa), (Pair{0, 16}));
  EXPECT_EQ(classify(t, {7, 70}), Placement::same_l3);
  EXPECT_EQ(classify(t, {15, 16}), Placement::cross_numa);
  EXPECT_EQ(classify(t, {7, 79}), Placement::cross_l3);
  EXPECT_EQ(classify(t, {8, 72}), Placement::smt_sibling);
}

TEST(Topology, Arm64WithoutSmt) {
  const Topology t = fixture("arm64_64c", 64);
  const std::vector<PlacementChoice> all = derive_placements(t);
  ASSERT_EQ(all.size(), kPlacements.size());
  EXPECT_EQ(all[0].cpus, (Pair{0, 0}));
  EXPECT_FALSE(all[1].cpus);  // no SMT
  EXPECT_EQ(all[2].cpus, (Pair{0, 1}));
  EXPECT_FALSE(all[3].cpus);  // one L3
  EXPECT_FALSE(all[4].cpus);  // one node, one package
  EXPECT_NE(why_not_offered(t, Placement::smt_sibling).find("SMT"), std::string::npos);
}

TEST(Topology, ThisTwoVcpuMachine) {
  const Topology t = fixture("kvm_2vcpu", 2);
  const std::vector<PlacementChoice> all = derive_placements(t);
  EXPECT_EQ(all[0].cpus, (Pair{0, 0}));
  EXPECT_FALSE(all[1].cpus);
  EXPECT_EQ(all[2].cpus, (Pair{0, 1}));
  EXPECT_FALSE(all[3].cpus);
  EXPECT_FALSE(all[4].cpus);
  EXPECT_EQ(classify(t, {0, 1}), Placement::same_l3);
  EXPECT_EQ(classify(t, {1, 1}), Placement::same_cpu);
  EXPECT_FALSE(classify(t, {0, 2}));  // CPU 2 is not one this process may use
}

TEST(Topology, OnlyAllowedCpusArePaired) {
  const std::string root = std::string(IPCBENCH_TEST_DATA_DIR) + "/topology/xeon_2s_smt";
  // Siblings outside the mask do not make an SMT pair; the lowest allowed CPU leads.
  const TopologyRoots roots{.cpu = root + "/cpu", .node = root + "/node"};
  const Topology t = read_topology({5, 3, 20, 35}, roots);
  EXPECT_EQ(pair(t, Placement::same_cpu), (Pair{3, 3}));
  EXPECT_EQ(pair(t, Placement::smt_sibling), (Pair{3, 35}));
  EXPECT_EQ(pair(t, Placement::same_l3), (Pair{3, 5}));
  EXPECT_EQ(pair(t, Placement::cross_numa), (Pair{3, 20}));
  EXPECT_FALSE(pair(read_topology({3, 36}, roots), Placement::smt_sibling));  // 36 pairs with 4
}

TEST(Topology, ListForMoreProcesses) {
  const Topology t = fixture("epyc_1s_nps4", 128);
  EXPECT_EQ(placement_cpu_list(t, Placement::same_l3, 4), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(placement_cpu_list(t, Placement::cross_numa, 3), (std::vector<int>{0, 16, 17}));
  EXPECT_EQ(placement_cpu_list(t, Placement::same_cpu, 3), (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(placement_cpu_list(t, Placement::smt_sibling, 4), (std::vector<int>{0, 64}));
}

// A scratch sysfs tree, removed when the test ends.
class TopologyTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ipcbench-topo-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text << "\n";
  }
  Topology read(int cpus) {
    return read_topology(cpus_upto(cpus), {.cpu = root_ / "cpu", .node = root_ / "node"});
  }
  fs::path root_;
};

TEST_F(TopologyTree, NothingThereIsOneCpuPerCoreInOnePackage) {
  const Topology t = read(2);
  ASSERT_EQ(t.cpus.size(), 2u);
  EXPECT_FALSE(t.l3_known);
  EXPECT_FALSE(t.numa_known);
  EXPECT_EQ(t.notes.size(), 4u);
  // A 2-vCPU VM that shows nothing: one CPU, and two cores of one assumed L3.
  EXPECT_EQ(pair(t, Placement::same_cpu), (Pair{0, 0}));
  EXPECT_FALSE(pair(t, Placement::smt_sibling));
  EXPECT_EQ(pair(t, Placement::same_l3), (Pair{0, 1}));
  EXPECT_FALSE(pair(t, Placement::cross_l3));
  EXPECT_FALSE(pair(t, Placement::cross_numa));
  EXPECT_NE(why_not_offered(t, Placement::cross_l3).find("assumed"), std::string::npos);
}

TEST_F(TopologyTree, NoCacheInfoAssumesOneL3PerPackage) {
  for (int c = 0; c < 4; ++c) {
    write("cpu/cpu" + std::to_string(c) + "/topology/thread_siblings_list", std::to_string(c));
    write("cpu/cpu" + std::to_string(c) + "/topology/physical_package_id", std::to_string(c / 2));
  }
  const Topology t = read(4);
  EXPECT_FALSE(t.l3_known);
  EXPECT_EQ(pair(t, Placement::same_l3), (Pair{0, 1}));
  EXPECT_FALSE(pair(t, Placement::cross_l3));
  EXPECT_EQ(pair(t, Placement::cross_numa), (Pair{0, 2}));  // packages stand in for nodes
}

TEST_F(TopologyTree, GarbageIsTreatedAsMissing) {
  write("cpu/cpu0/topology/thread_siblings_list", "zero");
  write("cpu/cpu0/topology/core_id", "0");
  write("cpu/cpu0/topology/physical_package_id", "-1");  // older arm64 kernels write -1
  write("cpu/cpu1/topology/thread_siblings_list", "1-0");
  write("cpu/cpu1/topology/core_id", "0");
  write("cpu/cpu1/topology/physical_package_id", "");
  write("cpu/cpu0/cache/index3/level", "3");
  write("cpu/cpu0/cache/index3/shared_cpu_list", "0-1");
  write("cpu/cpu1/cache/index3/level", "three");
  write("node/node0/cpulist", "0-1,");
  const Topology t = read(2);
  ASSERT_EQ(t.cpus.size(), 2u);
  EXPECT_FALSE(t.l3_known);  // CPU 1 shows no readable level-3 cache
  EXPECT_FALSE(t.numa_known);
  // Both fall back to core_id 0 in package 0: one core, two threads.
  EXPECT_EQ(pair(t, Placement::smt_sibling), (Pair{0, 1}));
  EXPECT_FALSE(pair(t, Placement::same_l3));
}

TEST_F(TopologyTree, CacheIdStandsInForSharedList) {
  for (int c = 0; c < 4; ++c) {
    const std::string d = "cpu/cpu" + std::to_string(c);
    write(d + "/topology/thread_siblings_list", std::to_string(c));
    write(d + "/cache/index0/level", "1");
    write(d + "/cache/index0/id", "0");
    write(d + "/cache/index3/level", "3");
    write(d + "/cache/index3/id", std::to_string(c / 2));
  }
  write("node/node0/cpulist", "0-3");
  const Topology t = read(4);
  EXPECT_TRUE(t.l3_known);
  EXPECT_TRUE(t.numa_known);
  EXPECT_EQ(pair(t, Placement::same_l3), (Pair{0, 1}));
  EXPECT_EQ(pair(t, Placement::cross_l3), (Pair{0, 2}));
  EXPECT_FALSE(pair(t, Placement::cross_numa));
}

TEST(Topology, NoAllowedCpuOffersNothing) {
  const Topology t = read_topology({}, {.cpu = "/nonexistent", .node = "/nonexistent"});
  for (const PlacementChoice& c : derive_placements(t)) EXPECT_FALSE(c.cpus);
}

}  // namespace
}  // namespace ipcbench
