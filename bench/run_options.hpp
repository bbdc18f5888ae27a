#pragma once
// `ipcbench run`'s options and help: the command line read into a RunPlan (the chosen
// preset's grids, narrowed and overridden by the options), checked in full before
// anything runs.
#include <string>
#include <vector>

#include "bench/suite.hpp"
#include "harness/cli.hpp"

namespace ipcbench {

struct RunArgs {
  RunPlan plan;
  std::string preset;
  std::string out;                           // empty: results/<date>T<time>.json
  std::vector<std::string> benchmark_flags;  // passed through to Google Benchmark
  std::string benchmark_filter;              // for the message when it matches nothing
  bool interleave = false;
  bool quiet = false;      // --quiet: no progress
  std::string hgrm_dir;    // --hgrm: empty, none
  bool list_only = false;  // --benchmark_list_tests: print the case names, run and write nothing
  std::vector<std::string> topology_notes;  // what the topology reader assumed (--placement)
};

// The help text (bench/run_help.cpp); defaults, presets, sweeps and who supports which
// wait mode are read from the presets table and the registry, so it cannot drift from them.
std::string run_help();
// Reads every option (`--help` prints run_help() and exits 0). Bad input throws
// UsageError before any case runs.
RunArgs parse_run(cli::Args& args);
// --benchmark_list_tests: the names the results file would hold, one a line, filtered
// as Google Benchmark filters; creates no file or directory.
void print_case_names(const RunArgs& r);

}  // namespace ipcbench
