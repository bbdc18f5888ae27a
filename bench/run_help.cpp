// `ipcbench run --help`. The defaults, presets, sweeps and which mechanisms support each
// wait mode are read from the presets table and the registry, never written out here.
#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "bench/cli_util.hpp"
#include "bench/presets.hpp"
#include "bench/run_options.hpp"
#include "harness/capacity.hpp"
#include "harness/registry.hpp"
#include "harness/topology.hpp"

namespace ipcbench {
namespace {

// The help's option column: descriptions start here, and their lines wrap here.
constexpr std::size_t kHelpColumn = 25;
// The column where a wait mode's description starts, below --wait.
constexpr std::size_t kWaitAboutColumn = kHelpColumn + 12;

std::string show_pattern(Pattern p) { return std::string(to_string(p)); }
std::string show_wait(WaitMode w) { return std::string(to_string(w)); }
std::string show_count(std::size_t c) { return capacity_text(c); }
std::string show_seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", s);
  return text;
}

const char* const kRunIntro = R"(usage: ipcbench run [options] [--benchmark_* flags]

Runs a preset: a main grid (every combination of the chosen mechanisms,
patterns, sizes, capacities and wait modes) plus the preset's sweeps, each
sweep a grid of its own with its own repetitions and case time. A case in two
grids runs once. Each case forks a fresh process pair (side a: pingpong client,
stream or rate producer; side b: server or consumer), warms up, then measures
for its case time. Results go to a Google Benchmark JSON file. stderr shows
the machine, floors and warnings first, then progress with an ETA; at the end
stdout shows the verdict (the fastest mechanism per pattern, size and way of
waiting; `ipcbench summary FILE --all` shows every case).

patterns: pingpong (request/echo: latency), stream (as fast as the channel
accepts: throughput), rate (open loop: the producer sends at a fixed offered
rate and latency counts from each message's intended send time; once a rate
saturates, the higher rates of that mechanism/size/wait are skipped), fanout
(one producer, --consumers N, each receiving every message: over one channel
where the mechanism broadcasts, else a copy down one channel per consumer; the
case's label says which), fanin (--producers N sending to one consumer over one
channel, for mechanisms that take several writers; each producer's sequence is
checked), compete (one producer, --consumers N competing for its messages, each
taking whichever comes next: a shared mailbox or work queue, for mechanisms that
take several readers; every message must reach exactly one). --pairs N runs N independent pairs of pingpong or stream at once and
reports their sum. A case needing more processes than this machine has CPUs
is oversubscribed: polling modes are not runnable, sleeping ones run and are
marked (docs/groups.md).

[default] is the default preset's value; --patterns, --sizes, --capacities,
--wait, --repetitions and --case-time shape the main grid; --mechanisms,
--rates, --messages, --timeout and --no-verify apply to every grid.

options:
)";

const char* const kRunNumbersAndPresets = R"(
Numbers: sizes and counts take K, M, G (binary; sizes also 64B, 4KiB); rates
k, M (decimal); seconds are decimal, at least 0.001. Bad input (an unknown option or value, an
option given twice, a list with an empty or repeated item) is one line on
stderr and exit status 2, before any case runs.

presets:
)";

const char* const kRunExitStatus = R"(
capacity: a case asks its channel to hold that many messages; the results
record what the kernel granted as capacity_effective. Where an unprivileged
user cannot raise a queue's depth (posix_mq past fs.mqueue.msg_max, sysv_msg
past kernel.msgmnb bytes), the capacity is clamped to the limit instead of the
case being lost: the case name keeps the capacity asked, so names match across
machines, and capacity_effective shows the clamp. A message past the kernel's
per-message maximum is not runnable, with the limit named. The label names
the bound a clamped knob stopped at.
capacity 0 is a rendezvous: each send completes only once the consumer has
taken the message (a capacity-1 channel, and the consumer acknowledges each
message over a futex; pingpong's reply is its acknowledgement; not runnable
for mechanisms that may lose messages, nor for fanin). capacity max asks each
channel for as much as the machine allows (at most 1M messages and 256 MiB):
capacity_effective is what it got and the label names the bound that stopped
it (docs/capacity.md).

exit status: 0 all cases ran (some may be not runnable, with the reason);
1 a case failed (verification error, dead or hung peer); 2 bad input;
130 interrupted (the partial results are written, marked incomplete).

examples:
  ipcbench run --preset quick
  ipcbench run --mechanisms shm_ring,pipe,unix_stream --sizes 64B,4KiB,1MiB
  ipcbench run --benchmark_list_tests --benchmark_filter='^pingpong/pipe/'
  ipcbench run --preset default --repetitions 10 --out baseline.json
)";

// What a wait mode does, as --wait's help says it.
std::string_view wait_mode_about(WaitMode w) {
  switch (w) {
    case WaitMode::block:
      return "sleep in the kernel";
    case WaitMode::spin:
      return "poll, never leave the CPU";
    case WaitMode::spin_yield:
      return "poll, sched_yield() between polls";
    case WaitMode::adaptive:
      return "poll for a bounded time, then sleep";
    case WaitMode::eventfd:
      return "sleep in read() on an eventfd";
    case WaitMode::sem:
      return "process-shared POSIX semaphores";
    case WaitMode::sqpoll:
      return "io_uring's kernel thread polls, the side sleeps";
  }
  return "";
}

// Mechanism names for the help, a family sharing a prefix ("rpc_tcp, rpc_unix") written
// as "rpc_*" when every registered mechanism with that prefix is among them.
std::string mechanism_names(const std::vector<std::string_view>& names) {
  const auto prefix_of = [](std::string_view n) { return n.substr(0, n.find('_') + 1); };
  std::vector<std::string> shown;
  for (std::string_view n : names) {
    const std::string_view prefix = prefix_of(n);
    std::size_t registered = 0, listed = 0;
    for (const Mechanism* m : mechanisms()) registered += prefix_of(m->name) == prefix ? 1 : 0;
    for (std::string_view x : names) listed += prefix_of(x) == prefix ? 1 : 0;
    const bool whole_family = !prefix.empty() && registered >= 2 && listed == registered;
    const std::string item = whole_family ? std::string(prefix) + "*" : std::string(n);
    if (std::find(shown.begin(), shown.end(), item) == shown.end()) shown.push_back(item);
  }
  return join_values(
      shown, [](const std::string& s) { return s; }, ", ");
}

// "every mechanism", "all but rpc_*" or "shm_ring, shm_ring_zc", from the registry.
std::string who_waits(WaitMode w) {
  std::vector<std::string_view> with, without;
  for (const Mechanism* m : mechanisms()) (m->supports(w) ? with : without).push_back(m->name);
  if (without.empty()) return "every mechanism";
  if (with.size() > without.size()) return "all but " + mechanism_names(without);
  return mechanism_names(with);
}

std::string wait_modes_help() {
  std::string h;
  for (WaitMode w : kWaitModes) {
    const std::string name = show_wait(w);
    const std::string about(wait_mode_about(w));
    const std::string who = "(" + who_waits(w) + ")";
    // Who supports it goes after the description, or whole on a line of its own.
    const bool fits = kWaitAboutColumn + about.size() + 1 + who.size() <= 79;
    h += std::string(kHelpColumn, ' ') + name + std::string(12 - name.size(), ' ') + about +
         (fits ? " " : "\n" + std::string(kWaitAboutColumn, ' ')) + who + "\n";
  }
  return h;
}

// --sweeps: its description wrapped in the option column, then its default.
std::string sweeps_help(const Preset& dp) {
  std::string h = wrap("the preset's sweeps to run: " + sweep_names() +
                           " (a preset without one takes the default preset's)",
                       kHelpColumn, kHelpColumn);
  const std::string dflt =
      "[" + join_values(dp.sweeps, [](const Grid& g) { return std::string(g.name); }) + "]";
  h.pop_back();  // the newline: the default goes after the last line when it fits
  const std::size_t line_start = h.rfind('\n');
  const std::size_t last_col =
      line_start == std::string::npos ? kHelpColumn + h.size() : h.size() - line_start - 1;
  if (last_col + 3 + dflt.size() <= 79) return h + "   " + dflt + "\n";
  return h + "\n" + std::string(dflt.size() < 79 ? 79 - dflt.size() : kHelpColumn, ' ') + dflt +
         "\n";
}

// --placement: what each placement means, and the pairs this machine offers.
std::string placement_help() {
  std::string here;
  for (const PlacementChoice& c : derive_placements(read_topology())) {
    if (!c.cpus) continue;
    here += (here.empty() ? "" : ", ") + std::string(to_string(c.placement)) + " " +
            std::to_string((*c.cpus)[0]) + "," + std::to_string((*c.cpus)[1]);
  }
  return R"(  --placement LIST|all   run each case once per placement, its sides pinned to
                         the placement's CPU pair; the name gains /placement:P
                         (not with --cpus)                                  [off]
                           same_cpu     one CPU for both sides
                           smt_sibling  two hardware threads of one core
                           same_l3      two cores that share an L3
                           cross_l3     two L3s of one NUMA node (AMD CCXs)
                           cross_numa   two NUMA nodes (else two packages)
                         pairs from sysfs, lowest CPUs first (docs/placement.md);
                         a placement the machine lacks is not runnable; all:
                         those it has, here )" +
         here + "\n";
}

std::string options_help() {
  const Preset& dp = *find_preset("default");
  const Grid& d = dp.main;
  return R"(  --preset NAME          )" + preset_names() + R"(              [default]
  --sweeps LIST|none     )" +
         sweeps_help(dp) +
         R"(  --mechanisms LIST      comma-separated names (see `ipcbench list`)      [all]
  --patterns LIST        pingpong,stream,rate,fanout,fanin  [)" +
         join_values(d.patterns, show_pattern) + R"(]
  --sizes LIST           message sizes: 64, 64B, 4K, 4KiB, 1M, 1MiB (binary)
                                                          [)" +
         join_values(d.sizes, show_size) + R"(]
  --capacities LIST      messages in flight the channel should hold, 0 (a
                         rendezvous) to 1M, or max                       [)" +
         join_values(d.capacities, show_count) + R"(]
  --rates LIST           offered messages/s of rate cases, k and M decimal
                         suffixes              [)" +
         join_values(d.rates_msgs_per_s, show_rate) + R"(]
  --consumers LIST       fanout's and compete's consumers, a case each      [2]
  --producers LIST       fanin's producers, a case each                     [2]
  --pairs LIST           pairs at once for pingpong and stream, a case each;
                         names gain /pairs:N                  [one, unnamed]
  --wait LIST            how a side waits for data or space; each mechanism runs
                         the modes it supports (`ipcbench list`)  [)" +
         join_values(d.waits, show_wait) + "]\n" + wait_modes_help() +
         R"(  --backing NAME         the rings' shared memory (shm_ring, shm_broadcast,
                         ...): posix_shm, sysv_shm, memfd or file (under
                         /tmp); one per run                       [posix_shm]
  --dir DIR              an existing directory where the file mechanism makes
                         its private directory (tmpfs or a disk)        [/tmp]
  --cpus A,B             CPUs for side a and side b   [first two allowed CPUs]
)" + placement_help() +
         R"(  --repetitions N        fresh pairs per main-grid case; spread is reported
                         across them                                       [)" +
         std::to_string(d.repetitions) + R"(]
  --case-time SECONDS    measured time per main-grid case; the count adapts
                         to the pace                                     [)" +
         show_seconds(d.case_seconds) + R"(]
  --messages N           measure exactly N messages per case instead      [off]
  --timeout SECONDS      a case still running after this is killed         [30]
  --no-verify            skip payload checksums (sequence still checked)  [off]
  --interleave           run the repetitions of all cases in random order, so
                         a slow drift of the machine widens every case's spread
                         instead of shifting the cases that ran during it
                         (for comparing runs; the progress line then advances
                         in bursts)                                        [off]
  --out FILE             JSON output          [results/<date>T<time>.json]
  --quiet                no progress on stderr (warnings, failures, the verdict
                         and the results path still print)             [off]
  --hgrm DIR             also write each case's latency distribution, its
                         repetitions merged, as HdrHistogram percentile text
                         (DIR/<case name, / as _>.hgrm, microseconds)   [off]
  --benchmark_filter=REGEX
                         run only the cases whose names match (Google
                         Benchmark's filter; a leading '-' runs the others)
  --benchmark_list_tests list the cases that would run, run none, write no file
  --benchmark_display_aggregates_only
                         the progress lines show each case's median only
                         (the file still holds every repetition)
                         These three are passed to Google Benchmark; its other
                         flags set what ipcbench sets per case and are refused.
  -h, --help             this help
)";
}

// "a", "a and b", "a, b and c" ("or" for `word` "or").
std::string spoken_list(const std::vector<std::string_view>& items, const char* word) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? std::string(" ") + word + " " : ", ";
    out += items[i];
  }
  return out;
}

// A grid's families as a reader takes them in: "every RPC or messaging library
// mechanism", or by what it leaves out when that is shorter ("every mechanism but the
// RPC and messaging library ones").
std::string families_text(const std::vector<std::string_view>& families) {
  std::vector<std::string_view> left_out;
  for (const Mechanism* m : mechanisms()) {
    if (std::find(families.begin(), families.end(), m->family) == families.end() &&
        std::find(left_out.begin(), left_out.end(), m->family) == left_out.end())
      left_out.push_back(m->family);
  }
  if (left_out.empty()) return "every mechanism";
  if (left_out.size() < families.size())
    return "every mechanism but the " + spoken_list(left_out, "and") + " ones";
  return "every " + spoken_list(families, "or") + " mechanism";
}

// One sweep of a preset, in one wrapped paragraph.
std::string sweep_help(const Grid& g) {
  const std::string mechs =
      !g.mechanisms.empty()
          ? join_values(
                g.mechanisms, [](std::string_view n) { return std::string(n); }, ", ")
      : !g.families.empty() ? families_text(g.families)
                            : std::string("every mechanism");
  const bool rate_only = g.patterns == std::vector<Pattern>{Pattern::rate};
  return std::string(12, ' ') +
         wrap("sweep " + std::string(g.name) + ": " + join_values(g.patterns, show_pattern) + ", " +
                  mechs + "; sizes " + join_values(g.sizes, show_size) + "; capacities " +
                  join_values(g.capacities, show_count) + "; " + join_values(g.waits, show_wait) +
                  (rate_only ? "; rates " + join_values(g.rates_msgs_per_s, show_rate)
                             : std::string()) +
                  "; " + std::to_string(g.repetitions) + " x " + show_seconds(g.case_seconds) +
                  " s",
              12, 14);
}

std::string presets_help() {
  std::string h;
  for (const Preset& p : presets()) {
    h += "  " + std::string(p.name) + std::string(10 - p.name.size(), ' ') +
         wrap(std::string(p.about), 12, 12);
    for (const Grid& g : p.sweeps) h += sweep_help(g);
  }
  return h;
}

}  // namespace

std::string run_help() {
  return kRunIntro + options_help() + kRunNumbersAndPresets + presets_help() + kRunExitStatus;
}

}  // namespace ipcbench
