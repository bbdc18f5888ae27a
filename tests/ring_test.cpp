// The ring's single-process behaviour (full, empty, wrap-around, variable sizes) and a
// two-process transfer of 1,000,000 verified messages through the whole harness.
#include "mechanisms/shm_ring.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <tuple>
#include <vector>

#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/pair.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

struct LocalRing {
  LocalRing(std::uint32_t slots, std::size_t max_msg)
      : map(map_shared(ring::ring_bytes(slots, max_msg))) {
    ring::init_ring(map.get(), slots, max_msg);
    ctl = ring::attach_ring(map.get());
  }
  Mapping map;
  ring::RingControl* ctl;
};

std::vector<std::byte> bytes(std::size_t n, int fill) { return std::vector<std::byte>(n, std::byte(fill)); }

TEST(ShmRing, LayoutKeepsWritersApart) {
  EXPECT_EQ(offsetof(ring::RingControl, head) % ring::kSeparation, 0u);
  EXPECT_GE(offsetof(ring::RingControl, data_epoch) - offsetof(ring::RingControl, head), ring::kSeparation);
  EXPECT_GE(offsetof(ring::RingControl, space_epoch) - offsetof(ring::RingControl, data_epoch), ring::kSeparation);
  EXPECT_GE(offsetof(ring::RingControl, slots_begin) - offsetof(ring::RingControl, space_epoch), ring::kSeparation);
}

TEST(ShmRing, FullAndEmpty) {
  LocalRing r(4, 64);
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  std::vector<std::byte> out(64);
  std::size_t len = 0;
  EXPECT_FALSE(c.try_recv(out, len));  // empty
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(p.try_send(bytes(10, i)));
  EXPECT_FALSE(p.try_send(bytes(10, 9)));  // full at exactly capacity
  ASSERT_TRUE(c.try_recv(out, len));
  EXPECT_EQ(len, 10u);
  EXPECT_EQ(out[0], std::byte(0));
  EXPECT_TRUE(p.try_send(bytes(10, 4)));  // one slot freed
  EXPECT_FALSE(p.try_send(bytes(10, 9)));
}

TEST(ShmRing, WrapsAroundWithVariableSizesInOrder) {
  LocalRing r(3, 100);  // odd slot count: wrap points move through the sequence
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  std::vector<std::byte> out(100);
  std::uint64_t sent = 0, received = 0;
  while (received < 10'000) {
    while (sent < 10'000 && p.try_send(bytes(1 + sent % 100, static_cast<int>(sent & 0xff)))) ++sent;
    std::size_t len = 0;
    while (c.try_recv(out, len)) {
      ASSERT_EQ(len, 1 + received % 100);
      ASSERT_EQ(out[len - 1], std::byte(received & 0xff));
      ++received;
    }
  }
}

TEST(ShmRing, CapacityOneAndLargestMessage) {
  const std::size_t big = 1 << 20;
  LocalRing r(1, big);
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  std::vector<std::byte> out(big);
  std::size_t len = 0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(p.try_send(bytes(big, i)));
    ASSERT_FALSE(p.try_send(bytes(1, 0)));
    ASSERT_TRUE(c.try_recv(out, len));
    EXPECT_EQ(len, big);
    EXPECT_EQ(out[big / 2], std::byte(i));
  }
}

TEST(ShmRing, RejectsALengthLargerThanTheBuffer) {
  LocalRing r(2, 64);
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  ASSERT_TRUE(p.try_send(bytes(64, 1)));
  std::vector<std::byte> small(16);
  std::size_t len = 0;
  EXPECT_THROW(c.try_recv(small, len), PeerError);
}

// Zero-copy: the producer's room and the consumer's view are the slot itself, and a
// slot is reusable only once released.
TEST(ShmRing, LoansAndViewsAreTheSlotItself) {
  LocalRing r(2, 64);
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  const std::span<std::byte> room = p.claim(WaitMode::spin);
  ASSERT_EQ(room.size(), 64u);  // the whole slot, whatever will be published
  std::memset(room.data(), 0x5a, 20);
  p.commit(20, WaitMode::spin);
  const std::span<const std::byte> view = c.peek(WaitMode::spin);
  EXPECT_EQ(view.data(), room.data());  // in place: no copy on either side
  ASSERT_EQ(view.size(), 20u);
  EXPECT_EQ(view[19], std::byte{0x5a});
  EXPECT_TRUE(p.try_send(bytes(8, 1)));
  EXPECT_FALSE(p.try_send(bytes(8, 2)));  // full: the peeked slot is not free yet
  c.release(WaitMode::spin);
  EXPECT_TRUE(p.try_send(bytes(8, 2)));  // released: the producer may reuse it
  std::vector<std::byte> out(64);
  std::size_t len = 0;
  ASSERT_TRUE(c.try_recv(out, len));  // copy and zero-copy paths share the ring
  EXPECT_EQ(len, 8u);
  EXPECT_EQ(out[0], std::byte{1});
}

TEST(ShmRing, PeekRejectsALengthLargerThanTheSlot) {
  LocalRing r(2, 64);
  ring::Producer p(r.ctl);
  ring::Consumer c(r.ctl);
  p.claim(WaitMode::spin);
  p.commit(65, WaitMode::spin);  // what a corrupt peer could publish
  EXPECT_THROW(c.peek(WaitMode::spin), PeerError);
}

TEST(ShmRing, RefusesAForeignMapping) {
  Mapping m = map_shared(4096);
  EXPECT_THROW(ring::attach_ring(m.get()), PeerError);
}

// Two processes, the whole harness path: 1,000,000 messages, every one verified, by
// copy (shm_ring) and in place (shm_ring_zc).
class RingStress : public ::testing::TestWithParam<std::tuple<const char*, WaitMode>> {};

TEST_P(RingStress, MillionMessagesAcrossProcesses) {
  PairSpec spec;
  spec.mechanism = find_mechanism(std::get<0>(GetParam()));
  ASSERT_NE(spec.mechanism, nullptr);
  spec.config = {.pattern = Pattern::stream, .msg_bytes = 64, .capacity_msgs = 64, .wait = std::get<1>(GetParam())};
  spec.cpus = {-1, -1};
  spec.fixed_msgs = 1'000'000;
  spec.timeout_seconds = 120;
  const PairResult r = run_pair(spec);
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.verify.errors(), 0u);
  // Warm-up messages are verified too: at least the measured million.
  EXPECT_GE(r.verify.verified, 1'000'000u);
}

INSTANTIATE_TEST_SUITE_P(Wait, RingStress,
                         ::testing::Combine(::testing::Values("shm_ring", "shm_ring_zc"),
                                            ::testing::Values(WaitMode::spin, WaitMode::block)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" +
                                  std::string(to_string(std::get<1>(info.param)));
                         });

// Zero-copy at the sizes it is for: 16 MiB messages in place, both patterns, every
// byte verified where it lies.
class ZeroCopyLarge : public ::testing::TestWithParam<Pattern> {};

TEST_P(ZeroCopyLarge, SixteenMiBMessagesVerifiedInPlace) {
  PairSpec spec;
  spec.mechanism = find_mechanism("shm_ring_zc");
  spec.config = {.pattern = GetParam(), .msg_bytes = 16u << 20, .capacity_msgs = 2, .wait = WaitMode::block};
  spec.fixed_msgs = 20;
  spec.timeout_seconds = 120;
  const PairResult r = run_pair(spec);
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.verify.errors(), 0u);
  EXPECT_GE(r.verify.verified, 20u);
}

INSTANTIATE_TEST_SUITE_P(Pattern, ZeroCopyLarge, ::testing::Values(Pattern::pingpong, Pattern::stream),
                         [](const auto& info) { return std::string(to_string(info.param)); });

}  // namespace
}  // namespace ipcbench
