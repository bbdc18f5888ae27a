#include "harness/cli.hpp"

#include <algorithm>
#include <cctype>
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

std::uint64_t parse_bytes(std::string_view option, std::string_view text) {
  std::string_view count = text;
  if (count.ends_with("iB") && count.size() > 2 &&
      std::string_view("KkMmGg").find(count[count.size() - 3]) != std::string_view::npos) {
    count.remove_suffix(2);  // "4KiB" -> "4K"
  } else if (count.ends_with("B") && count.size() > 1 &&
             std::isdigit(static_cast<unsigned char>(count[count.size() - 2]))) {
    count.remove_suffix(1);  // "64B" -> "64"
  }
  try {
    return parse_count(option, count);
  } catch (const UsageError&) {
    bad(option, text, "expected a size such as 64, 64B, 4K or 4KiB (K, M, G binary)");
  }
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

namespace {
// Optimal string alignment distance: insertions, deletions, substitutions and swaps
// of two adjacent letters each cost one edit.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}
}  // namespace

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  // Case is no edit ("PIPE" is suggested "pipe"; names stay exact), and the leading
  // dashes are no letters: "--mechanism" is one edit from "--mechanisms" in 9 letters.
  std::string lower(word);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  const std::size_t first_letter = word.find_first_not_of('-');
  const std::size_t letters =
      first_letter == std::string_view::npos ? 0 : word.size() - first_letter;
  std::size_t best_distance = std::max<std::size_t>(1, std::min<std::size_t>(2, letters / 3)) + 1;
  std::string best;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(lower, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string best = did_you_mean(word, candidates);
  return best.empty() ? std::string() : "; did you mean '" + best + "'?";
}

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) args_.emplace_back(argv[i]);
}

std::string_view Args::option() const {
  std::string_view a = args_[i_];
  if (a == "-h") return "--help";
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
