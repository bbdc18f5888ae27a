// Names of patterns and wait modes (harness/channel.hpp). Kept apart from the registry,
// which links every mechanism, so that the results reader (harness/compare.cpp) and
// its fuzz target build without them.
#include "harness/channel.hpp"

namespace ipcbench {

std::string_view to_string(Pattern p) noexcept {
  switch (p) {
    case Pattern::pingpong: return "pingpong";
    case Pattern::stream: return "stream";
    case Pattern::rate: return "rate";
  }
  return "?";
}
std::string_view to_string(WaitMode w) noexcept {
  switch (w) {
    case WaitMode::block: return "block";
    case WaitMode::spin: return "spin";
    case WaitMode::spin_yield: return "spin_yield";
    case WaitMode::adaptive: return "adaptive";
    case WaitMode::eventfd: return "eventfd";
    case WaitMode::sem: return "sem";
  }
  return "?";
}

std::optional<WaitMode> parse_wait_mode(std::string_view name) noexcept {
  for (WaitMode w : kWaitModes) {
    if (to_string(w) == name) return w;
  }
  return std::nullopt;
}

}  // namespace ipcbench
