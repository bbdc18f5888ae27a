#include "harness/compare.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "harness/case_name.hpp"
#include "harness/channel.hpp"
#include "harness/error.hpp"
#include "harness/floor.hpp"
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
    case Verdict::unconfirmed:
      return "unconfirmed";
  }
  return "?";
}

std::string read_results_text(const std::string& path) {
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
  return text;
}

RunValues load_run(const std::string& path, bool normalize) {
  return parse_run(read_results_text(path), path, normalize);
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

std::string text(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// The context's machine and floors; a field of another type reads as absent.
RunContext read_context(const nlohmann::json& ctx) {
  RunContext c;
  c.host_name = text(ctx, "host_name");
  c.cpu_model = text(ctx, "cpu_model");
  c.kernel = text(ctx, "kernel");
  c.preset = text(ctx, "preset");
  c.floor_cacheline_rtt_ns = number(ctx, "floor_cacheline_rtt_ns");
  c.floor_wake_rtt_ns = number(ctx, "floor_wake_rtt_ns");
  const auto& bw = ctx.value("floor_memcpy_bytes_per_s", nlohmann::json::object());
  if (bw.is_object()) {
    for (const auto& [size, v] : bw.items()) {
      if (v.is_number() && v.get<double>() > 0) c.floor_memcpy_bytes_per_s[size] = v.get<double>();
    }
  }
  const auto& placements = ctx.value("placements", nlohmann::json::object());
  if (placements.is_object()) {
    for (const auto& [name, p] : placements.items()) {
      if (p.is_object()) {
        c.placement_rtt_floors_ns[name] = {number(p, "floor_cacheline_rtt_ns"),
                                           number(p, "floor_wake_rtt_ns")};
      }
    }
  }
  return c;
}

// The round-trip floor of the case's way of waiting: cache line when it polls, wake-up
// otherwise; a /placement:P case's from its own placement's floors.
double rtt_floor_ns(const RunContext& ctx, const std::string& name) {
  const auto wait = parse_wait_mode(case_field(name, "wait"));
  const bool polling = wait && polls(*wait);
  const auto own = ctx.placement_rtt_floors_ns.find(case_field(name, "placement"));
  if (own != ctx.placement_rtt_floors_ns.end()) return own->second[polling ? 0 : 1];
  return polling ? ctx.floor_cacheline_rtt_ns : ctx.floor_wake_rtt_ns;
}

double memcpy_floor(const RunContext& ctx, const std::string& name) {
  const auto it = ctx.floor_memcpy_bytes_per_s.find(case_field(name, "size"));
  return it == ctx.floor_memcpy_bytes_per_s.end() ? NAN : it->second;
}

struct Scales {
  double latency = 1, throughput = 1;
};

// --normalize floor: latency over the floor of the case's way of waiting, throughput
// over memcpy at its size.
Scales floor_scales(const RunContext& ctx, const std::string& name) {
  const double floor_ns = rtt_floor_ns(ctx, name), bw_floor = memcpy_floor(ctx, name);
  return {floor_ns > 0 ? 1.0 / floor_ns : NAN, bw_floor > 0 ? 1.0 / bw_floor : NAN};
}

}  // namespace

nlohmann::json parse_results(std::string_view text, const std::string& path) {
  nlohmann::json doc = parse_document(text, path);
  if (!doc.is_object() || !doc.contains("benchmarks") || !doc["benchmarks"].is_array()) {
    throw UsageError("compare: " + path +
                     " has no \"benchmarks\" array (not an ipcbench or Google Benchmark file)");
  }
  if (doc.contains("context") && !doc["context"].is_object())
    throw UsageError("compare: " + path + ": \"context\" is not an object");
  const nlohmann::json& benchmarks = doc["benchmarks"];
  for (std::size_t i = 0; i < benchmarks.size(); ++i) check_types(benchmarks[i], path, i);
  return doc;
}

RunValues parse_run(std::string_view text, const std::string& path, bool normalize) {
  const nlohmann::json doc = parse_results(text, path);
  const nlohmann::json ctx = doc.value("context", nlohmann::json::object());
  if (normalize && !(number(ctx, "floor_wake_rtt_ns") > 0)) {
    throw UsageError("compare: --normalize floor: " + path +
                     " records no floors (run it with this ipcbench)");
  }
  RunValues run;
  run.path = path;
  run.context = read_context(ctx);
  const nlohmann::json& benchmarks = doc["benchmarks"];
  for (std::size_t i = 0; i < benchmarks.size(); ++i) {
    const nlohmann::json& b = benchmarks[i];
    if (b.value("run_type", "iteration") != "iteration") continue;
    const std::string name = b.value("run_name", b["name"].get<std::string>());
    if (name.empty()) continue;
    if (b.value("error_occurred", false)) {
      run.errors[name] = b.value("error_message", "failed");
      continue;
    }
    const Scales scale = normalize ? floor_scales(run.context, name) : Scales{};
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

namespace {

// The verdict on one row whose medians and p-value are set.
Verdict judge(const CompareRow& row, const CompareOptions& opt) {
  // Higher is worse for latency, lower for throughput.
  const double worse = row.metric == Metric::throughput ? -row.change : row.change;
  const bool past = std::abs(worse) > opt.threshold;
  if (smallest_p(row.n_base, row.n_new) >= opt.alpha)
    return past ? Verdict::unconfirmed : Verdict::too_few;
  if (row.p < opt.alpha && worse > opt.threshold) return Verdict::regression;
  if (row.p < opt.alpha && -worse > opt.threshold) return Verdict::improvement;
  return Verdict::same;
}

std::vector<Metric> metrics_of(const std::string& name, const CompareOptions& opt) {
  if (!opt.primary) return opt.metrics;
  return {name.starts_with("stream/") ? Metric::throughput : Metric::p50};
}

}  // namespace

std::vector<CompareRow> compare_runs(const RunValues& base, const RunValues& now,
                                     const CompareOptions& opt) {
  std::vector<CompareRow> rows;
  for (const auto& [name, base_metrics] : base.cases) {
    const auto other = now.cases.find(name);
    if (other == now.cases.end()) continue;
    for (Metric m : metrics_of(name, opt)) {
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
      row.verdict = judge(row, opt);
      rows.push_back(row);
    }
  }
  auto rank = [](Verdict v) {
    switch (v) {
      case Verdict::regression:
        return 0;
      case Verdict::improvement:
        return 1;
      case Verdict::unconfirmed:
        return 2;
      default:
        return 3;
    }
  };
  // Unconfirmed changes can be many (a quick run against a baseline): the largest first.
  auto size = [](const CompareRow& r) { return std::abs(std::log(r.now / r.base)); };
  std::stable_sort(rows.begin(), rows.end(), [&](const CompareRow& x, const CompareRow& y) {
    if (rank(x.verdict) != rank(y.verdict)) return rank(x.verdict) < rank(y.verdict);
    return x.verdict == Verdict::unconfirmed && size(x) > size(y);
  });
  return rows;
}

namespace {

// "121 ns" against "410 ns": how far apart two floors are, as a share of the lower.
bool floors_differ(double a, double b) {
  return a > 0 && b > 0 && std::max(a, b) / std::min(a, b) > 1 + kFloorTolerance;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

}  // namespace

std::vector<std::string> context_warnings(const RunContext& base, const RunContext& now,
                                          bool normalized) {
  std::vector<std::string> out;
  if (!base.cpu_model.empty() && !now.cpu_model.empty() && base.cpu_model != now.cpu_model)
    out.push_back("the runs are from different CPUs: " + quoted(base.cpu_model) + " and " +
                  quoted(now.cpu_model));
  if (!base.kernel.empty() && !now.kernel.empty() && base.kernel != now.kernel)
    out.push_back("the runs are from different kernels: " + quoted(base.kernel) + " and " +
                  quoted(now.kernel));
  auto floor = [&](const char* what, double a, double b) {
    if (!floors_differ(a, b)) return;
    out.push_back(std::string("the ") + what + " floors differ by more than " +
                  std::to_string(static_cast<int>(kFloorTolerance * 100)) +
                  "%: " + format_value(Metric::p50, a) + " and " + format_value(Metric::p50, b));
  };
  floor("cache-line round-trip", base.floor_cacheline_rtt_ns, now.floor_cacheline_rtt_ns);
  floor("wake-up round-trip", base.floor_wake_rtt_ns, now.floor_wake_rtt_ns);
  // memcpy is measured at every size: one line for all the sizes that moved.
  std::string sizes, first;
  for (const auto& [size, bw] : base.floor_memcpy_bytes_per_s) {
    const auto other = now.floor_memcpy_bytes_per_s.find(size);
    if (other == now.floor_memcpy_bytes_per_s.end() || !floors_differ(bw, other->second)) continue;
    if (sizes.empty())
      first = " (" + format_value(Metric::throughput, bw) + " and " +
              format_value(Metric::throughput, other->second) + " at " + size + " B)";
    sizes += (sizes.empty() ? "" : ", ") + size;
  }
  if (!sizes.empty()) {
    out.push_back("the memcpy floors differ by more than " +
                  std::to_string(static_cast<int>(kFloorTolerance * 100)) + "% at sizes " + sizes +
                  " B" + first);
  }
  for (std::string& w : out) {
    w += normalized ? " (compared over each run's own floors)"
                    : "; raw figures do not compare: try --normalize floor";
  }
  return out;
}

namespace {

std::string three_digits(double v, const char* unit) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3g %s", v, unit);
  return buf;
}

}  // namespace

std::string format_value(Metric m, double v) {
  if (!std::isfinite(v)) return "-";
  if (m == Metric::throughput) {
    if (v >= 1e9) return three_digits(v / 1e9, "GB/s");
    if (v >= 1e6) return three_digits(v / 1e6, "MB/s");
    if (v >= 1e3) return three_digits(v / 1e3, "kB/s");
    return three_digits(v, "B/s");
  }
  if (v >= 1e9) return three_digits(v / 1e9, "s");
  if (v >= 1e6) return three_digits(v / 1e6, "ms");
  if (v >= 1e3) return three_digits(v / 1e3, "µs");
  return three_digits(v, "ns");
}

std::string describe_change(Metric m, double base, double now) {
  if (!(base > 0) || !(now > 0)) return "-";
  if (base == now) return "same";
  // For a latency, more is slower; for a throughput, more is faster.
  const bool slower = m == Metric::throughput ? now < base : now > base;
  const double ratio = std::max(now, base) / std::min(now, base);
  char buf[48];
  if (ratio >= kRatioFrom) {
    std::snprintf(buf, sizeof buf, "%.*fx %s", ratio < 10 ? 1 : 0, ratio,
                  slower ? "slower" : "faster");
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%% %s", 100 * std::abs(now - base) / base,
                  slower ? "slower" : "faster");
  }
  return buf;
}

std::size_t repetitions_to_confirm(double alpha) {
  std::size_t n = 5;
  while (n < 100 && smallest_p(n, n) >= alpha) ++n;
  return n;
}

std::string confirm_command(const std::string& name, std::size_t repetitions) {
  std::string escaped;
  for (char ch : name) {
    if (std::strchr(".^$|()[]{}*+?\\", ch) != nullptr) escaped += '\\';
    if (ch == '\'') {
      escaped += "'\\''";  // the shell's way to put ' inside '...'
      continue;
    }
    escaped += ch;
  }
  return "ipcbench run --repetitions " + std::to_string(repetitions) + " --benchmark_filter='^" +
         escaped + "(/|$)'";
}

double x_floor(const RunContext& ctx, const std::string& name, Metric m, double figure) {
  if (!(figure > 0)) return NAN;
  if (m == Metric::throughput) {
    const double bw = memcpy_floor(ctx, name);
    return bw > 0 ? bw / figure : NAN;
  }
  // Latencies are one way: over half the round-trip floor of the run's model
  // (pingpong_floor_rtt_ns, docs/floors.md), built from this run's context.
  const std::string size = case_field(name, "size");
  const auto wait = parse_wait_mode(case_field(name, "wait"));
  const bool polling = wait && polls(*wait);
  Floors floors;
  (polling ? floors.cacheline_rtt_ns : floors.wake_rtt_ns) = rtt_floor_ns(ctx, name);
  const std::size_t bytes = std::strtoull(size.c_str(), nullptr, 10);
  floors.memcpy_bytes_per_s[bytes] = memcpy_floor(ctx, name);
  const double floor_rtt_ns = pingpong_floor_rtt_ns(floors, polling, bytes);
  return floor_rtt_ns > 0 ? figure / (floor_rtt_ns / 2) : NAN;
}

std::vector<FleetRow> fleet_rows(std::span<const RunValues> runs, const CompareOptions& opt) {
  std::map<std::string, std::vector<Metric>> names;  // every case of any run, sorted
  for (const RunValues& r : runs) {
    for (const auto& entry : r.cases) names.emplace(entry.first, metrics_of(entry.first, opt));
  }
  std::vector<FleetRow> rows;
  for (const auto& [name, metrics] : names) {
    for (Metric m : metrics) {
      FleetRow row{name, m, std::vector<FleetCell>(runs.size()), -1};
      bool any = false;
      for (std::size_t i = 0; i < runs.size(); ++i) {
        const auto c = runs[i].cases.find(name);
        if (c == runs[i].cases.end()) continue;
        const auto v = c->second.find(m);
        if (v == c->second.end() || v->second.empty()) continue;
        FleetCell& cell = row.cells[i];
        cell.raw = median(v->second);
        cell.n = v->second.size();
        cell.x_floor = x_floor(runs[i].context, name, m, cell.raw);
        any = true;
        if (cell.x_floor > 0 &&
            (row.best < 0 || cell.x_floor < row.cells[static_cast<std::size_t>(row.best)].x_floor))
          row.best = static_cast<int>(i);
      }
      if (any) rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace ipcbench
