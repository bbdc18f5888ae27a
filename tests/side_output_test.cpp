// The sides of a case write their stdout and stderr into a SideOutput, not the
// terminal (harness/child.hpp): a library that logs on its own cannot break the progress
// line, and what the sides wrote is shown when their case fails. Tested with a real
// pipe behind a test-only channel whose endpoints talk as a chatty library does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

#include "harness/child.hpp"
#include "harness/pair.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

class ChattyEndpoint final : public Endpoint {
 public:
  ChattyEndpoint(std::unique_ptr<Endpoint> inner, bool fail)
      : inner_(std::move(inner)), fail_(fail) {
    std::fprintf(stderr, "chatty: connected\n");
    std::printf("chatty: on stdout too\n");
    std::fflush(stdout);
  }
  void send(std::span<const std::byte> msg) override {
    if (fail_ && ++sends_ == 10) {
      std::fprintf(stderr, "chatty: giving up\n");
      throw std::runtime_error("chatty gave up");
    }
    inner_->send(msg);
  }
  std::size_t recv(std::span<std::byte> buf) override { return inner_->recv(buf); }

 private:
  std::unique_ptr<Endpoint> inner_;
  bool fail_;
  int sends_ = 0;
};

template <bool kFail>
class ChattyChannel final : public Channel {
 public:
  explicit ChattyChannel(std::unique_ptr<Channel> inner) : inner_(std::move(inner)) {
    granted_ = inner_->granted();
  }
  std::unique_ptr<Endpoint> open(Side side) override {
    return std::make_unique<ChattyEndpoint>(inner_->open(side), kFail && side == Side::a);
  }
  void forked() override { inner_->forked(); }

 private:
  std::unique_ptr<Channel> inner_;
};

template <bool kFail>
Mechanism chatty_pipe() {
  Mechanism m;
  m.name = "chatty_pipe";
  m.create = [](const ChannelConfig& cfg) -> std::unique_ptr<Channel> {
    return std::make_unique<ChattyChannel<kFail>>(find_mechanism("pipe")->create(cfg));
  };
  return m;
}

PairSpec spec_of(const Mechanism& m) {
  PairSpec spec;
  spec.mechanism = &m;
  spec.config = {
      .pattern = Pattern::stream, .msg_bytes = 64, .capacity_msgs = 16, .wait = WaitMode::block};
  spec.fixed_msgs = 100;
  spec.timeout_seconds = 20;
  return spec;
}

TEST(SideOutput, WhatASideWritesDoesNotReachTheTerminal) {
  const Mechanism m = chatty_pipe<false>();
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  const PairResult r = run_pair(spec_of(m));
  const std::string out = testing::internal::GetCapturedStdout();
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_EQ(r.outcome, Outcome::ok) << r.message;
  EXPECT_EQ(err.find("chatty"), std::string::npos) << err;
  EXPECT_EQ(out.find("chatty"), std::string::npos) << out;
}

TEST(SideOutput, AFailedCaseShowsWhatTheSidesWrote) {
  const Mechanism m = chatty_pipe<true>();
  const PairResult r = run_pair(spec_of(m));
  ASSERT_EQ(r.outcome, Outcome::failed);
  EXPECT_NE(r.message.find("chatty gave up"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("the sides wrote: "), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("chatty: giving up"), std::string::npos) << r.message;
}

TEST(SideOutput, TailKeepsTheLastBytesAsOneLine) {
  SideOutput output;
  EXPECT_EQ(output.tail(), "");
  const std::string text = "first\n\nsecond\nthird\n";
  ASSERT_EQ(::write(output.fd(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  EXPECT_EQ(output.tail(), "first | second | third");
  EXPECT_EQ(output.tail(11), "cond | third");
}

}  // namespace
}  // namespace ipcbench
