// Names of patterns and wait modes, and Endpoint's zero-copy defaults
// (harness/channel.hpp). Kept apart from the registry, which links every mechanism, so
// that the results reader (harness/compare.cpp) and its fuzz target build without them.
#include "harness/channel.hpp"

#include <stdexcept>

namespace ipcbench {

std::string_view to_string(Pattern p) noexcept {
  switch (p) {
    case Pattern::pingpong:
      return "pingpong";
    case Pattern::stream:
      return "stream";
    case Pattern::rate:
      return "rate";
    case Pattern::fanout:
      return "fanout";
    case Pattern::fanin:
      return "fanin";
    case Pattern::compete:
      return "compete";
  }
  return "?";
}
std::string_view to_string(WaitMode w) noexcept {
  switch (w) {
    case WaitMode::block:
      return "block";
    case WaitMode::spin:
      return "spin";
    case WaitMode::spin_yield:
      return "spin_yield";
    case WaitMode::adaptive:
      return "adaptive";
    case WaitMode::eventfd:
      return "eventfd";
    case WaitMode::sem:
      return "sem";
    case WaitMode::sqpoll:
      return "sqpoll";
  }
  return "?";
}

std::optional<WaitMode> parse_wait_mode(std::string_view name) noexcept {
  for (WaitMode w : kWaitModes) {
    if (to_string(w) == name) return w;
  }
  return std::nullopt;
}

// Endpoint's zero-copy defaults: reached only if a mechanism without zero_copy were
// driven as one, a harness bug.
namespace {
[[noreturn]] void no_zero_copy() { throw std::logic_error("this mechanism has no zero-copy path"); }
}  // namespace
std::span<std::byte> Endpoint::loan() { no_zero_copy(); }
void Endpoint::publish(std::size_t) { no_zero_copy(); }
std::span<const std::byte> Endpoint::peek() { no_zero_copy(); }
void Endpoint::release() { no_zero_copy(); }

}  // namespace ipcbench
