// The multi-producer queue of mechanisms/shm_mpsc.hpp between threads of one process:
// what ThreadSanitizer can check (label ring_threads; ring_thread_test.cpp says why
// threads). Three producer threads and one consumer thread share a queue in heap memory,
// so one TSan runtime sees every access to a slot, its header and tail, and reports any
// two that the protocol (the CAS on tail, the slot's seq released and acquired, seq_cst
// with the sleeper flags) leaves unordered.
//
// Each producer sends messages of varying length (12 bytes up to the slot size) whose
// bytes are a function of (producer, seq); the consumer checks each producer's sequence
// is complete and in order and every byte is right: a torn, stale, lost or repeated
// message fails in any build. Sides pause now and then so that the queue runs full and
// empty and producers race each other for tail. A second suite runs the same queue
// with three competing consumer threads (SharedConsumer, as shm_mpmc uses it).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "mechanisms/shm_mpsc.hpp"

namespace ipcbench {
namespace {

constexpr unsigned kProducers = 3;
// Four spinning threads on what may be 2 CPUs hand over a small queue about once per
// scheduler time slice: spin cases send fewer.
constexpr std::uint64_t kBlockMsgsPerProducer = 4000;
constexpr std::uint64_t kSpinMsgsPerProducer = 100;
constexpr std::size_t kHeaderBytes = 12;  // [0..4) producer, [4..12) seq

struct ThreadCase {
  WaitMode wait;
  std::uint32_t slots;
  std::size_t max_msg_bytes;
};

void PrintTo(const ThreadCase& c, std::ostream* os) {
  *os << to_string(c.wait) << "/slots:" << c.slots << "/max:" << c.max_msg_bytes;
}

std::string case_name(const ::testing::TestParamInfo<ThreadCase>& info) {
  return std::string(to_string(info.param.wait)) + "_slots" + std::to_string(info.param.slots) +
         "_max" + std::to_string(info.param.max_msg_bytes);
}

std::size_t length_of(std::uint64_t seq, std::size_t max_msg_bytes) {
  return kHeaderBytes + seq * 7 % (max_msg_bytes - kHeaderBytes + 1);
}

std::byte byte_at(std::uint32_t id, std::uint64_t seq, std::size_t i) {
  return static_cast<std::byte>((seq * 131 + i * 7 + id * 29) & 0xFF);
}

void make_message(std::vector<std::byte>& msg, std::uint32_t id, std::uint64_t seq) {
  std::memcpy(msg.data(), &id, 4);
  std::memcpy(msg.data() + 4, &seq, 8);
  for (std::size_t i = kHeaderBytes; i < msg.size(); ++i) msg[i] = byte_at(id, seq, i);
}

// Heap memory for the queue, aligned as a mapping would be, zeroed.
struct HeapQueue {
  explicit HeapQueue(const ThreadCase& c)
      : bytes(mpsc::queue_bytes(c.slots, c.max_msg_bytes)),
        mem(static_cast<std::byte*>(std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096))) {
    std::memset(mem, 0, bytes);
    mpsc::init_queue(mem, c.slots, c.max_msg_bytes);
  }
  ~HeapQueue() { std::free(mem); }
  std::size_t bytes;
  std::byte* mem;
};

// kProducers threads, each sending `count` messages of its own sequence into the queue
// at `mem`, pausing now and then so that the queue runs full and empty. Join them.
std::vector<std::thread> start_producers(const ThreadCase& c, std::byte* mem, std::uint64_t count) {
  std::vector<std::thread> producers;
  for (std::uint32_t id = 0; id < kProducers; ++id) {
    producers.emplace_back([&c, mem, count, id] {
      mpsc::Producer tx(mem);
      std::vector<std::byte> msg;
      for (std::uint64_t seq = 0; seq < count; ++seq) {
        msg.resize(length_of(seq, c.max_msg_bytes));
        make_message(msg, id, seq);
        tx.send(msg, c.wait);
        if ((seq + id) % 97 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  return producers;
}

class MpscThreads : public ::testing::TestWithParam<ThreadCase> {};

TEST_P(MpscThreads, EveryProducersMessagesArriveWholeAndInOrder) {
  const ThreadCase& c = GetParam();
  HeapQueue q(c);
  const std::uint64_t count =
      c.wait == WaitMode::spin ? kSpinMsgsPerProducer : kBlockMsgsPerProducer;
  std::vector<std::thread> producers = start_producers(c, q.mem, count);
  mpsc::Consumer rx(q.mem);
  std::vector<std::byte> buf(c.max_msg_bytes);
  std::uint64_t next[kProducers] = {};
  std::string first_error;
  for (std::uint64_t n = 0; n < kProducers * count; ++n) {
    if (n % 149 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
    const std::size_t len = rx.recv(buf, c.wait);
    std::uint32_t id = 0;
    std::uint64_t seq = 0;
    std::memcpy(&id, buf.data(), 4);
    std::memcpy(&seq, buf.data() + 4, 8);
    bool ok = id < kProducers && seq == next[id] && len == length_of(seq, c.max_msg_bytes);
    for (std::size_t i = kHeaderBytes; ok && i < len; ++i) ok = buf[i] == byte_at(id, seq, i);
    if (!ok && first_error.empty()) {
      first_error = "message " + std::to_string(n) + ": producer " + std::to_string(id) + " seq " +
                    std::to_string(seq) + " length " + std::to_string(len);
    }
    if (id < kProducers) next[id] = seq + 1;
  }
  for (std::thread& t : producers) t.join();
  EXPECT_EQ(first_error, "");
  for (std::uint32_t id = 0; id < kProducers; ++id) EXPECT_EQ(next[id], count) << id;
}

// One slot (the case Vyukov's undoubled seq gets wrong), a few, and a ring of 16, while
// sleeping; a few and 16 while spinning (one slot passes a message per time slice).
INSTANTIATE_TEST_SUITE_P(Queue, MpscThreads,
                         ::testing::Values(ThreadCase{WaitMode::block, 1, 64},
                                           ThreadCase{WaitMode::block, 4, 200},
                                           ThreadCase{WaitMode::block, 16, 64},
                                           ThreadCase{WaitMode::spin, 4, 200},
                                           ThreadCase{WaitMode::spin, 16, 64}),
                         case_name);

// Competing consumers (mpsc::SharedConsumer, mechanisms/shm_mpmc.cpp): kProducers
// producer threads and kConsumers consumer threads on one queue. Each consumer checks
// every message it takes (length, bytes) and that each producer's sequence numbers
// reach it in increasing order, and records what it took; afterwards every message of
// every producer must have been taken exactly once. The main thread ends the run as
// the harness does: one end marker per consumer after every producer is done.
constexpr unsigned kConsumers = 3;
constexpr std::uint32_t kEndMarker = 0xFFFFFFFF;

struct Taken {
  std::vector<std::vector<bool>> by_producer;  // [producer][seq]
  std::string first_error;
};

void compete_consumer(const ThreadCase& c, std::byte* mem, std::uint64_t count, Taken& out) {
  mpsc::SharedConsumer rx(mem);
  std::vector<std::byte> buf(c.max_msg_bytes);
  std::vector<std::uint64_t> next(kProducers, 0);  // the least seq still acceptable
  out.by_producer.assign(kProducers, std::vector<bool>(count, false));
  for (std::uint64_t n = 0;; ++n) {
    if (n % 151 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
    const std::size_t len = rx.recv(buf, c.wait);
    std::uint32_t id = 0;
    std::uint64_t seq = 0;
    std::memcpy(&id, buf.data(), 4);
    std::memcpy(&seq, buf.data() + 4, 8);
    if (id == kEndMarker) return;
    bool ok =
        id < kProducers && seq >= next[id] && seq < count && len == length_of(seq, c.max_msg_bytes);
    for (std::size_t i = kHeaderBytes; ok && i < len; ++i) ok = buf[i] == byte_at(id, seq, i);
    if (!ok && out.first_error.empty()) {
      out.first_error = "producer " + std::to_string(id) + " seq " + std::to_string(seq) +
                        " length " + std::to_string(len);
    }
    if (ok) {
      next[id] = seq + 1;
      out.by_producer[id][seq] = true;
    }
  }
}

class MpmcThreads : public ::testing::TestWithParam<ThreadCase> {};

TEST_P(MpmcThreads, EachMessageReachesExactlyOneConsumerWholeAndInOrder) {
  const ThreadCase& c = GetParam();
  HeapQueue q(c);
  const std::uint64_t count =
      c.wait == WaitMode::spin ? kSpinMsgsPerProducer : kBlockMsgsPerProducer;
  std::vector<Taken> taken(kConsumers);
  std::vector<std::thread> threads;
  for (unsigned k = 0; k < kConsumers; ++k)
    threads.emplace_back([&, k] { compete_consumer(c, q.mem, count, taken[k]); });
  std::vector<std::thread> producers = start_producers(c, q.mem, count);
  for (std::thread& t : producers) t.join();
  mpsc::Producer ender(q.mem);
  std::vector<std::byte> marker(kHeaderBytes);
  for (unsigned k = 0; k < kConsumers; ++k) {
    make_message(marker, kEndMarker, 0);
    ender.send(marker, c.wait);
  }
  for (std::thread& t : threads) t.join();
  std::uint64_t lost = 0, duplicated = 0;
  for (std::uint32_t id = 0; id < kProducers; ++id) {
    for (std::uint64_t seq = 0; seq < count; ++seq) {
      unsigned takers = 0;
      for (const Taken& t : taken) takers += t.by_producer[id][seq] ? 1 : 0;
      lost += takers == 0 ? 1 : 0;
      duplicated += takers > 1 ? takers - 1 : 0;
    }
  }
  for (unsigned k = 0; k < kConsumers; ++k) EXPECT_EQ(taken[k].first_error, "") << "consumer " << k;
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(duplicated, 0u);
}

INSTANTIATE_TEST_SUITE_P(Queue, MpmcThreads,
                         ::testing::Values(ThreadCase{WaitMode::block, 1, 64},
                                           ThreadCase{WaitMode::block, 4, 200},
                                           ThreadCase{WaitMode::block, 16, 64},
                                           ThreadCase{WaitMode::spin, 4, 200},
                                           ThreadCase{WaitMode::spin, 16, 64}),
                         case_name);

}  // namespace
}  // namespace ipcbench
