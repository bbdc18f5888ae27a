#include "harness/case_channel.hpp"

#include <string>

#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

void add_detail(Granted& g, const std::string& text) {
  if (text.empty()) return;
  g.detail = g.detail.empty() ? text : text + "; " + g.detail;
}

// Capacity 0: NotRunnable where a rendezvous cannot be kept (harness/rendezvous.hpp;
// a fan-in is refused with the group's other rules, harness/group.cpp).
void check_rendezvous(const Mechanism& m) {
  if (m.may_lose) {
    throw NotRunnable(std::string(m.name) +
                      " may lose messages: capacity 0 (a rendezvous) waits for each message "
                      "to be taken, and a lost one never is");
  }
}

std::string rendezvous_detail(Pattern p) {
  if (p == Pattern::pingpong) {
    return "rendezvous: each request is acknowledged by its reply (a capacity-1 channel; "
           "pingpong waits for the reply anyway)";
  }
  return "rendezvous: the consumer acknowledges each message over a futex (a capacity-1 "
         "channel)";
}

}  // namespace

std::unique_ptr<Channel> open_case_channel(const Mechanism& m, const ChannelConfig& asked,
                                           Granted& granted) {
  ChannelConfig config = asked;
  const bool rendezvous = asked.capacity_msgs == 0;
  const bool max = asked.capacity_msgs == kCapacityMax;
  if (rendezvous) {
    check_rendezvous(m);
    config.capacity_msgs = 1;
  }
  if (max) {
    config.capacity_msgs = max_capacity_msgs(asked.msg_bytes);
    if (config.capacity_msgs == 0) {
      throw NotRunnable("capacity max: one " + std::to_string(asked.msg_bytes) +
                        " B message exceeds ipcbench's per-channel limit of " +
                        std::to_string(kMaxChannelBytes >> 20) + " MiB");
    }
  }
  const CapacityBoundScope scope(max);
  std::unique_ptr<Channel> channel = open_channel(m, config);
  granted = channel->granted();
  std::string bound = scope.bound();
  if (max && bound.empty()) {
    // No kernel bound stopped a knob: ipcbench's own limits did (a knob that would
    // need more than kMaxChannelBytes to hold more messages stops growing there).
    const bool all = granted.capacity_msgs >= config.capacity_msgs;
    bound = all && config.capacity_msgs == kMaxCapacityMsgs
                ? "ipcbench's limit of " + std::to_string(kMaxCapacityMsgs) + " messages"
                : "ipcbench's " + std::to_string(kMaxChannelBytes >> 20) + " MiB per channel";
  }
  if (!bound.empty()) add_detail(granted, "bounded by " + bound);
  if (rendezvous) {
    granted.capacity_msgs = 0;
    add_detail(granted, rendezvous_detail(asked.pattern));
  }
  return channel;
}

}  // namespace ipcbench
