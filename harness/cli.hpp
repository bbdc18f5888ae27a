#pragma once
// Parsing of command-line values. Every failure throws UsageError with one line that
// names the option and the bad value; main() prints it and exits 2.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ipcbench::cli {

// "64", "4K", "1M", "2G" (binary: K = 1024). Rejects 0 unless allow_zero, signs,
// junk and overflow.
std::uint64_t parse_count(std::string_view option, std::string_view text, bool allow_zero = false);
// A message size: parse_count's forms plus a unit, "64B", "4KiB", "1MiB" (binary, as
// K and M are; "4KB" is refused: in SI it would mean 4000).
std::uint64_t parse_bytes(std::string_view option, std::string_view text);
// A plain decimal whole number ("0", "17"): no suffix, sign or space (a CPU number).
std::uint64_t parse_whole(std::string_view option, std::string_view text);
// A decimal number of seconds ("0.2", "30"), at least kMinSeconds.
inline constexpr double kMinSeconds = 0.001;
double parse_seconds(std::string_view option, std::string_view text);
// "a,b,c": no empty items, no duplicates.
std::vector<std::string> parse_list(std::string_view option, std::string_view text);

// The candidate closest to `word` by Damerau-Levenshtein distance (an adjacent swap
// counts one edit), if close enough to be a typo (at most 2 edits, and fewer than
// half the word's letters), as git and cargo suggest; "" when none is.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);
// "; did you mean 'x'?" for the closest candidate, or "" when none is close.
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates);

// Walks argv: `--name value` and `--name=value` forms, flags without values, and
// pass-through of Google Benchmark's `--benchmark_*` flags; `-h` is `--help`. An option taken twice
// (value() or flag()) is an error: which one should win is a guess.
class Args {
 public:
  Args(int argc, char** argv, int first);
  bool done() const { return i_ >= args_.size(); }
  // The current option's name ("--sizes"); throws for a stray positional argument.
  std::string_view option() const;
  bool is_benchmark_flag() const { return option().starts_with("--benchmark_"); }
  // The whole current argument, for pass-through.
  const std::string& raw() const { return args_[i_]; }
  // The value of the current option (inline after '=' or the next argument). A next
  // argument that starts with "--" is the next option, so the value is missing: no
  // file or list ipcbench takes starts so, and `--out --sizes` writing a file named
  // "--sizes" is never what was meant (`--out=--sizes` still can).
  std::string value();
  // Moves past an option that takes no value (rejects `--flag=x`).
  void flag();
  void skip() { ++i_; }

 private:
  void first_time(std::string_view option);

  std::vector<std::string> args_;
  std::size_t i_ = 0;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace ipcbench::cli
