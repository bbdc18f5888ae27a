#pragma once
// Parsing of command-line values. Every failure throws UsageError with one line that
// names the option and the bad value; main() prints it and exits 2.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ipcbench::cli {

// "64", "4K", "1M", "2G" (binary: K = 1024). Rejects 0 unless allow_zero, signs,
// junk and overflow.
std::uint64_t parse_count(std::string_view option, std::string_view text, bool allow_zero = false);
// A positive decimal number of seconds ("0.2", "30").
double parse_seconds(std::string_view option, std::string_view text);
// "a,b,c": no empty items, no duplicates.
std::vector<std::string> parse_list(std::string_view option, std::string_view text);

// Walks argv: `--name value` and `--name=value` forms, flags without values, and
// pass-through of Google Benchmark's `--benchmark_*` flags.
class Args {
 public:
  Args(int argc, char** argv, int first);
  bool done() const { return i_ >= args_.size(); }
  // The current option's name ("--sizes"); throws for a stray positional argument.
  std::string_view option() const;
  bool is_benchmark_flag() const { return option().starts_with("--benchmark_"); }
  // The whole current argument, for pass-through.
  const std::string& raw() const { return args_[i_]; }
  // The value of the current option (inline after '=' or the next argument).
  std::string value();
  // Moves past an option that takes no value (rejects `--flag=x`).
  void flag();
  void skip() { ++i_; }

 private:
  std::vector<std::string> args_;
  std::size_t i_ = 0;
};

}  // namespace ipcbench::cli
