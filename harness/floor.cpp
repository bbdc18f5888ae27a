#include "harness/floor.hpp"

#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
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

void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) < 0)
    throw SysError("sched_setaffinity", "CPU " + std::to_string(cpu));
}

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
    pin(cpus[1]);
    responder();
  });
  children[0] = fork_child("ipcb-floor-init", [&] {
    pin(cpus[0]);
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

Floors measure_floors(const std::array<int, 2>& cpus, const std::vector<std::size_t>& sizes,
                      double clock_ns) {
  Floors f;
  f.clock_ns = clock_ns;
  f.syscall_ns = measure_syscall_ns();
  // A floor whose processes hang or die is reported as not measured, and the suite
  // goes on: the cases do not depend on it.
  auto attempt = [&](const char* what, double (*measure)(const std::array<int, 2>&)) {
    try {
      return measure(cpus);
    } catch (const std::exception& e) {
      f.errors.push_back(std::string("floor ") + what + " not measured: " + e.what());
      return 0.0;
    }
  };
  // Two spinners on one CPU only take turns by timeslice: there is no cache-line floor.
  if (cpus[0] != cpus[1]) {
    f.cacheline_rtt_ns = attempt("cacheline_rtt_ns", measure_cacheline_rtt_ns);
    f.cacheline_pair_rtt_ns = attempt("cacheline_pair_rtt_ns", measure_cacheline_pair_rtt_ns);
  }
  f.wake_rtt_ns = attempt("wake_rtt_ns", measure_wake_rtt_ns);
  for (std::size_t s : sizes) f.memcpy_bytes_per_s[s] = measure_memcpy_bytes_per_s(s);
  return f;
}

void add_floors_to_context(const Floors& f, nlohmann::json& env) {
  if (f.cacheline_rtt_ns > 0) {
    env["floor_cacheline_rtt_ns"] = f.cacheline_rtt_ns;
  } else {
    env["floor_cacheline_rtt_ns"] = nullptr;  // not measured: both sides on one CPU
  }
  if (f.cacheline_pair_rtt_ns > 0) {
    env["floor_cacheline_pair_rtt_ns"] = f.cacheline_pair_rtt_ns;
  } else {
    env["floor_cacheline_pair_rtt_ns"] = nullptr;
  }
  if (f.wake_rtt_ns > 0) {
    env["floor_wake_rtt_ns"] = f.wake_rtt_ns;
  } else {
    env["floor_wake_rtt_ns"] = nullptr;
  }
  env["floor_clock_ns"] = f.clock_ns;
  env["floor_syscall_ns"] = f.syscall_ns;
  nlohmann::json bw = nlohmann::json::object();
  for (const auto& [size, rate] : f.memcpy_bytes_per_s) bw[std::to_string(size)] = rate;
  env["floor_memcpy_bytes_per_s"] = bw;
}

namespace {

// A floor measured again after the suite; 0 (and a warning) when its processes hung or
// died: the results are written all the same.
double measure_floor_again(const char* what, double (*measure)(const std::array<int, 2>&),
                           const std::array<int, 2>& cpus, nlohmann::json& env) {
  try {
    return measure(cpus);
  } catch (const std::exception& e) {
    const std::string warning =
        std::string("floor ") + what + " after the run not measured: " + e.what();
    std::cerr << "warning: " << warning << "\n";
    env["warnings"].push_back(warning);
    return 0;
  }
}

}  // namespace

void recheck_floors(const Floors& before, const std::array<int, 2>& cpus, bool (*stop)() noexcept,
                    nlohmann::json& env) {
  // The cache-line round trip again: on a VM the two vCPUs can move between near and
  // far cores mid-run, and every spinning figure moves with them.
  const double cacheline_after =
      before.cacheline_rtt_ns > 0 && !stop()
          ? measure_floor_again("cacheline_rtt_ns", measure_cacheline_rtt_ns, cpus, env)
          : 0;
  if (cacheline_after > 0) {
    const double drift =
        std::abs(cacheline_after - before.cacheline_rtt_ns) / before.cacheline_rtt_ns;
    env["floor_cacheline_rtt_ns_after"] = cacheline_after;
    env["floor_drift"] = drift;
    env["placement_drift"] = drift > kDriftLimit;
    if (drift > kDriftLimit) {
      const std::string warning =
          "the cache-line round trip moved from " +
          std::to_string(static_cast<int>(before.cacheline_rtt_ns)) + " ns to " +
          std::to_string(static_cast<int>(cacheline_after)) + " ns during the run (" +
          std::to_string(static_cast<int>(drift * 100)) +
          "%): the CPUs likely moved between near and far cores; compare spinning "
          "results only within one run";
      std::cerr << "warning: " << warning << "\n";
      env["warnings"].push_back(warning);
    }
  }
  // The wake-up floor too: a VM's wake-up cost drifts over minutes, and blocking cases
  // sit at about 1x it, so a reader needs both ends of the run to judge x_floor.
  if (!stop()) {
    if (const double after = measure_floor_again("wake_rtt_ns", measure_wake_rtt_ns, cpus, env);
        after > 0) {
      env["floor_wake_rtt_ns_after"] = after;
    }
  }
}

}  // namespace ipcbench
