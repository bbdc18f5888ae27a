#pragma once
// The one interface every mechanism implements.
//
// Life of a channel, for one case:
//   1. orchestrator: open_channel(mechanism, config) refuses a channel over the
//      per-channel limit, then Mechanism::create(config) makes the kernel objects
//      (pipes, sockets, a shared-memory object) and measures what the kernel granted.
//   2. orchestrator: fork() twice; each child calls open(side) once to take its end.
//   3. orchestrator: forked() drops the parent's copies, so the only holders of the
//      objects are the two children; then it waits for them.
//   4. orchestrator: destroying the Channel removes any name that is still present.
// Children leave with _exit(), so only step 4 ever removes names: a child that is
// killed cannot skip a clean-up that was never its job.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ipcbench {

// rate: an open-loop stream, sent on a fixed schedule (harness/patterns.cpp). It runs
// over the same one-way channel as stream: create() is given Pattern::stream.
// fanout: one producer, ChannelConfig::consumers consumers, each receiving every
// message: over one channel where the mechanism can broadcast (Mechanism::broadcast),
// else over one stream channel per consumer, the producer sending each message once
// to each. fanin: ChannelConfig::producers producers, one consumer, over one channel
// that several writers share (Mechanism::many_writers). compete: one producer,
// ChannelConfig::consumers consumers competing for its messages, each message going
// to exactly one of them (a mailbox several processes read, a work queue), over one
// channel that several readers share (Mechanism::many_readers). All three are one-way,
// so create() is given Pattern::stream for them too, with the counts set.
enum class Pattern { pingpong, stream, rate, fanout, fanin, compete };
// How a side that cannot go on (channel empty or full) waits. Every mechanism runs
// block and (all but the RPC ones) spin; the others exist where a mechanism implements
// them (shm_ring, shm_ring_zc).
//   block       sleep in the kernel until the peer wakes us (the mechanism's own way)
//   spin        poll without ever leaving the CPU
//   spin_yield  poll, with sched_yield() between polls
//   adaptive    poll for a bounded time, then sleep as block does
//   eventfd     sleep in read() on an eventfd; the peer wakes us with write()
//   sem         process-shared POSIX semaphores counting ready messages and free slots
//   sqpoll      io_uring's submission-polling kernel thread polls on the side's CPU
//               while the side sleeps for its completions: the CPU never idles, so it
//               counts as polling (uring_unix)
enum class WaitMode : std::uint8_t { block, spin, spin_yield, adaptive, eventfd, sem, sqpoll };
// Every wait mode, in the order `ipcbench list` and --help show them.
inline constexpr WaitMode kWaitModes[] = {
    WaitMode::block,   WaitMode::spin, WaitMode::spin_yield, WaitMode::adaptive,
    WaitMode::eventfd, WaitMode::sem,  WaitMode::sqpoll};

// A set of wait modes (a bitmask): what a mechanism supports.
class WaitModes {
 public:
  constexpr WaitModes() noexcept = default;
  template <typename... W>
  constexpr explicit WaitModes(W... modes) noexcept : bits_((bit(modes) | ... | 0u)) {}
  constexpr bool contains(WaitMode w) const noexcept { return (bits_ & bit(w)) != 0; }

 private:
  static constexpr std::uint32_t bit(WaitMode w) noexcept { return 1u << static_cast<unsigned>(w); }
  std::uint32_t bits_ = 0;
};
inline constexpr WaitModes kBlockAndSpin{WaitMode::block, WaitMode::spin};

// True for the modes that wait on the CPU rather than in the kernel (adaptive polls
// first, and on a quick peer never sleeps; sqpoll's kernel thread polls for the side):
// their latency floor is the cache-line round trip, not a wake-up.
constexpr bool polls(WaitMode w) noexcept {
  return w == WaitMode::spin || w == WaitMode::spin_yield || w == WaitMode::adaptive ||
         w == WaitMode::sqpoll;
}
// Where a shared-memory mechanism's region lives (harness/shared_region.hpp); mechanisms
// that use no shared memory ignore it.
enum class Backing { posix_shm, sysv_shm, file, memfd };
// a: pingpong client / stream or rate producer; b: pingpong server / consumer.
enum class Side { a, b };

std::string_view to_string(Pattern p) noexcept;
std::string_view to_string(WaitMode w) noexcept;
std::string_view to_string(Backing b) noexcept;
// "spin_yield" -> WaitMode::spin_yield; nullopt for any other text.
std::optional<WaitMode> parse_wait_mode(std::string_view name) noexcept;

// The most consumers of a fan-out, producers of a fan-in, or pairs at once.
inline constexpr unsigned kMaxFan = 64;

struct ChannelConfig {
  Pattern pattern = Pattern::pingpong;
  std::size_t msg_bytes = 64;     // every message of a case has this size
  std::size_t capacity_msgs = 1;  // messages the channel should hold in flight
  WaitMode wait = WaitMode::block;
  Backing backing = Backing::posix_shm;  // shared-memory mechanisms only
  // How many processes will open(Side::b) this channel (a broadcast fan-out's or a
  // compete's consumers) and open(Side::a) it (a fan-in's producers). 1 and 1 but there.
  unsigned consumers = 1;
  unsigned producers = 1;
  // The directory a file channel makes its private directory in (`ipcbench run
  // --dir`); empty: /tmp. Only the file mechanism reads it.
  std::string file_dir = {};
};

// What the kernel (or the ring) actually granted for the requested capacity.
struct Granted {
  // Whole messages of the case's size that the channel accepts before a sender
  // would wait (0: one message does not fit and passes through in pieces).
  std::uint64_t capacity_msgs = 0;
  std::uint64_t capacity_bytes = 0;  // the knob's granted value in bytes
  // What else a reader of the result must know about this channel, in a few words, or
  // empty: the limit that bounded the capacity, where a file channel lives ("tmpfs"),
  // how a rendezvous is acknowledged. It joins the case's label.
  std::string detail = {};
};

// One process's end of a channel. Child process only; not thread-safe.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // Sends one message. Returns once the channel holds all of it; waits (sleeping or
  // polling, per the wait mode) while the channel is full. Throws on error.
  virtual void send(std::span<const std::byte> msg) = 0;
  // Receives one message into buf and returns its length. buf.size() is the case's
  // message size: byte-stream mechanisms read exactly that many bytes; message
  // mechanisms return the length the kernel delivered. Throws PeerError on EOF.
  virtual std::size_t recv(std::span<std::byte> buf) = 0;

  // Zero-copy, only where Mechanism::zero_copy is set (the defaults throw). The
  // sender borrows room for one message inside the channel (`loan`, waiting like send
  // while the channel is full), writes the message there and publishes it; the
  // receiver reads it where it lies (`peek`, waiting like recv) and hands the room
  // back (`release`). One loan and one peek at a time.
  virtual std::span<std::byte> loan();
  virtual void publish(std::size_t bytes);
  virtual std::span<const std::byte> peek();
  virtual void release();
};

class Channel {
 public:
  virtual ~Channel() = default;
  // Child process only, once per child after fork: takes this side's end and closes
  // the descriptors that belong to the other side.
  virtual std::unique_ptr<Endpoint> open(Side side) = 0;
  // Orchestrator only, after both children are forked: drop the parent's copies of
  // descriptors so that a child's death is seen by its peer (EOF, EPIPE).
  virtual void forked() = 0;
  const Granted& granted() const noexcept { return granted_; }

 protected:
  Granted granted_;
};

// The usual Mechanism::create, for a channel built from the configuration and,
// optionally, constants of the mechanism (a socket type, a transport):
//   .create = create_channel<PipeChannel>,
//   .create = create_channel<UnixMessageChannel, SOCK_DGRAM>,
template <typename ChannelType, auto... kArgs>
std::unique_ptr<Channel> create_channel(const ChannelConfig& cfg) {
  return std::make_unique<ChannelType>(cfg, kArgs...);
}

// Mechanism::family, one for each hundred of Mechanism::order.
inline constexpr std::string_view kFamilySharedMemory = "shared memory";     // 100
inline constexpr std::string_view kFamilyByteStream = "kernel byte stream";  // 200
inline constexpr std::string_view kFamilyMessage = "kernel message";         // 300
inline constexpr std::string_view kFamilyNetwork = "network stack";          // 400
inline constexpr std::string_view kFamilyRpc = "RPC";                        // 500
inline constexpr std::string_view kFamilyLibrary = "messaging library";      // 600

// One way to move bytes between processes, as `ipcbench list` shows it.
struct Mechanism {
  std::string_view name;
  std::string_view summary;
  std::string_view capacity_knob;  // how capacity maps onto the mechanism's own knob
  // Where `ipcbench list` and the suite place it: sorted by (order, name). Families
  // take hundreds (100 shared memory, 200 kernel byte streams, 300 kernel messages,
  // 400 the network stack, 500 RPC), so a new mechanism picks a free number in its
  // family without touching anyone else's file.
  int order = 0;
  std::string_view family = {};  // kFamilySharedMemory, ... (list, JSON)
  // The mechanism this one rides on, when that is also a mechanism here (rpc_unix on
  // unix_stream): x_transport divides by it. Empty for a primitive.
  std::string_view transport = {};
  bool pingpong = true;
  bool stream = true;
  WaitModes waits = kBlockAndSpin;
  // The mechanism may drop messages by design (UDP): lost messages are counted and
  // reported as loss, not as a harness error, and a stream ends even when its last
  // message is lost (the producer repeats it until the consumer has stopped).
  bool may_lose = false;
  // The mechanism lives in shared memory and honours ChannelConfig::backing.
  bool uses_backing = false;
  // The endpoints implement loan/publish/peek/release, and the patterns use them
  // instead of send/recv: no copy into or out of the channel.
  bool zero_copy = false;
  // Fan-in: up to ChannelConfig::producers processes may each open(Side::a) one
  // channel and send at once, and every message arrives whole, never interleaved with
  // another's (a pipe's writes of up to PIPE_BUF, a message queue's messages, a
  // datagram). Without it, fanin is not offered.
  bool many_writers = false;
  // Fan-out: given ChannelConfig::consumers = N, one channel delivers every message
  // to each of the N processes that open(Side::b) it, and send() waits while the
  // slowest consumer has no room (a broadcast ring, multicast, publish/subscribe).
  // Without it, fanout sends a copy of each message down one channel per consumer.
  bool broadcast = false;
  // Compete: up to ChannelConfig::consumers processes may each open(Side::b) one
  // channel and receive at once, each message going whole to exactly one of them and
  // a reader that sleeps waking when a message is there for it (a pipe's reads of up
  // to PIPE_BUF from whole writes, a message queue, a datagram socket, an MPMC queue).
  // Without it, compete is not offered.
  bool many_readers = false;
  // Orchestrator only, through open_channel() (harness/registry.hpp), which has
  // already refused a channel over the per-channel limit. Usually
  // create_channel<XChannel>. Throws NotRunnable (with the reason) for a configuration
  // this mechanism or machine cannot run, SysError when a call fails.
  std::unique_ptr<Channel> (*create)(const ChannelConfig&) = nullptr;

  // rate and fanout need nothing beyond a stream's channel (fanout without broadcast
  // opens one per consumer); fanin needs a channel that many writers may share, compete
  // one that many readers may share.
  bool supports(Pattern p) const noexcept {
    if (p == Pattern::pingpong) return pingpong;
    if (p == Pattern::fanin) return stream && many_writers;
    if (p == Pattern::compete) return stream && many_readers;
    return stream;
  }
  bool supports(WaitMode w) const noexcept { return waits.contains(w); }
};

}  // namespace ipcbench
