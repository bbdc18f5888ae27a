#pragma once
// HdrHistogram's percentile text format (.hgrm), the one its plotters read
// (HistogramLogAnalyzer, hdr-plot, plotFiles.html): a header line, one row per
// percentile step (value, percentile, cumulative count, 1/(1-percentile)), and the
// #[Mean ...] #[Max ...] #[Buckets ...] footer. Values are written in microseconds,
// the plotters' default unit.
#include <memory>
#include <ostream>
#include <string>

#include "harness/histogram.hpp"

namespace ipcbench {

// Writes `h` (recorded in ns; every value multiplied by `scale`, e.g. 0.5 for a
// round trip shown one way) in .hgrm form, after a '#' comment line naming `title`.
void write_hgrm(std::ostream& out, const Histogram& h, double scale, const std::string& title);

// "pingpong/pipe/size:64/capacity:16/wait:block" -> "pingpong_pipe_size:64_..." + ".hgrm".
std::string hgrm_file_name(const std::string& case_name);

// Writes each case's latency distribution, its repetitions merged, into a directory:
// the file is rewritten after each repetition, so only one case's histogram is held.
class HgrmExporter {
 public:
  explicit HgrmExporter(std::string dir);
  // One repetition's histogram of `case_name`; throws SysError when the file cannot
  // be written.
  void add(const std::string& case_name, const Histogram& h, double scale);
  std::size_t files() const { return files_; }

 private:
  std::string dir_;
  std::string current_;
  std::unique_ptr<Histogram> merged_;  // ~28 KiB: on the heap
  double scale_ = 1;
  std::size_t files_ = 0;
};

// The exporter the suite hands each repetition's histogram to; null: none (the default).
void set_hgrm_exporter(HgrmExporter* exporter) noexcept;
HgrmExporter* hgrm_exporter() noexcept;

}  // namespace ipcbench
