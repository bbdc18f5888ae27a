#include "harness/hgrm.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "harness/error.hpp"

namespace ipcbench {
namespace {

HgrmExporter* g_exporter = nullptr;

constexpr double kNsPerUs = 1e3;
// HdrHistogram's default: 5 steps per halving of the distance to 100%.
constexpr int kTicksPerHalfDistance = 5;

// The next percentile (in %) after p, with HdrHistogram's step: finer as p nears 100.
double next_percentile(double p) {
  const double halvings = std::floor(std::log2(100.0 / (100.0 - p)));
  const double ticks = kTicksPerHalfDistance * std::pow(2.0, halvings + 1);
  return p + 100.0 / ticks;
}

// Cumulative count of the values at most `value_ns` (whole buckets).
std::uint64_t count_through(const Histogram& h, double value_ns) {
  const int last = Histogram::index_of(static_cast<std::uint64_t>(value_ns));
  std::uint64_t n = 0;
  for (int i = 0; i <= last; ++i) n += h.bucket_count(i);
  return n;
}

double stddev_ns(const Histogram& h) {
  const double mean = h.mean_ns();
  double sum_sq = 0;
  for (int i = 0; i < Histogram::kBuckets; ++i) {
    const std::uint64_t n = h.bucket_count(i);
    if (n == 0) continue;
    const double mid = static_cast<double>(Histogram::bucket_low(i)) +
                       static_cast<double>(Histogram::bucket_width(i) - 1) / 2.0;
    sum_sq += static_cast<double>(n) * (mid - mean) * (mid - mean);
  }
  return h.count() > 0 ? std::sqrt(sum_sq / static_cast<double>(h.count())) : 0.0;
}

}  // namespace

void write_hgrm(std::ostream& out, const Histogram& h, double scale, const std::string& title) {
  char line[160];
  out << "# ipcbench " << title << ": latency in microseconds (us)\n";
  std::snprintf(line, sizeof line, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
                "1/(1-Percentile)");
  out << line;
  const double count = static_cast<double>(h.count());
  const double to_us = scale / kNsPerUs;
  // Until the step is finer than one value in `count`: past it every row repeats the max.
  for (double p = 0; count > 0 && (100.0 - p) / 100.0 >= 1.0 / count; p = next_percentile(p)) {
    const double value_ns = h.percentile(p / 100.0);
    std::snprintf(line, sizeof line, "%12.3f %2.12f %10llu %14.2f\n", value_ns * to_us, p / 100.0,
                  static_cast<unsigned long long>(count_through(h, value_ns)), 100.0 / (100.0 - p));
    out << line;
  }
  std::snprintf(line, sizeof line, "%12.3f %2.12f %10llu\n",
                static_cast<double>(h.max_ns()) * to_us, 1.0,
                static_cast<unsigned long long>(h.count()));
  out << line;
  std::snprintf(line, sizeof line, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n",
                h.mean_ns() * to_us, stddev_ns(h) * to_us);
  out << line;
  std::snprintf(line, sizeof line, "#[Max     = %12.3f, Total count    = %12llu]\n",
                static_cast<double>(h.max_ns()) * to_us,
                static_cast<unsigned long long>(h.count()));
  out << line;
  std::snprintf(line, sizeof line, "#[Buckets = %12d, SubBuckets     = %12d]\n",
                Histogram::kMaxExponent - Histogram::kSubBits + 1, 2 << Histogram::kSubBits);
  out << line;
}

std::string hgrm_file_name(const std::string& case_name) {
  std::string name = case_name;
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  return name + ".hgrm";
}

HgrmExporter::HgrmExporter(std::string dir) : dir_(std::move(dir)) {}

void HgrmExporter::add(const std::string& case_name, const Histogram& h, double scale) {
  if (h.count() == 0) return;
  if (files_ == 0 && ::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    throw SysError("mkdir", dir_);
  }
  if (case_name != current_ || !merged_) {
    current_ = case_name;
    merged_ = std::make_unique<Histogram>();
    scale_ = scale;
    ++files_;
  }
  merged_->merge(h);
  const std::string path = dir_ + "/" + hgrm_file_name(case_name);
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw SysError("open", path);
  write_hgrm(out, *merged_, scale_, case_name);
  out.flush();
  if (!out) throw SysError("write", path);
}

void set_hgrm_exporter(HgrmExporter* exporter) noexcept { g_exporter = exporter; }
HgrmExporter* hgrm_exporter() noexcept { return g_exporter; }

}  // namespace ipcbench
