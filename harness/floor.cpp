#include "harness/floor.hpp"

#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <iostream>
#include <new>

#include "harness/cacheline.hpp"
#include "harness/child.hpp"
#include "harness/clock.hpp"
#include "harness/error.hpp"
#include "harness/futex.hpp"
#include "harness/message.hpp"
#include "harness/owners.hpp"
#include "harness/stats.hpp"

namespace ipcbench {
namespace {

constexpr int kBatches = 15;

// The line both processes write; alone on its cache line (and the next, for the
// adjacent-line prefetcher).
struct alignas(kCacheLineSeparation) PingLine {
  std::atomic<std::uint32_t> value{0};
};

// A floor that has not finished by then has a stopped or dead process; the floors
// take well under a second each, even under valgrind a few.
constexpr double kFloorTimeoutSeconds = 20;

// Runs `initiator` in a child pinned to cpus[0] and `responder` in one pinned to
// cpus[1], and returns what the initiator returns. The caller only watches, as in a
// case: a responder or initiator that hangs or dies is a reported error, not a hang.
template <typename Initiator, typename Responder>
double with_responder(const std::array<int, 2>& cpus, Initiator initiator, Responder responder) {
  Mapping result_map = map_shared(sizeof(double));
  auto* result = static_cast<double*>(result_map.get());
  *result = 0;
  Child children[2];
  children[1] = fork_child("ipcb-floor-resp", [&] {
    pin_to_cpu(cpus[1]);
    responder();
  });
  children[0] = fork_child("ipcb-floor-init", [&] {
    pin_to_cpu(cpus[0]);
    *result = initiator();
  });
  const bool done = reap_within(children, static_cast<std::uint64_t>(kFloorTimeoutSeconds * 1e9));
  std::string failure;
  for (int i = 0; i < 2; ++i) {
    const char* role = i == 0 ? "initiator" : "responder";
    if (!done && children[i].running()) {
      failure += std::string(failure.empty() ? "" : "; ") + role + " had not finished after " +
                 std::to_string(static_cast<int>(kFloorTimeoutSeconds)) + " s (" +
                 describe_stuck(children[i].pid()) + ")";
    } else if (!children[i].running() && !children[i].exited_ok()) {
      failure +=
          std::string(failure.empty() ? "" : "; ") + role + " " + children[i].describe_exit();
    }
  }
  for (Child& c : children) c.kill_and_reap();
  if (!failure.empty()) throw std::runtime_error(failure);
  return *result;
}

}  // namespace

namespace {
// Batched ping-pong of a counter: the initiator writes `ping`, the responder answers
// on `pong`. One line (ping == pong) or one line per direction.
double counter_rtt_ns(const std::array<int, 2>& cpus, PingLine* ping, PingLine* pong) {
  constexpr std::uint32_t kTrips = 2'000;               // per batch
  const std::uint32_t total = kTrips * (kBatches + 1);  // one warm-up batch
  return with_responder(
      cpus,
      [&] {
        std::vector<double> per_trip;
        std::uint32_t v = 0;
        for (int b = 0; b <= kBatches; ++b) {
          const std::uint64_t t0 = now_ns();
          for (std::uint32_t i = 0; i < kTrips; ++i) {
            ping->value.store(++v, std::memory_order_release);  // odd: ping
            ++v;
            while (pong->value.load(std::memory_order_acquire) != v) cpu_relax();  // even: pong
          }
          if (b > 0) per_trip.push_back(static_cast<double>(now_ns() - t0) / kTrips);
        }
        return median(per_trip);
      },
      [&] {
        for (std::uint32_t v = 1; v < 2 * total; v += 2) {
          while (ping->value.load(std::memory_order_acquire) != v) cpu_relax();
          pong->value.store(v + 1, std::memory_order_release);
        }
      });
}
}  // namespace

double measure_cacheline_rtt_ns(const std::array<int, 2>& cpus) {
  Mapping map = map_shared(sizeof(PingLine));
  auto* line = new (map.get()) PingLine{};
  return counter_rtt_ns(cpus, line, line);
}

double measure_cacheline_pair_rtt_ns(const std::array<int, 2>& cpus) {
  Mapping map = map_shared(2 * sizeof(PingLine));
  auto* lines = new (map.get()) PingLine[2]{};
  return counter_rtt_ns(cpus, &lines[0], &lines[1]);
}

double measure_wake_rtt_ns(const std::array<int, 2>& cpus) {
  constexpr std::uint32_t kTrips = 200;  // per batch: a wake-up costs tens of us here
  Mapping map = map_shared(sizeof(PingLine));
  auto* line = new (map.get()) PingLine{};
  const std::uint32_t total = kTrips * (kBatches + 1);
  auto wait_for = [&](std::uint32_t want) {
    for (std::uint32_t seen; (seen = line->value.load(std::memory_order_acquire)) != want;) {
      futex_wait(line->value, seen);
    }
  };
  auto publish = [&](std::uint32_t v) {
    line->value.store(v, std::memory_order_release);
    futex_wake_all(line->value);
  };
  return with_responder(
      cpus,
      [&] {
        // Each trip timed on its own (the clock costs ~0.05% of a wake-up), so the
        // floor is a median of single round trips, like a case's p50.
        std::vector<double> trips;
        trips.reserve(kTrips * kBatches);
        std::uint32_t v = 0;
        for (std::uint32_t i = 0; i < kTrips * (kBatches + 1); ++i) {
          const std::uint64_t t0 = now_ns();
          publish(++v);
          wait_for(++v);
          if (i >= kTrips)
            trips.push_back(static_cast<double>(now_ns() - t0));  // after a warm-up batch
        }
        return median(trips);
      },
      [&] {
        for (std::uint32_t v = 1; v < 2 * total; v += 2) {
          wait_for(v);
          publish(v + 1);
        }
      });
}

double measure_memcpy_bytes_per_s(std::size_t bytes) {
  AlignedBuffer src(bytes), dst(bytes);
  std::memset(src.data(), 0x5a, bytes);
  // About 2 MB copied per batch, at least one copy.
  const std::size_t copies = std::max<std::size_t>(1, (2u << 20) / std::max<std::size_t>(bytes, 1));
  std::vector<double> rates;
  for (int b = 0; b <= kBatches; ++b) {
    const std::uint64_t t0 = now_ns();
    for (std::size_t i = 0; i < copies; ++i) {
      std::memcpy(dst.data(), src.data(), bytes);
      asm volatile("" : : "r"(dst.data()) : "memory");  // the copy is not dead
    }
    const double ns = static_cast<double>(now_ns() - t0);
    if (b > 0 && ns > 0) rates.push_back(static_cast<double>(bytes * copies) / ns * 1e9);
  }
  return median(rates);
}

double measure_syscall_ns() {
  constexpr int kCalls = 2'000;
  std::vector<double> per_call;
  for (int b = 0; b <= kBatches; ++b) {
    const std::uint64_t t0 = now_ns();
    for (int i = 0; i < kCalls; ++i) ::syscall(SYS_getppid);
    if (b > 0) per_call.push_back(static_cast<double>(now_ns() - t0) / kCalls);
  }
  return median(per_call);
}

double stable_minimum(const std::vector<double>& readings) {
  std::vector<double> sorted;
  for (double r : readings)
    if (r > 0 && std::isfinite(r)) sorted.push_back(r);
  if (sorted.empty()) return 0;
  std::sort(sorted.begin(), sorted.end());
  // The next reading up is the closest above: if it does not confirm r, none does.
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i)
    if (sorted[i + 1] <= sorted[i] * (1 + kStableSpread)) return sorted[i];
  return sorted.front();
}

double stable_maximum(const std::vector<double>& readings) {
  std::vector<double> sorted;
  for (double r : readings)
    if (r > 0 && std::isfinite(r)) sorted.push_back(r);
  if (sorted.empty()) return 0;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i)
    if (sorted[i + 1] >= sorted[i] * (1 - kStableSpread)) return sorted[i];
  return sorted.front();
}

bool needs_another_reading(const std::vector<double>& readings) {
  if (readings.size() < 2) return true;
  const double kept = stable_minimum(readings);
  // The kept reading itself and at least one other within kStableSpread above it.
  const auto agreeing = std::count_if(readings.begin(), readings.end(), [&](double r) {
    return r >= kept && r <= kept * (1 + kStableSpread);
  });
  // The latest under the kept floor: read again, to confirm it or not.
  return agreeing < 2 || readings.back() < kept ||
         std::abs(readings.back() - kept) > kRemeasureSpread * kept;
}

double pingpong_pair_floor_rtt_ns(const Floors& f, std::size_t msg_bytes) {
  if (!(f.cacheline_pair_rtt_ns > 0)) return 0;
  Floors pair = f;
  pair.cacheline_rtt_ns = f.cacheline_pair_rtt_ns;
  return pingpong_floor_rtt_ns(pair, true, msg_bytes);
}

namespace {

// Readings of one round trip until needs_another_reading is false or the check's
// readings are spent. A reading whose processes hung or died ends the check, in `errors`.
void read_round_trip(const char* what, double (*measure)(const std::array<int, 2>&),
                     const std::array<int, 2>& cpus, std::vector<double>& readings,
                     std::vector<std::string>& errors) {
  for (int taken = 0; taken < kMaxReadingsPerCheck; ++taken) {
    try {
      readings.push_back(measure(cpus));
    } catch (const std::exception& e) {
      errors.push_back(std::string("floor ") + what + " not measured: " + e.what());
      return;
    }
    if (!needs_another_reading(readings)) return;
  }
}

// `first`: the floors' first check. Later checks read only the round trips that have a
// reading: one that hung once would cost its timeout at every check.
void read_floors(Floors& f, const std::array<int, 2>& cpus, bool first,
                 std::vector<std::string>& errors) {
  FloorReadings& r = f.readings;
  // Two spinners on one CPU only take turns by timeslice: there is no cache-line floor.
  if (cpus[0] != cpus[1]) {
    if (first || !r.cacheline_rtt_ns.empty())
      read_round_trip("cacheline_rtt_ns", measure_cacheline_rtt_ns, cpus, r.cacheline_rtt_ns,
                      errors);
    if (first || !r.cacheline_pair_rtt_ns.empty())
      read_round_trip("cacheline_pair_rtt_ns", measure_cacheline_pair_rtt_ns, cpus,
                      r.cacheline_pair_rtt_ns, errors);
  }
  if (first || !r.wake_rtt_ns.empty())
    read_round_trip("wake_rtt_ns", measure_wake_rtt_ns, cpus, r.wake_rtt_ns, errors);
  for (auto& [size, rates] : r.memcpy_bytes_per_s)
    rates.push_back(measure_memcpy_bytes_per_s(size));
  f.cacheline_rtt_ns = stable_minimum(r.cacheline_rtt_ns);
  f.cacheline_pair_rtt_ns = stable_minimum(r.cacheline_pair_rtt_ns);
  f.wake_rtt_ns = stable_minimum(r.wake_rtt_ns);
  for (const auto& [size, rates] : r.memcpy_bytes_per_s)
    f.memcpy_bytes_per_s[size] = stable_maximum(rates);
}

}  // namespace

Floors measure_floors(const std::array<int, 2>& cpus, const std::vector<std::size_t>& sizes,
                      double clock_ns) {
  Floors f;
  f.clock_ns = clock_ns;
  f.syscall_ns = measure_syscall_ns();
  for (std::size_t s : sizes) f.readings.memcpy_bytes_per_s[s] = {};
  // A floor whose processes hang or die is reported as not measured, and the suite
  // goes on: the cases do not depend on it.
  read_floors(f, cpus, true, f.errors);
  return f;
}

void measure_floors_again(Floors& f, const std::array<int, 2>& cpus,
                          std::vector<std::string>& errors) {
  read_floors(f, cpus, false, errors);
}

namespace {

nlohmann::json positive_or_null(double v) { return v > 0 ? nlohmann::json(v) : nullptr; }

}  // namespace

void add_floors_to_context(const Floors& f, nlohmann::json& env) {
  // null: not measured (the cache line with both sides on one CPU, or a floor whose
  // processes hung or died).
  env["floor_cacheline_rtt_ns"] = positive_or_null(f.cacheline_rtt_ns);
  env["floor_cacheline_pair_rtt_ns"] = positive_or_null(f.cacheline_pair_rtt_ns);
  env["floor_wake_rtt_ns"] = positive_or_null(f.wake_rtt_ns);
  env["floor_clock_ns"] = f.clock_ns;
  env["floor_syscall_ns"] = f.syscall_ns;
  nlohmann::json bw = nlohmann::json::object();
  for (const auto& [size, rate] : f.memcpy_bytes_per_s) bw[std::to_string(size)] = rate;
  env["floor_memcpy_bytes_per_s"] = bw;
  env["floor_cacheline_rtt_ns_readings"] = f.readings.cacheline_rtt_ns;
  env["floor_cacheline_pair_rtt_ns_readings"] = f.readings.cacheline_pair_rtt_ns;
  env["floor_wake_rtt_ns_readings"] = f.readings.wake_rtt_ns;
  nlohmann::json bw_readings = nlohmann::json::object();
  for (const auto& [size, rates] : f.readings.memcpy_bytes_per_s)
    bw_readings[std::to_string(size)] = rates;
  env["floor_memcpy_bytes_per_s_readings"] = bw_readings;
  env["floor_model"] = kFloorModel;
}

Floors floors_from_context(const nlohmann::json& env) {
  Floors f;
  auto number = [&](const char* key) {
    const auto it = env.find(key);
    return it != env.end() && it->is_number() ? it->get<double>() : 0.0;
  };
  f.cacheline_rtt_ns = number("floor_cacheline_rtt_ns");
  f.cacheline_pair_rtt_ns = number("floor_cacheline_pair_rtt_ns");
  f.wake_rtt_ns = number("floor_wake_rtt_ns");
  f.clock_ns = number("floor_clock_ns");
  f.syscall_ns = number("floor_syscall_ns");
  if (const auto bw = env.find("floor_memcpy_bytes_per_s"); bw != env.end() && bw->is_object()) {
    for (const auto& [size, rate] : bw->items())
      if (rate.is_number()) f.memcpy_bytes_per_s[std::stoull(size)] = rate.get<double>();
  }
  return f;
}

namespace {

void warn(const std::string& warning, nlohmann::json& env) {
  std::cerr << "warning: " << warning << "\n";
  env["warnings"].push_back(warning);
}

// The first reading after the suite (from `from` on) of a round trip: the context's
// *_after key.
void note_after(const std::vector<double>& readings, std::size_t from, const char* key,
                nlohmann::json& env) {
  if (readings.size() <= from || !(readings[from] > 0)) return;
  env[key] = readings[from];
}

}  // namespace

void recheck_floors(Floors& floors, const std::array<int, 2>& cpus, bool (*stop)() noexcept,
                    nlohmann::json& env) {
  const std::size_t cacheline_from = floors.readings.cacheline_rtt_ns.size();
  const std::size_t wake_from = floors.readings.wake_rtt_ns.size();
  if (!stop()) {
    std::vector<std::string> errors;
    measure_floors_again(floors, cpus, errors);
    for (const std::string& e : errors) warn(e + " (after the run)", env);
  }
  add_floors_to_context(floors, env);
  // The wake-up floor too: a VM's wake-up cost drifts over minutes, and blocking cases
  // sit at about 1x it, so a reader needs both ends of the run to judge x_floor.
  note_after(floors.readings.wake_rtt_ns, wake_from, "floor_wake_rtt_ns_after", env);
  const auto& cacheline = floors.readings.cacheline_rtt_ns;
  if (cacheline.size() <= cacheline_from || !(floors.cacheline_rtt_ns > 0)) return;
  note_after(cacheline, cacheline_from, "floor_cacheline_rtt_ns_after", env);
  // On a VM the two vCPUs can move between near and far cores mid-run, and every
  // spinning figure moves with them: the reading after the suite against the kept floor.
  const double after = cacheline[cacheline_from];
  const double drift = std::abs(after - floors.cacheline_rtt_ns) / floors.cacheline_rtt_ns;
  env["floor_drift"] = drift;
  env["placement_drift"] = drift > kDriftLimit;
  if (drift > kDriftLimit) {
    warn("the cache-line round trip read " + std::to_string(static_cast<int>(after)) +
             " ns after the run, against a floor of " +
             std::to_string(static_cast<int>(floors.cacheline_rtt_ns)) + " ns (" +
             std::to_string(static_cast<int>(drift * 100)) +
             "%): the CPUs were busy or moved between near and far cores; compare spinning "
             "results only within one run",
         env);
  }
}

}  // namespace ipcbench
