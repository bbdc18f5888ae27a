#include "harness/message.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace ipcbench {
namespace {

// Copies message seq out of the pool, as a channel would deliver it.
std::vector<std::byte> deliver(PayloadPool& pool, std::uint64_t seq) {
  auto m = pool.message(seq);
  return {m.begin(), m.end()};
}

class VerifierTest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(VerifierTest, InOrderMessagesVerify) {
  PayloadPool tx(GetParam(), 42), rx(GetParam(), 42);
  Verifier v(rx, true);
  for (std::uint64_t s = 0; s < 1000; ++s) EXPECT_EQ(v.check(deliver(tx, s)), s);
  EXPECT_EQ(v.counts().verified, 1000u);
  EXPECT_EQ(v.counts().errors(), 0u);
}

TEST_P(VerifierTest, CatchesDroppedMessage) {
  PayloadPool tx(GetParam(), 42), rx(GetParam(), 42);
  Verifier v(rx, true);
  for (std::uint64_t s = 0; s < 10; ++s) {
    if (s != 5) v.check(deliver(tx, s));
  }
  EXPECT_EQ(v.counts().lost, 1u);
  EXPECT_EQ(v.counts().verified, 9u);
}

TEST_P(VerifierTest, CatchesReorderedAndDuplicatedMessages) {
  PayloadPool tx(GetParam(), 42), rx(GetParam(), 42);
  Verifier v(rx, true);
  for (std::uint64_t s : {0, 1, 2, 4, 3, 5, 5, 6}) v.check(deliver(tx, s));
  EXPECT_EQ(v.counts().lost, 1u);        // 3 was missing when 4 came
  EXPECT_EQ(v.counts().reordered, 1u);   // then 3 came late
  EXPECT_EQ(v.counts().duplicated, 1u);  // 5 twice
}

TEST_P(VerifierTest, CatchesTruncation) {
  PayloadPool tx(GetParam(), 42), rx(GetParam(), 42);
  Verifier v(rx, true);
  auto m = deliver(tx, 0);
  m.pop_back();
  v.check(m);
  EXPECT_EQ(v.counts().truncated, 1u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, VerifierTest,
                         ::testing::Values(1, 4, 8, 12, 13, 63, 64, 4096, 65537));

TEST(Verifier, CatchesCorruptionAnywhereInThePayload) {
  const std::size_t n = 4096;
  PayloadPool tx(n, 9), rx(n, 9);
  for (std::size_t at : {std::size_t{12}, std::size_t{13}, std::size_t{2048}, n - 1}) {
    Verifier v(rx, true);
    auto m = deliver(tx, 0);
    m[at] ^= std::byte{0x01};
    v.check(m);
    EXPECT_EQ(v.counts().corrupted, 1u) << "flipped bit at " << at;
  }
}

TEST(Verifier, CatchesCorruptedHeaderCheckField) {
  PayloadPool tx(64, 9), rx(64, 9);
  Verifier v(rx, false);  // sequence-only mode still checks the header
  auto m = deliver(tx, 0);
  m[9] ^= std::byte{0x80};
  v.check(m);
  EXPECT_EQ(v.counts().corrupted, 1u);
}

TEST(Verifier, CatchesStalePayloadOfAnotherMessage) {
  // A channel that copies the header but leaves the previous message's payload.
  const std::size_t n = 256;
  PayloadPool tx(n, 3), rx(n, 3);
  Verifier v(rx, true);
  v.check(deliver(tx, 0));
  auto stale = deliver(tx, 0);
  auto fresh = deliver(tx, 1);
  std::memcpy(stale.data(), fresh.data(), kHeaderBytes);
  v.check(stale);
  EXPECT_EQ(v.counts().corrupted, 1u);
}

TEST(Verifier, OneByteMessagesRebuildTheSequence) {
  PayloadPool tx(1, 5), rx(1, 5);
  Verifier v(rx, true);
  for (std::uint64_t s = 0; s < 1000; ++s) ASSERT_EQ(v.check(deliver(tx, s)), s);
  v.check(deliver(tx, 1002));  // two lost across the byte's wrap
  EXPECT_EQ(v.counts().lost, 2u);
}

TEST(Verifier, DamagedSequenceBeforeTheFirstMessageIsCorruptionNotLoss) {
  PayloadPool tx(1, 5), rx(1, 5);
  Verifier v(rx, true);
  auto m = deliver(tx, 0);
  m[0] = std::byte{0xFF};  // rebuilds to "message -1"
  v.check(m);
  EXPECT_EQ(v.counts().corrupted, 1u);
  EXPECT_EQ(v.counts().lost, 0u);
  EXPECT_EQ(v.check(deliver(tx, 1)), 1u);  // the stream continues in step
  EXPECT_EQ(v.counts().verified, 1u);
}

TEST(PayloadPool, ConsecutiveMessagesDiffer) {
  PayloadPool pool(128, 11);
  auto a = deliver(pool, 0), b = deliver(pool, 1);
  EXPECT_NE(std::memcmp(a.data() + kHeaderBytes, b.data() + kHeaderBytes, 128 - kHeaderBytes), 0);
}

TEST(PayloadPool, StampTravelsInTheHeader) {
  PayloadPool pool(64, 1);
  pool.message(3);
  pool.stamp(3, 0x1234567890ull);
  EXPECT_EQ(read_stamp(pool.message(3)), 0x34567890u);
}

}  // namespace
}  // namespace ipcbench
