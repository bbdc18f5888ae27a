// ipcbench: which way of moving bytes between two processes is fastest on this
// machine, for my message size, buffer capacity and way of waiting?
//
// main only dispatches: each command lives in bench/<command>_cmd.cpp.
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/clean_cmd.hpp"
#include "bench/compare_cmd.hpp"
#include "bench/list_cmd.hpp"
#include "bench/plot_cmd.hpp"
#include "bench/run_cmd.hpp"
#include "bench/run_options.hpp"
#include "bench/summary_cmd.hpp"
#include "build_info.hpp"
#include "git_commit.hpp"
#include "harness/cli.hpp"
#include "harness/error.hpp"

namespace ipcbench {
namespace {

const char* const kTopHelp = R"(usage: ipcbench <command> [options]

Measures latency and throughput of inter-process communication mechanisms
between two pinned processes, verifying every message.

commands:
  run       run a sweep of cases and write Google Benchmark JSON
  compare   compare two result files case by case (Mann-Whitney U), exit 1 on
            a significant regression
  summary   a results file's verdict (the fastest mechanism per pattern, size
            and way of waiting), or every case with --all
  plot      draw a result file's charts (PNG and SVG) and report.html:
            ipcbench plot RESULTS.json [--out DIR]; runs plots/plot.py with
            /usr/bin/python3
  list      list the mechanisms, their patterns, wait modes and capacity knob
  clean     remove what killed runs left behind (shm, mqueues, private
            directories, SysV objects whose creator is gone); run does this
            too before it starts. Never touches a live run's objects
  help      show this help, or `ipcbench help <command>`

options:
  -h, --help     this help
  -V, --version  the version, git commit and build type

`ipcbench <command> --help` (or -h) describes a command's options.

examples:
  ipcbench run --preset quick
  ipcbench plot results/2026-01-01T12-00-00.json
  ipcbench compare baseline.json results/2026-01-01T12-00-00.json
)";

const std::vector<std::string> kCommands = {"run",  "compare", "summary", "plot",
                                            "list", "clean",   "help"};

// `ipcbench --version`: what a bug report needs to name the build.
int cmd_version(int argc, char** argv) {
  if (argc > 2) throw UsageError(std::string(argv[1]) + ": unexpected argument '" + argv[2] + "'");
  std::cout << "ipcbench " << build::kVersion << " (commit " << build::kGitCommit << ", "
            << build::kBuildType << " build)\n";
  return 0;
}

// `ipcbench --help`, `-h`, `help` and `help <command>`.
int cmd_help(int argc, char** argv) {
  const std::string_view cmd = argv[1];
  const int max_args = cmd == "help" ? 3 : 2;
  if (argc > max_args) {
    throw UsageError(std::string(cmd) + ": unexpected argument '" + argv[max_args] + "'");
  }
  if (cmd != "help" || argc == 2) {
    std::cout << kTopHelp;
    return 0;
  }
  const std::string_view sub = argv[2];
  if (sub == "run") {
    std::cout << run_help();
  } else if (sub == "list") {
    std::cout << kListHelp;
  } else if (sub == "compare") {
    std::cout << kCompareHelp;
  } else if (sub == "summary") {
    std::cout << kSummaryHelp;
  } else if (sub == "clean") {
    std::cout << kCleanHelp;
  } else if (sub == "plot") {
    std::cout << kPlotHelp;
  } else {
    throw UsageError("help: unknown command '" + std::string(sub) + "'" +
                     cli::suggestion(sub, kCommands));
  }
  return 0;
}

int dispatch(int argc, char** argv) {
  if (argc < 2) throw UsageError("no command given (try: ipcbench --help)");
  const std::string_view cmd = argv[1];
  cli::Args args(argc, argv, 2);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") return cmd_help(argc, argv);
  if (cmd == "--version" || cmd == "-V") return cmd_version(argc, argv);
  if (cmd == "list") return cmd_list(args);
  if (cmd == "run") return cmd_run(args, argv[0]);
  if (cmd == "clean") return cmd_clean(args);
  if (cmd == "compare") return cmd_compare(args);
  if (cmd == "summary") return cmd_summary(args);
  if (cmd == "plot") return cmd_plot(std::vector<std::string>(argv + 2, argv + argc));
  const bool dashed = cmd.starts_with("-");
  const std::string hint =
      cli::suggestion(cmd, dashed ? std::vector<std::string>{"--help", "--version"} : kCommands);
  throw UsageError(
      (dashed ? "unknown option '" : "unknown command '") + std::string(cmd) + "'" +
      (hint.empty() ? " (commands: run, compare, summary, plot, list, clean, help)" : hint));
}

}  // namespace
}  // namespace ipcbench

int main(int argc, char** argv) {
  try {
    return ipcbench::dispatch(argc, argv);
  } catch (const ipcbench::UsageError& e) {
    std::cerr << "ipcbench: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ipcbench: " << e.what() << "\n";
    return 1;
  }
}
