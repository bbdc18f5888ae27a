// The ring of mechanisms/shm_ring.hpp between two threads of one process: the test
// ThreadSanitizer can check (CI runs it under TSan; scripts/run-tests.sh).
//
// Why threads: TSan keeps its shadow memory per process. In the two-process ring tests
// (ring_test.cpp) each process touches the ring from one thread, and no TSan runtime
// ever sees both sides' accesses, so a missing acquire or release goes unreported
// (tried: README, Tests). Here the same Producer and Consumer run on two std::threads
// over a ring in heap memory, so one TSan runtime sees every access to a slot, its
// header and the head index, and reports any two that the ring's protocol (release/
// acquire, seq_cst with the sleeper flag, a semaphore) leaves unordered. The ring is
// on the heap rather than in a mapping so that ASan's redzones bracket it.
//
// Each case sends messages of every length from 1 byte to the slot size, each byte a
// function of the sequence number, then an empty message as the end marker; the
// consumer checks every byte: a stale slot, a half-copied, lost or extra message or a
// wrong length fails the test in any build. Each side pauses now and then so that the
// ring runs full and empty and the other side must wait, which in the sleeping modes
// is the flag/futex/eventfd/semaphore protocol.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "mechanisms/shm_ring.hpp"

namespace ipcbench {
namespace {

using namespace std::chrono_literals;

// How the test drives the ring: send/recv (copy in and out), claim/commit and
// peek/release (zero-copy, in the slot), or try_send/try_recv (never wait; the test
// polls, so the ring's own wait mode is spin, as those calls require).
enum class Api { copy, zero_copy, try_calls };

struct ThreadCase {
  WaitMode wait;
  Api api;
  std::uint32_t slots;
  std::size_t max_msg_bytes;
};

const char* api_name(Api a) {
  switch (a) {
    case Api::copy:
      return "copy";
    case Api::zero_copy:
      return "zc";
    case Api::try_calls:
      return "try";
  }
  return "?";
}

void PrintTo(const ThreadCase& c, std::ostream* os) {
  *os << to_string(c.wait) << "/" << api_name(c.api) << "/" << c.slots << " slots/"
      << c.max_msg_bytes << " B";
}

// Rings that make the protocol's edge cases common: one slot (full and empty on every
// message), an odd slot count (wrap points move through the sequence) with a slot that
// is not a whole number of cache lines, a ring whose spin consumer publishes head once
// per quarter ring, and 64 KiB messages (a copy spanning a thousand lines).
struct Shape {
  std::uint32_t slots;
  std::size_t max_msg_bytes;
};
constexpr Shape kShapes[] = {{1, 1}, {3, 100}, {16, 64}, {2, 65536}};

std::vector<ThreadCase> thread_cases() {
  std::vector<ThreadCase> out;
  for (WaitMode w : kWaitModes) {
    if (w == WaitMode::sqpoll) continue;  // io_uring's, not the ring's
    for (const Shape& s : kShapes) out.push_back({w, Api::copy, s.slots, s.max_msg_bytes});
    for (const Shape& s : {Shape{16, 64}, Shape{2, 65536}}) {
      out.push_back({w, Api::zero_copy, s.slots, s.max_msg_bytes});
    }
  }
  for (const Shape& s : {Shape{1, 64}, Shape{16, 64}}) {
    out.push_back({WaitMode::spin, Api::try_calls, s.slots, s.max_msg_bytes});
  }
  return out;
}

std::string thread_case_name(const ::testing::TestParamInfo<ThreadCase>& info) {
  const ThreadCase& c = info.param;
  return std::string(to_string(c.wait)) + "_" + api_name(c.api) + "_" + std::to_string(c.slots) +
         "x" + std::to_string(c.max_msg_bytes) + "B";
}

// splitmix64's finaliser: every message byte and length comes from it, so message i
// and message i - slots (the slot's previous content) never agree by construction.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Message seq's length: the largest and the smallest one message in seven each, any
// length in between otherwise.
std::size_t length_of(std::uint64_t seq, std::size_t max_msg_bytes) noexcept {
  if (seq % 7 == 0) return max_msg_bytes;
  if (seq % 7 == 1) return 1;
  return 1 + mix(seq ^ 0x5eed) % max_msg_bytes;
}

// Writes message seq's bytes, or checks them (true when they all match).
void fill(std::span<std::byte> out, std::uint64_t seq) noexcept {
  for (std::size_t off = 0, word = 0; off < out.size(); off += 8, ++word) {
    const std::uint64_t v = mix((seq << 20) ^ word);
    std::memcpy(out.data() + off, &v, std::min<std::size_t>(8, out.size() - off));
  }
}

bool matches(std::span<const std::byte> in, std::uint64_t seq) noexcept {
  for (std::size_t off = 0, word = 0; off < in.size(); off += 8, ++word) {
    const std::uint64_t v = mix((seq << 20) ^ word);
    if (std::memcmp(in.data() + off, &v, std::min<std::size_t>(8, in.size() - off)) != 0)
      return false;
  }
  return true;
}

// A zeroed, kSeparation-aligned ring on the heap, formatted by init_ring; eventfds
// for eventfd mode.
class HeapRing {
 public:
  HeapRing(std::uint32_t slots, std::size_t max_msg_bytes)
      : bytes_(ring::ring_bytes(slots, max_msg_bytes)),
        mem_(
            static_cast<std::byte*>(::operator new (bytes_, std::align_val_t{ring::kSeparation}))) {
    std::memset(mem_, 0, bytes_);
    ring::init_ring(mem_, slots, max_msg_bytes);
    ctl_ = ring::attach_ring(mem_);
    data_efd_.reset(::eventfd(0, EFD_CLOEXEC));
    space_efd_.reset(::eventfd(0, EFD_CLOEXEC));
    if (!data_efd_ || !space_efd_) throw SysError("eventfd", "ring_thread_test");
  }
  HeapRing(const HeapRing&) = delete;
  HeapRing& operator=(const HeapRing&) = delete;
  ~HeapRing() { ::operator delete (mem_, std::align_val_t{ring::kSeparation}); }

  ring::RingControl* ctl() const noexcept { return ctl_; }
  ring::EventFds fds() const noexcept { return {data_efd_.get(), space_efd_.get()}; }

 private:
  std::size_t bytes_;
  std::byte* mem_;
  ring::RingControl* ctl_ = nullptr;
  UniqueFd data_efd_, space_efd_;
};

long voluntary_switches() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_nvcsw;
}

// What one side saw. Written by its thread, read by the test after join().
struct SideStats {
  std::uint64_t pauses = 0;
  long voluntary_switches = 0;            // during the transfer, the side's own pauses included
  std::uint64_t found_full_or_empty = 0;  // try_calls: failed tries
};

// Far longer than adaptive's poll (kAdaptiveSpinNs), so the waiting side sleeps.
constexpr auto kPause = 300us;
// A case sends its messages or stops after this long, whichever comes first. A spin
// side polls without yielding, so when the two threads share a CPU (a busy machine)
// each hand-over of a small ring can cost a scheduler time slice: the budget keeps
// such a case to seconds. It never stops a case before each side paused.
constexpr auto kBudget = 1s;
// Longer than any case takes under TSan on a busy 2-vCPU machine, by far: past it the
// ring lost a wake-up (or a message) and both threads may sleep forever.
constexpr auto kDeadline = 120s;

class RingThreads : public ::testing::TestWithParam<ThreadCase> {};

TEST_P(RingThreads, EveryMessageArrivesIntactAndInOrder) {
  const ThreadCase& c = GetParam();
  // 20,000 messages, fewer when large (16 MiB at most); each side pauses 32 times.
  const std::uint64_t n = std::clamp<std::uint64_t>((16u << 20) / c.max_msg_bytes, 128, 20'000);
  const std::uint64_t pause_every = n / 32;
  const std::uint64_t min_msgs = 2 * pause_every;  // by then each side has paused
  HeapRing r(c.slots, c.max_msg_bytes);
  ring::Producer producer(r.ctl(), r.fds());
  ring::Consumer consumer(r.ctl(), r.fds());

  // Progress, for the deadline's message only: relaxed counters of the test's own,
  // which order nothing and so cannot hide a missing ordering in the ring.
  std::atomic<std::uint64_t> sent{0}, received{0};
  std::atomic<bool> done{false};        // the consumer saw the end
  std::atomic<bool> side_threw{false};  // that side stopped; the other may wait forever
  std::mutex error_mutex;
  std::string error;  // the first failure either side met
  auto fail = [&](std::string what) {
    const std::lock_guard lock(error_mutex);
    if (error.empty()) error = std::move(what);
  };
  SideStats tx, rx;
  std::uint64_t messages = 0;  // sent before the end marker (producer; read after join)

  // Sends `len` bytes of message seq; length 0 is the end marker (length_of is >= 1).
  auto send = [&](std::uint64_t seq, std::size_t len, std::span<std::byte> msg) {
    if (c.api == Api::zero_copy) {
      const std::span<std::byte> room = producer.claim(c.wait);
      fill(room.first(len), seq);
      producer.commit(len, c.wait);
      return;
    }
    fill(msg.first(len), seq);
    if (c.api == Api::copy) {
      producer.send(msg.first(len), c.wait);
      return;
    }
    while (!producer.try_send(msg.first(len))) {
      ++tx.found_full_or_empty;
      std::this_thread::yield();
    }
  };

  std::thread producer_thread([&] {
    const long switches0 = voluntary_switches();
    const auto stop_at = std::chrono::steady_clock::now() + kBudget;
    std::vector<std::byte> msg(c.max_msg_bytes);
    try {
      std::uint64_t seq = 0;
      for (; seq < n; ++seq) {
        if (seq >= min_msgs && seq % 256 == 0 && std::chrono::steady_clock::now() > stop_at) break;
        if (seq % pause_every == 0 && seq != 0) {  // the consumer finds the ring empty
          std::this_thread::sleep_for(kPause);
          ++tx.pauses;
        }
        send(seq, length_of(seq, c.max_msg_bytes), msg);
        sent.store(seq + 1, std::memory_order_relaxed);
      }
      messages = seq;
      send(seq, 0, msg);
    } catch (const std::exception& e) {
      fail(std::string("producer: ") + e.what());
      side_threw.store(true, std::memory_order_relaxed);
    }
    tx.voluntary_switches = voluntary_switches() - switches0;
  });

  std::thread consumer_thread([&] {
    const long switches0 = voluntary_switches();
    std::vector<std::byte> buf(c.max_msg_bytes);
    try {
      for (std::uint64_t seq = 0;; ++seq) {
        if (seq % pause_every == pause_every / 2) {  // the producer finds the ring full
          std::this_thread::sleep_for(kPause);
          ++rx.pauses;
        }
        std::span<const std::byte> got;
        if (c.api == Api::zero_copy) {
          got = consumer.peek(c.wait);
        } else if (c.api == Api::copy) {
          got = std::span(buf).first(consumer.recv(buf, c.wait));
        } else {
          std::size_t len = 0;
          while (!consumer.try_recv(buf, len)) {
            ++rx.found_full_or_empty;
            std::this_thread::yield();
          }
          got = std::span(buf).first(len);
        }
        if (got.empty()) {  // the end marker
          if (c.api == Api::zero_copy) consumer.release(c.wait);
          break;
        }
        const std::size_t want = length_of(seq, c.max_msg_bytes);
        if (got.size() != want || !matches(got, seq)) {
          fail("message " + std::to_string(seq) + ": " + std::to_string(got.size()) +
               " bytes, expected " + std::to_string(want) +
               (got.size() == want ? ", contents differ" : ""));
        }
        if (c.api == Api::zero_copy) consumer.release(c.wait);
        received.store(seq + 1, std::memory_order_relaxed);
      }
      rx.voluntary_switches = voluntary_switches() - switches0;
      done.store(true, std::memory_order_relaxed);  // the end marker: the producer sent all
    } catch (const std::exception& e) {
      fail(std::string("consumer: ") + e.what());
      side_threw.store(true, std::memory_order_relaxed);
    }
  });

  // A side that threw, or a lost wake-up, can leave the other thread waiting for good,
  // and a thread cannot be stopped from outside: report where they stood and end the
  // process, so the case fails now instead of at ctest's timeout.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!done.load(std::memory_order_relaxed) && !side_threw.load(std::memory_order_relaxed) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  if (!done.load(std::memory_order_relaxed)) {
    const std::lock_guard lock(error_mutex);
    std::fprintf(stderr, "ring_thread_test: %s after %llu sent, %llu received; first error: %s\n",
                 side_threw.load() ? "a side threw" : "stuck (lost wake-up?)",
                 static_cast<unsigned long long>(sent.load(std::memory_order_relaxed)),
                 static_cast<unsigned long long>(received.load(std::memory_order_relaxed)),
                 error.empty() ? "none" : error.c_str());
    std::fflush(stderr);
    std::_Exit(1);
  }
  producer_thread.join();
  consumer_thread.join();

  EXPECT_EQ(error, "");
  EXPECT_GE(messages, min_msgs);
  EXPECT_EQ(received.load(), messages);  // none lost, none extra, the end marker last
  EXPECT_GT(tx.pauses, 0u);
  EXPECT_GT(rx.pauses, 0u);
  if (c.api == Api::try_calls) {
    // The pauses made the other side's tries fail: the test saw full and empty.
    EXPECT_GT(tx.found_full_or_empty, 0u) << "the ring was never full";
    EXPECT_GT(rx.found_full_or_empty, 0u) << "the ring was never empty";
  } else if (c.wait != WaitMode::spin && c.wait != WaitMode::spin_yield) {
    // A sleeping mode (adaptive after its brief poll) slept in the ring too, not only
    // in the test's own pauses: the sleep and wake paths ran. (Each pause is one
    // voluntary switch.)
    EXPECT_GT(tx.voluntary_switches, static_cast<long>(tx.pauses))
        << "the producer never slept in the ring";
    EXPECT_GT(rx.voluntary_switches, static_cast<long>(rx.pauses))
        << "the consumer never slept in the ring";
  }
}

INSTANTIATE_TEST_SUITE_P(Ring, RingThreads, ::testing::ValuesIn(thread_cases()), thread_case_name);

}  // namespace
}  // namespace ipcbench
