#include "harness/compare.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "harness/channel.hpp"
#include "harness/error.hpp"
#include "harness/stats.hpp"

namespace ipcbench {

namespace {

constexpr std::size_t kExactMax = 20;  // per sample: the exact distribution's table stays small

// Number of arrangements of n1 + n2 values giving each U = 0 .. n1 * n2 (no ties):
// f(u; i, j) = f(u - j; i - 1, j) + f(u; i, j - 1), the largest value being from a or b.
std::vector<double> u_counts(std::size_t n1, std::size_t n2) {
  // table[i][j] is the distribution for i values of a and j of b.
  std::vector<std::vector<std::vector<double>>> table(n1 + 1,
                                                      std::vector<std::vector<double>>(n2 + 1));
  for (std::size_t i = 0; i <= n1; ++i) {
    for (std::size_t j = 0; j <= n2; ++j) {
      std::vector<double>& f = table[i][j];
      f.assign(i * j + 1, 0.0);
      if (i == 0 || j == 0) {
        f[0] = 1;
        continue;
      }
      const std::vector<double>& a_last =
          table[i - 1][j];  // the largest is a's: it beats all j of b
      const std::vector<double>& b_last = table[i][j - 1];
      for (std::size_t u = 0; u < a_last.size(); ++u) f[u + j] += a_last[u];
      for (std::size_t u = 0; u < b_last.size(); ++u) f[u] += b_last[u];
    }
  }
  return table[n1][n2];
}

double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

}  // namespace

double smallest_p(std::size_t n1, std::size_t n2) {
  if (n1 == 0 || n2 == 0) return 1;
  double c = 1;  // C(n1 + n2, n1), as a double: only its size matters here
  for (std::size_t k = 1; k <= n1; ++k)
    c = c * static_cast<double>(n2 + k) / static_cast<double>(k);
  return std::min(1.0, 2.0 / c);
}

double mann_whitney_p(std::span<const double> a, std::span<const double> b) {
  const std::size_t n1 = a.size(), n2 = b.size();
  if (n1 == 0 || n2 == 0) return 1;
  // U of a (pairs where a's value is the larger, ties counting a half) from the rank
  // sum of a in the pooled sample, ties given their average rank: n log n, where
  // comparing every pair would take hours on a file holding a case a million times.
  std::vector<std::pair<double, bool>> pooled;  // value, from a
  pooled.reserve(n1 + n2);
  for (double x : a) pooled.emplace_back(x, true);
  for (double y : b) pooled.emplace_back(y, false);
  std::sort(pooled.begin(), pooled.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  double rank_sum_a = 0;
  double tie_term = 0;  // sum of t^3 - t over groups of equal values
  for (std::size_t i = 0; i < pooled.size();) {
    std::size_t j = i, from_a = 0;
    for (; j < pooled.size() && pooled[j].first == pooled[i].first; ++j)
      from_a += pooled[j].second ? 1 : 0;
    const double t = static_cast<double>(j - i);
    rank_sum_a +=
        static_cast<double>(from_a) * static_cast<double>(i + 1 + j) / 2.0;  // ranks i+1 .. j
    tie_term += t * t * t - t;
    i = j;
  }
  const double u = rank_sum_a - static_cast<double>(n1) * static_cast<double>(n1 + 1) / 2.0;
  const double mean_u = static_cast<double>(n1 * n2) / 2.0;
  if (tie_term == 0 && n1 <= kExactMax && n2 <= kExactMax) {
    const std::vector<double> f = u_counts(n1, n2);
    const double total = std::accumulate(f.begin(), f.end(), 0.0);
    const auto k = static_cast<std::size_t>(std::lround(u));
    double low = 0, high = 0;  // P(U <= u), P(U >= u)
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (i <= k) low += f[i];
      if (i >= k) high += f[i];
    }
    return std::min(1.0, 2.0 * std::min(low, high) / total);
  }
  const double n = static_cast<double>(n1 + n2);
  const double var = static_cast<double>(n1 * n2) / 12.0 * ((n + 1) - tie_term / (n * (n - 1)));
  if (var <= 0) return 1;  // every value equal
  const double z = (std::abs(u - mean_u) - 0.5) / std::sqrt(var);
  return std::min(1.0, 2.0 * normal_sf(std::max(z, 0.0)));
}

std::string_view to_string(Metric m) noexcept {
  switch (m) {
    case Metric::p50:
      return "p50";
    case Metric::p99:
      return "p99";
    case Metric::throughput:
      return "throughput";
  }
  return "?";
}

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::same:
      return "same";
    case Verdict::regression:
      return "REGRESSION";
    case Verdict::improvement:
      return "improvement";
    case Verdict::too_few:
      return "too few repetitions";
  }
  return "?";
}

RunValues load_run(const std::string& path, bool normalize) {
  // Checked before reading: a directory opens and reads as an empty stream, and a
  // device such as /dev/zero never ends.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw UsageError("compare: cannot read " + path + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    throw UsageError("compare: " + path + " is a directory, not a results file");
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    throw UsageError("compare: " + path + " is not a regular file");
  }
  const std::string too_large = "compare: " + path + " is larger than " +
                                std::to_string(kMaxResultsBytes >> 20) +
                                " MiB, more than any results file (refused rather than parsed)";
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > kMaxResultsBytes)
    throw UsageError(too_large);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("compare: cannot read " + path + ": " + std::strerror(errno));
  // A pipe has no size to check first: read at most one byte past the limit.
  std::string text(kMaxResultsBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw UsageError("compare: cannot read " + path + ": " + std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxResultsBytes) throw UsageError(too_large);
  return parse_run(text, path, normalize);
}

namespace {

// A field compare reads, present with the wrong type: the file is not what it claims.
[[noreturn]] void wrong_type(const std::string& path, std::size_t i, const char* key,
                             const char* want) {
  throw UsageError("compare: " + path + ": benchmarks[" + std::to_string(i) + "]." + key +
                   " is not " + want);
}

}  // namespace

namespace {

double number(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

// The whole document, with its nesting bounded: the parser keeps a stack entry and a
// value per level, so 60 MB of '[' would cost gigabytes. Every value is kept.
nlohmann::json parse_document(std::string_view text, const std::string& path) {
  if (text.empty()) throw UsageError("compare: " + path + " is empty");
  try {
    return nlohmann::json::parse(
        text, [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
          if (depth > kMaxResultsDepth) {
            throw UsageError("compare: " + path + " is nested deeper than " +
                             std::to_string(kMaxResultsDepth) + " levels (not a results file)");
          }
          return true;
        });
  } catch (const nlohmann::json::exception& e) {
    // e.what() is one line: "[json.exception.parse_error.101] parse error at line 1, ...".
    throw UsageError("compare: " + path + " is not valid JSON (" + std::string(e.what()) + ")");
  }
}

// The types of what is read from benchmarks[i] are checked before any is used:
// json::value() throws type_error on a mismatch, which is the file's fault, not a crash.
void check_types(const nlohmann::json& b, const std::string& path, std::size_t i) {
  if (!b.is_object())
    throw UsageError("compare: " + path + ": benchmarks[" + std::to_string(i) +
                     "] is not an object");
  if (!b.contains("name") || !b["name"].is_string()) wrong_type(path, i, "name", "a string");
  for (const char* key : {"run_name", "run_type", "error_message"}) {
    if (b.contains(key) && !b[key].is_string()) wrong_type(path, i, key, "a string");
  }
  if (b.contains("error_occurred") && !b["error_occurred"].is_boolean())
    wrong_type(path, i, "error_occurred", "a boolean");
  // GB writes null for a statistic it could not compute; any other non-number is wrong.
  for (const char* key : {"p50_ns", "p99_ns", "bytes_per_s"}) {
    if (b.contains(key) && !b[key].is_number() && !b[key].is_null())
      wrong_type(path, i, key, "a number");
  }
}

// The value of `key` in a case name pattern/mechanism/size:N/capacity:N/wait:W[/rate:N].
std::string name_field(const std::string& name, const std::string& key) {
  const auto at = name.find("/" + key + ":");
  if (at == std::string::npos) return std::string();
  const auto from = at + key.size() + 2;
  return name.substr(from, name.find('/', from) - from);
}

struct Scales {
  double latency = 1, throughput = 1;
};

// --normalize floor: latency over the floor of the case's way of waiting (cache-line
// round trip when it polls, wake-up otherwise), throughput over memcpy at its size.
Scales floor_scales(const nlohmann::json& ctx, const std::string& name) {
  const auto wait = parse_wait_mode(name_field(name, "wait"));
  const double floor_ns = wait && polls(*wait) ? number(ctx, "floor_cacheline_rtt_ns")
                                               : number(ctx, "floor_wake_rtt_ns");
  const auto& bw = ctx.value("floor_memcpy_bytes_per_s", nlohmann::json::object());
  const std::string size = name_field(name, "size");
  const double bw_floor =
      bw.is_object() && bw.contains(size) && bw[size].is_number() ? bw[size].get<double>() : NAN;
  return {floor_ns > 0 ? 1.0 / floor_ns : NAN, bw_floor > 0 ? 1.0 / bw_floor : NAN};
}

}  // namespace

RunValues parse_run(std::string_view text, const std::string& path, bool normalize) {
  const nlohmann::json doc = parse_document(text, path);
  if (!doc.is_object() || !doc.contains("benchmarks") || !doc["benchmarks"].is_array()) {
    throw UsageError("compare: " + path +
                     " has no \"benchmarks\" array (not an ipcbench or Google Benchmark file)");
  }
  const nlohmann::json ctx = doc.value("context", nlohmann::json::object());
  if (!ctx.is_object()) throw UsageError("compare: " + path + ": \"context\" is not an object");
  if (normalize && !(number(ctx, "floor_wake_rtt_ns") > 0)) {
    throw UsageError("compare: --normalize floor: " + path +
                     " records no floors (run it with this ipcbench)");
  }
  RunValues run;
  run.path = path;
  const nlohmann::json& benchmarks = doc["benchmarks"];
  for (std::size_t i = 0; i < benchmarks.size(); ++i) {
    const nlohmann::json& b = benchmarks[i];
    check_types(b, path, i);
    if (b.value("run_type", "iteration") != "iteration") continue;
    const std::string name = b.value("run_name", b["name"].get<std::string>());
    if (name.empty()) continue;
    if (b.value("error_occurred", false)) {
      run.errors[name] = b.value("error_message", "failed");
      continue;
    }
    const Scales scale = normalize ? floor_scales(ctx, name) : Scales{};
    auto& metrics = run.cases[name];
    auto add = [&](Metric m, const char* key, double by) {
      const double v = number(b, key) * by;
      if (std::isfinite(v) && v > 0) metrics[m].push_back(v);
    };
    add(Metric::p50, "p50_ns", scale.latency);
    add(Metric::p99, "p99_ns", scale.latency);
    add(Metric::throughput, "bytes_per_s", scale.throughput);
  }
  return run;
}

std::vector<CompareRow> compare_runs(const RunValues& base, const RunValues& now,
                                     const CompareOptions& opt) {
  std::vector<CompareRow> rows;
  for (const auto& [name, base_metrics] : base.cases) {
    const auto other = now.cases.find(name);
    if (other == now.cases.end()) continue;
    const std::vector<Metric> metrics =
        !opt.primary
            ? opt.metrics
            : std::vector<Metric>{name.starts_with("stream/") ? Metric::throughput : Metric::p50};
    for (Metric m : metrics) {
      const auto bv = base_metrics.find(m);
      const auto nv = other->second.find(m);
      if (bv == base_metrics.end() || nv == other->second.end()) continue;
      CompareRow row;
      row.name = name;
      row.metric = m;
      row.n_base = bv->second.size();
      row.n_new = nv->second.size();
      row.base = median(bv->second);
      row.now = median(nv->second);
      row.change = (row.now - row.base) / row.base;
      row.p = mann_whitney_p(bv->second, nv->second);
      // Higher is worse for latency, lower for throughput.
      const double worse = m == Metric::throughput ? -row.change : row.change;
      if (smallest_p(row.n_base, row.n_new) >= opt.alpha) {
        row.verdict = Verdict::too_few;
      } else if (row.p < opt.alpha && worse > opt.threshold) {
        row.verdict = Verdict::regression;
      } else if (row.p < opt.alpha && -worse > opt.threshold) {
        row.verdict = Verdict::improvement;
      }
      rows.push_back(row);
    }
  }
  auto rank = [](Verdict v) {
    return v == Verdict::regression ? 0 : v == Verdict::improvement ? 1 : 2;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const CompareRow& x, const CompareRow& y) {
    return rank(x.verdict) < rank(y.verdict);
  });
  return rows;
}

}  // namespace ipcbench
