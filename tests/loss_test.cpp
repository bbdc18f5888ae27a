// Loss handling, tested on a real pipe behind a test-only channel that drops every
// tenth message (the harness's loss path, not a measured mechanism).
#include <gtest/gtest.h>

#include <memory>

#include "harness/pair.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

class DroppingEndpoint final : public Endpoint {
 public:
  explicit DroppingEndpoint(std::unique_ptr<Endpoint> inner) : inner_(std::move(inner)) {}
  void send(std::span<const std::byte> msg) override {
    if (++sends_ % 10 == 0) return;  // dropped, as a full UDP socket would
    inner_->send(msg);
  }
  std::size_t recv(std::span<std::byte> buf) override { return inner_->recv(buf); }

 private:
  std::unique_ptr<Endpoint> inner_;
  std::uint64_t sends_ = 0;
};

class DroppingChannel final : public Channel {
 public:
  explicit DroppingChannel(std::unique_ptr<Channel> inner) : inner_(std::move(inner)) {
    granted_ = inner_->granted();
  }
  std::unique_ptr<Endpoint> open(Side side) override {
    return std::make_unique<DroppingEndpoint>(inner_->open(side));
  }
  void forked() override { inner_->forked(); }

 private:
  std::unique_ptr<Channel> inner_;
};

Mechanism dropping_pipe(bool may_lose) {
  Mechanism m;
  m.name = "dropping_pipe";
  m.may_lose = may_lose;
  m.create = [](const ChannelConfig& cfg) -> std::unique_ptr<Channel> {
    return std::make_unique<DroppingChannel>(find_mechanism("pipe")->create(cfg));
  };
  return m;
}

PairSpec stream_spec(const Mechanism& m) {
  PairSpec spec;
  spec.mechanism = &m;
  spec.config = {
      .pattern = Pattern::stream, .msg_bytes = 64, .capacity_msgs = 16, .wait = WaitMode::block};
  // 64 warm-up + 96 measured = 160 sends: the 160th, the final message, is dropped too.
  spec.fixed_msgs = 96;
  spec.timeout_seconds = 20;
  return spec;
}

TEST(Loss, AllowedLossIsCountedAndTheStreamEndsEvenWhenTheLastMessageIsLost) {
  const Mechanism m = dropping_pipe(/*may_lose=*/true);
  const PairResult r = run_pair(stream_spec(m));
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(r.verify.lost, 15u);  // sends 10, 20, ..., 150 (160 was repeated and arrived)
  EXPECT_EQ(r.verify.errors_except_loss(), 0u);
  EXPECT_EQ(r.verify.verified, 160u - 16u + 1u);  // all but the 16 drops, plus the repeat
}

TEST(Loss, LossFailsTheCaseWhenTheMechanismPromisesDelivery) {
  const Mechanism m = dropping_pipe(/*may_lose=*/false);
  PairSpec spec = stream_spec(m);
  spec.fixed_msgs = 95;  // the final message arrives: the consumer can finish and report
  const PairResult r = run_pair(spec);
  EXPECT_EQ(r.outcome, Outcome::failed);
  EXPECT_NE(r.message.find("lost"), std::string::npos) << r.message;
}

}  // namespace
}  // namespace ipcbench
