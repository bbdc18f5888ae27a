#pragma once
// What the commands share beyond harness/cli.hpp: values shown in help texts ("4K",
// "300k"), the help's word wrapping, and the lists `run` parses. Parsing failures
// throw UsageError with one line naming the option and the bad value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "harness/cli.hpp"

namespace ipcbench {

// Joins values for the help text: "1,64,4K,64K,1M".
template <typename T, typename Show>
std::string join_values(const std::vector<T>& values, Show show, std::string_view sep = ",") {
  std::string out;
  for (const T& v : values) out += (out.empty() ? "" : std::string(sep)) + show(v);
  return out;
}

// Sizes in binary units: "64", "4K", "1M".
std::string show_size(std::size_t bytes);
// Rates in decimal units: "1k", "300k", "10M".
std::string show_rate(std::uint64_t msgs_per_s);
// "block, spin, spin_yield, ..." for messages.
std::string all_wait_modes();

// Words of `text` in lines of at most 79 columns, the first line starting at column
// `first`, every line after it indented by `indent` columns; ends with a newline.
std::string wrap(const std::string& text, std::size_t first, std::size_t indent);

template <typename T, typename Parse>
std::vector<T> parse_each(std::string_view option, const std::string& text, Parse parse) {
  std::vector<T> out;
  for (const std::string& item : cli::parse_list(option, text)) out.push_back(parse(item));
  return out;
}

// An offered rate in messages per second: a whole number with an optional decimal
// suffix k (10^3) or M (10^6), from 1 to `max_msgs_per_s`.
std::uint64_t parse_rate(std::string_view option, const std::string& item,
                         std::uint64_t max_msgs_per_s);
// A list of counts, each from 1 to `max`; `too_large` ends the message for one above it.
// One value spelt twice ("1K,1024") is refused like a repeated item. With `bytes`, each
// item is a size (cli::parse_bytes: "64B", "4KiB" too).
std::vector<std::size_t> parse_counts(std::string_view option, const std::string& text,
                                      std::uint64_t max, const char* too_large, bool bytes = false);
// The options a help text lists: each line's first word when it starts with "--" (or
// "-h, --help"'s), so a suggestion for a mistyped option can never drift from the help.
std::vector<std::string> options_in_help(const std::string& help);
// "CMD: unknown option OPT; did you mean '--x'?" or "... (see ipcbench CMD --help)".
[[noreturn]] void unknown_option(std::string_view command, std::string_view option,
                                 const std::string& help);

}  // namespace ipcbench
