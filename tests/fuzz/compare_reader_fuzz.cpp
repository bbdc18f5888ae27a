// libFuzzer target for the results reader behind `ipcbench compare`
// (harness/compare.cpp). Whatever the bytes, parse_run must either return a run or
// throw UsageError with one line; any other exception, a crash, a leak or undefined
// behaviour (ASan, UBSan) fails. What it returns then goes through compare_runs,
// against itself, per metric and with --metric primary, so the statistics meet every
// value a file can hold; every p-value must lie in [0, 1].
//
// Built with clang++ -fsanitize=fuzzer,address,undefined by tests/fuzz/CMakeLists.txt
// and run for a bounded time by run_fuzz.sh (ctest compare_reader_fuzz); README
// "Tests" says how to run it longer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "harness/compare.hpp"
#include "harness/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const bool normalize : {false, true}) {
    try {
      const ipcbench::RunValues run = ipcbench::parse_run(text, "fuzz.json", normalize);
      for (const bool primary : {false, true}) {
        ipcbench::CompareOptions opt;
        opt.primary = primary;
        for (const ipcbench::CompareRow& row : ipcbench::compare_runs(run, run, opt)) {
          if (!(row.p >= 0 && row.p <= 1)) __builtin_trap();
        }
      }
    } catch (const ipcbench::UsageError& e) {
      // Bad input is one line on stderr: a newline in the message (from the file's
      // bytes, say) would break that.
      if (std::string_view(e.what()).find('\n') != std::string_view::npos) __builtin_trap();
    }
  }
  return 0;
}
