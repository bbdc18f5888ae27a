#include "bench/cli_util.hpp"

#include <charconv>
#include <set>

#include "harness/channel.hpp"
#include "harness/error.hpp"

namespace ipcbench {

std::string show_size(std::size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + "M";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + "K";
  return std::to_string(bytes);
}

std::string show_rate(std::uint64_t msgs_per_s) {
  if (msgs_per_s >= 1'000'000 && msgs_per_s % 1'000'000 == 0) {
    return std::to_string(msgs_per_s / 1'000'000) + "M";
  }
  if (msgs_per_s >= 1'000 && msgs_per_s % 1'000 == 0) {
    return std::to_string(msgs_per_s / 1'000) + "k";
  }
  return std::to_string(msgs_per_s);
}

std::string all_wait_modes() {
  std::string out;
  for (WaitMode w : kWaitModes) out += (out.empty() ? "" : ", ") + std::string(to_string(w));
  return out;
}

std::string wrap(const std::string& text, std::size_t first, std::size_t indent) {
  std::string out, line;
  std::size_t col = first;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && col + 1 + word.size() > 79) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
      col = indent;
    }
    col += (line.empty() ? 0 : 1) + word.size();
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line + "\n";
}

std::uint64_t parse_rate(std::string_view option, const std::string& item,
                         std::uint64_t max_msgs_per_s) {
  std::string_view digits = item;
  std::uint64_t multiplier = 1;
  if (!digits.empty() && (digits.back() == 'k' || digits.back() == 'K')) multiplier = 1'000;
  if (!digits.empty() && digits.back() == 'M') multiplier = 1'000'000;
  if (multiplier != 1) digits.remove_suffix(1);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value == 0 ||
      value > max_msgs_per_s / multiplier) {
    throw UsageError(std::string(option) + ": '" + item + "' is not a rate from 1 to " +
                     show_rate(max_msgs_per_s) + " messages/s (k and M are decimal: 300k, 1M)");
  }
  return value * multiplier;
}

std::vector<std::size_t> parse_counts(std::string_view option, const std::string& text,
                                      std::uint64_t max, const char* too_large, bool bytes) {
  const std::vector<std::size_t> counts =
      parse_each<std::size_t>(option, text, [&](const std::string& item) {
        const std::uint64_t v =
            bytes ? cli::parse_bytes(option, item) : cli::parse_count(option, item);
        if (v > max) throw UsageError(std::string(option) + ": " + item + " " + too_large);
        return static_cast<std::size_t>(v);
      });
  // parse_list catches "64,64"; "1K,1024" is the same value spelt twice.
  if (std::set<std::size_t>(counts.begin(), counts.end()).size() != counts.size()) {
    throw UsageError(std::string(option) + ": '" + text + "' lists one value twice");
  }
  return counts;
}

std::vector<std::string> options_in_help(const std::string& help) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < help.size()) {
    std::size_t end = help.find('\n', start);
    if (end == std::string::npos) end = help.size();
    std::string_view line(help.data() + start, end - start);
    start = end + 1;
    const std::size_t word = line.find_first_not_of(' ');
    if (word == std::string_view::npos || word < 2 || word > 4) continue;
    line.remove_prefix(word);
    if (line.starts_with("-h, ")) line.remove_prefix(4);
    if (!line.starts_with("--")) continue;
    out.emplace_back(line.substr(0, line.find_first_of(" =\t")));
  }
  return out;
}

void unknown_option(std::string_view command, std::string_view option, const std::string& help) {
  std::string hint = cli::suggestion(option, options_in_help(help));
  if (hint.empty()) hint = " (see ipcbench " + std::string(command) + " --help)";
  throw UsageError(std::string(command) + ": unknown option " + std::string(option) + hint);
}

}  // namespace ipcbench
