#include "harness/cli.hpp"

#include <charconv>
#include <cmath>
#include <set>

#include "harness/error.hpp"

namespace ipcbench::cli {

namespace {
[[noreturn]] void bad(std::string_view option, std::string_view text, std::string_view why) {
  throw UsageError(std::string(option) + ": " + std::string(why) + " (got '" + std::string(text) +
                   "')");
}
}  // namespace

std::uint64_t parse_count(std::string_view option, std::string_view text, bool allow_zero) {
  if (text.empty()) bad(option, text, "expected a number");
  std::uint64_t multiplier = 1;
  std::string_view digits = text;
  switch (text.back()) {
    case 'K':
    case 'k':
      multiplier = 1ull << 10;
      break;
    case 'M':
    case 'm':
      multiplier = 1ull << 20;
      break;
    case 'G':
    case 'g':
      multiplier = 1ull << 30;
      break;
    default:
      break;
  }
  if (multiplier != 1) digits.remove_suffix(1);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    bad(option, text, "expected a whole number with an optional K, M or G suffix");
  }
  if (ec == std::errc::result_out_of_range || value > UINT64_MAX / multiplier)
    bad(option, text, "number too large");
  value *= multiplier;
  if (value == 0 && !allow_zero) bad(option, text, "must be at least 1");
  return value;
}

std::uint64_t parse_whole(std::string_view option, std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size()) {
    bad(option, text, "expected a whole number");
  }
  if (ec == std::errc::result_out_of_range) bad(option, text, "number too large");
  return value;
}

double parse_seconds(std::string_view option, std::string_view text) {
  double value = 0;
  // from_chars, not strtod: no hex floats, no leading space, no locale; an exponent
  // past a double's range is result_out_of_range rather than inf or 0.
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value) || value <= 0) {
    bad(option, text, "expected a positive number of seconds");
  }
  // 1e-300 is positive, but no case can run or time out in it: a typo or a unit mix-up.
  if (value < kMinSeconds) bad(option, text, "at least 0.001 seconds");
  return value;
}

std::vector<std::string> parse_list(std::string_view option, std::string_view text) {
  std::vector<std::string> items;
  std::set<std::string> seen;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) bad(option, text, "empty item in the list");
    if (!seen.insert(std::string(item)).second)
      bad(option, text, "'" + std::string(item) + "' is listed twice");
    items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return items;
}

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) args_.emplace_back(argv[i]);
}

std::string_view Args::option() const {
  std::string_view a = args_[i_];
  if (!a.starts_with("--"))
    throw UsageError("unexpected argument '" + args_[i_] + "' (options start with --)");
  return a.substr(0, a.find('='));
}

void Args::first_time(std::string_view option) {
  if (!seen_.emplace(option).second) throw UsageError(std::string(option) + ": given twice");
}

std::string Args::value() {
  const std::string& a = args_[i_];
  first_time(option());
  const std::size_t eq = a.find('=');
  if (eq != std::string::npos) {
    ++i_;
    return a.substr(eq + 1);
  }
  if (i_ + 1 >= args_.size() || args_[i_ + 1].starts_with("--"))
    throw UsageError(a + ": missing value");
  i_ += 2;
  return args_[i_ - 1];
}

void Args::flag() {
  if (args_[i_].find('=') != std::string::npos)
    throw UsageError(std::string(option()) + " takes no value");
  first_time(option());
  ++i_;
}

}  // namespace ipcbench::cli
