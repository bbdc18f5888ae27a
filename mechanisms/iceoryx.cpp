// iceoryx: Eclipse iceoryx 2.0 zero-copy publish/subscribe over shared memory, with a
// private RouDi daemon (iox-roudi) started for each channel.
//
// RouDi: create() writes a config (one segment, one mempool fitted to the case: chunks
// of the message size plus headers, enough of them for every queue, loan and held
// sample) into a private 0700 mkdtemp directory, starts iox-roudi on it (its own
// process group, SIGKILLed when the orchestrator dies, umask 077, stdout/stderr to a
// log in that directory) and waits until its socket exists, then removes the
// directory. The children register with it (PoshRuntime::initRuntime, after fork, one
// unique runtime name per side); the Channel destructor SIGKILLs it (its graceful stop
// would SIGTERM the registered pids, by then reaped and free for reuse) and removes
// what it made.
// Global names: iceoryx 2.0 compiles its names in. RouDi makes /dev/shm/iceoryx_mgmt
// (management, ~65 MB), /dev/shm/<group> (the payload segment, named after the
// effective group), /tmp/roudi (its socket), /tmp/roudi.lock and
// /tmp/iox-unique-roudi.lock (flock()ed while it lives); each runtime makes
// /tmp/<runtime name> and /tmp/<runtime name>.lock. So only one RouDi, and one
// iceoryx channel, can exist on a machine at a time: a second channel (--pairs, or a
// RouDi of the user's) is not runnable, with that reason. All the names are recorded
// (RecordedGlobalNames, harness/stale.hpp) before RouDi starts, so a killed run's are
// swept by the next one.
// Modes: iceoryx creates its segments and sockets 0660, under a umask it sets itself
// around each creation, and gives the payload segment an ACL for the group; no setting
// of 2.0 changes that. So iox-roudi runs with a preload of ours
// (iceoryx/owner_only_preload.cpp: its umask keeps group and other masked, its ACLs are
// not applied), and in a side, after fork, this file's umask() does the same for the
// runtime's own socket and lock: every object is owner-only from its first moment.
// Pattern: stream = one topic a -> b; pingpong = two topics (a -> b, b -> a). The
// publisher loans a chunk (loan), the harness writes the message in it, publish()
// hands it over; the subscriber takes it (peek) and gives it back (release). The
// length travels in an 8-byte user header.
// Fan-out (ChannelConfig::consumers = N, stream): N subscribers on the one topic, each
// in its own process with its own runtime name ("<tag>-b<i>": each consumer's open()
// takes an index i from a pipe the orchestrator filled with 0 .. N-1, so every name is
// known, and recorded, before RouDi starts). A publish() puts the one chunk in every
// subscriber's queue and waits while any of them is full (WAIT_FOR_CONSUMER below), so
// the slowest consumer paces the producer. A subscriber that connects after a publish
// misses it: each consumer, once SUBSCRIBED (its queue is then in the publisher's
// list), writes one byte to a second pipe, and the producer's open() reads N of them
// before it returns (at most kMatchTimeout). Fan-in is not offered: not measured here.
// Capacity: each subscriber's queue (queueCapacity = capacity, history 0), lossless:
// BLOCK_PRODUCER / WAIT_FOR_CONSUMER. iceoryx caps the queue at 256: granted =
// min(capacity, 256). A full queue makes publish() wait inside iceoryx, polling with
// sched_yield() in either wait mode (2.0 has no sleeping producer).
// Wait: spin = polling take(); block = a WaitSet on the subscriber's HAS_DATA state.
// A dead peer: each side holds the write end of a pipe whose read end its peer polls
// when idle (every 50 ms in block, every 16384 empty polls in spin); EOF there and an
// empty queue is a PeerError. With N consumers the producer sees EOF once all are gone.
// Timed: loan, the harness's write, publish (queue push, wake-up), take, release.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"
#include "harness/stale.hpp"
#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"

namespace ipcbench {
namespace {

constexpr const char* kRoudiLock = "/tmp/iox-unique-roudi.lock";
constexpr const char* kRoudiSocket = "/tmp/roudi";
constexpr const char* kMgmtSegment = "/dev/shm/iceoryx_mgmt";
constexpr std::uint64_t kMaxQueueMsgs = iox::MAX_SUBSCRIBER_QUEUE_CAPACITY;  // 256 in 2.0
// Chunks a topic may use beyond its queue: the publisher's loan, the one it keeps as
// its last chunk, the subscriber's held sample, one spare.
constexpr std::uint64_t kChunksBeyondQueue = 4;
// Bytes a chunk adds to its payload: iceoryx's chunk header, our length header and
// alignment, generously.
constexpr std::uint64_t kChunkOverheadBytes = 128;
constexpr auto kRoudiStartTimeout = std::chrono::seconds(10);
constexpr auto kMatchTimeout = std::chrono::seconds(10);
constexpr std::uint32_t kSpinPollsPerPeerCheck = 1u << 14;
constexpr std::int64_t kBlockPeerCheckMs = 50;

// Set in a side's child before it starts its iceoryx runtime: from then on every umask
// (iceoryx's own calls included) keeps the group and other bits masked. Unset in every
// other process, where umask() below is the system call itself.
bool g_owner_only_umask = false;

// The payload segment is named after the effective group.
std::string group_segment() {
  std::vector<char> buf(16384);
  group g{};
  group* found = nullptr;
  if (::getgrgid_r(::getegid(), &g, buf.data(), buf.size(), &found) != 0 || found == nullptr)
    throw NotRunnable("iceoryx: the effective group has no name (RouDi names its segment so)");
  return std::string("/dev/shm/") + found->gr_name;
}

std::string find_roudi() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (std::size_t at = 0; at <= dirs.size();) {
    const std::size_t end = std::min(dirs.find(':', at), dirs.size());
    const std::string candidate = dirs.substr(at, end - at) + "/iox-roudi";
    if (end > at && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    at = end + 1;
  }
  throw NotRunnable("iceoryx: iox-roudi (the RouDi daemon, package iceoryx) is not in PATH");
}

// A live RouDi holds its lock file with flock().
bool roudi_running() {
  UniqueFd fd(::open(kRoudiLock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return false;
  return ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

void write_file(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) throw SysError("open", path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw SysError("write", path);
}

std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last.empty() ? "no output" : last;
}

// RouDi's environment: ours, with the owner-only preload first in LD_PRELOAD (see the
// file's note). NotRunnable without the preload: RouDi would make its objects 0660.
std::vector<std::string> roudi_environment() {
  const std::string preload = IPCBENCH_IOX_OWNER_ONLY_SO;
  if (::access(preload.c_str(), R_OK) != 0)
    throw NotRunnable("iceoryx: " + preload + " (built with ipcbench) is missing: rebuild");
  std::vector<std::string> env;
  std::string others;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "LD_PRELOAD=", 11) == 0) {
      others = std::string(":") + (*e + 11);
    } else {
      env.emplace_back(*e);
    }
  }
  env.push_back("LD_PRELOAD=" + preload + (others == ":" ? "" : others));
  return env;
}

// The RouDi daemon, as a child of the orchestrator. Destroying it SIGKILLs and reaps it.
class Roudi {
 public:
  Roudi() = default;
  Roudi(const std::string& binary, const std::string& config, const std::string& log);
  Roudi(Roudi&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
  Roudi& operator=(Roudi&& o) noexcept {
    if (this != &o) {
      stop();
      pid_ = std::exchange(o.pid_, -1);
    }
    return *this;
  }
  Roudi(const Roudi&) = delete;
  Roudi& operator=(const Roudi&) = delete;
  ~Roudi() { stop(); }
  // Waits until RouDi's socket and segments exist; NotRunnable when RouDi exits first.
  void await_ready(const std::string& segment, const std::string& log);
  void stop() noexcept;

 private:
  pid_t pid_ = -1;
};

Roudi::Roudi(const std::string& binary, const std::string& config, const std::string& log) {
  // Everything the child needs is made before fork: it only calls async-signal-safe
  // functions until exec.
  const char* argv[] = {"iox-roudi", "-c", config.c_str(), "-l", "warning", "-m", "on", nullptr};
  const std::vector<std::string> env_text = roudi_environment();
  std::vector<const char*> envp;
  for (const std::string& e : env_text) envp.push_back(e.c_str());
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (log_fd < 0) throw SysError("open", log);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no RouDi outlives its orchestrator
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);  // the terminal's Ctrl-C is the orchestrator's to handle
    ::umask(077);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::close_range(3, ~0u, 0);
    ::execve(binary.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(envp.data()));
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid_ < 0) throw SysError("fork", "iox-roudi", fork_errno);
}

void Roudi::await_ready(const std::string& segment, const std::string& log) {
  const auto deadline = std::chrono::steady_clock::now() + kRoudiStartTimeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw NotRunnable("iceoryx: iox-roudi exited at start (" + last_line(log) + ")");
    }
    struct stat st {};
    if (::lstat(kRoudiSocket, &st) == 0 && S_ISSOCK(st.st_mode) &&
        ::access(segment.c_str(), F_OK) == 0 && ::access(kMgmtSegment, F_OK) == 0)
      return;
    if (std::chrono::steady_clock::now() > deadline)
      throw NotRunnable("iceoryx: iox-roudi did not make its socket within 10 s");
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void Roudi::stop() noexcept {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

// The length of a message, in the chunk's user header.
struct LengthHeader {
  std::uint64_t bytes;
};

// What a side needs to open its end.
struct SideSetup {
  std::string runtime;
  std::string tag;  // the channel's topics: ("ipcbench", tag, "ab" | "ba")
  std::optional<std::string> tx_topic, rx_topic;
  std::uint64_t queue_msgs;
  std::size_t msg_bytes;
  WaitMode wait;
  int peer_death_fd;
  // Stream only (else -1): the consumers' "subscribed" pipe. Side a reads `consumers`
  // bytes from it before it publishes; side b writes one once SUBSCRIBED.
  int subscribed_fd = -1;
  unsigned consumers = 1;
};

class IceoryxEndpoint final : public Endpoint {
 public:
  explicit IceoryxEndpoint(const SideSetup& s);
  void send(std::span<const std::byte> msg) override;
  std::size_t recv(std::span<std::byte> buf) override;
  std::span<std::byte> loan() override;
  void publish(std::size_t bytes) override;
  std::span<const std::byte> peek() override;
  void release() override;

 private:
  bool try_take();
  void await_matched(const SideSetup& s);
  bool all_subscribed();
  bool peer_gone() const noexcept;
  [[noreturn]] void throw_peer_gone() const;

  WaitMode wait_;
  std::size_t msg_bytes_;
  int peer_death_fd_;
  UniqueFd subscribed_;           // the "subscribed" pipe's end: see SideSetup
  unsigned subscribed_seen_ = 0;  // side a: consumers that said they are subscribed
  std::optional<iox::popo::UntypedPublisher> pub_;
  std::optional<iox::popo::UntypedSubscriber> sub_;
  std::optional<iox::popo::WaitSet<>> waitset_;  // block mode, with a subscriber
  unsigned consumers_ = 1;
  void* loaned_ = nullptr;
  const void* held_ = nullptr;
  std::size_t held_bytes_ = 0;
};

// (std::string overloads: GCC's -Warray-bounds misreads the const char* ones.)
iox::capro::ServiceDescription topic(const std::string& tag, const std::string& direction) {
  return {iox::capro::IdString_t(iox::cxx::TruncateToCapacity, std::string("ipcbench")),
          iox::capro::IdString_t(iox::cxx::TruncateToCapacity, tag),
          iox::capro::IdString_t(iox::cxx::TruncateToCapacity, direction)};
}

IceoryxEndpoint::IceoryxEndpoint(const SideSetup& s)
    : wait_(s.wait),
      msg_bytes_(s.msg_bytes),
      peer_death_fd_(s.peer_death_fd),
      subscribed_(s.subscribed_fd),
      consumers_(s.consumers) {
  iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kOff,
                                                           iox::log::LogLevelOutput::kHideLogLevel);
  g_owner_only_umask = true;  // this child's process only: see umask() below
  iox::runtime::PoshRuntime::initRuntime(
      iox::RuntimeName_t(iox::cxx::TruncateToCapacity, s.runtime));
  if (s.tx_topic) {
    iox::popo::PublisherOptions o;
    o.historyCapacity = 0;
    o.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
    pub_.emplace(topic(s.tag, *s.tx_topic), o);
  }
  if (s.rx_topic) {
    iox::popo::SubscriberOptions o;
    o.queueCapacity = s.queue_msgs;
    o.historyRequest = 0;
    o.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
    sub_.emplace(topic(s.tag, *s.rx_topic), o);
    if (wait_ == WaitMode::block) {
      waitset_.emplace();
      if (waitset_->attachState(*sub_, iox::popo::SubscriberState::HAS_DATA).has_error())
        throw std::runtime_error("iceoryx: WaitSet::attachState failed");
    }
  }
  await_matched(s);
}

// Publishing before a subscriber's queue is connected (RouDi's discovery, every
// 100 ms) would drop messages: wait until both directions are connected, and in a
// stream until every consumer has said so.
void IceoryxEndpoint::await_matched(const SideSetup& s) {
  const auto deadline = std::chrono::steady_clock::now() + kMatchTimeout;
  for (;;) {
    const bool tx_ok = !pub_ || (subscribed_ ? all_subscribed() : pub_->hasSubscribers());
    const bool rx_ok = !sub_ || sub_->getSubscriptionState() == iox::SubscribeState::SUBSCRIBED;
    if (tx_ok && rx_ok) break;
    if (peer_gone()) throw_peer_gone();
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("iceoryx: publisher and subscriber not connected within 10 s (" +
                               std::to_string(subscribed_seen_) + " of " +
                               std::to_string(s.consumers) + " consumers subscribed)");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  if (sub_ && subscribed_) {
    const char byte = 1;
    if (::write(subscribed_.get(), &byte, 1) != 1) throw SysError("write", "iceoryx subscribed");
  }
  subscribed_.reset();
}

// Side a of a stream: reads what the consumers wrote so far; true once all have.
bool IceoryxEndpoint::all_subscribed() {
  char bytes[64];
  const ssize_t n = ::read(subscribed_.get(), bytes, sizeof bytes);  // non-blocking
  if (n > 0) subscribed_seen_ += static_cast<unsigned>(n);
  if (n < 0 && errno != EAGAIN && errno != EINTR) throw SysError("read", "iceoryx subscribed");
  return subscribed_seen_ >= consumers_;
}

bool IceoryxEndpoint::peer_gone() const noexcept {
  pollfd p{peer_death_fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;  // EOF (POLLHUP): the peer's write end closed with it
}

void IceoryxEndpoint::throw_peer_gone() const {
  throw ipcbench::peer_gone("iceoryx: the peer process exited");
}

std::span<std::byte> IceoryxEndpoint::loan() {
  auto r = pub_->loan(static_cast<std::uint32_t>(msg_bytes_), alignof(std::max_align_t),
                      sizeof(LengthHeader), alignof(LengthHeader));
  if (r.has_error()) {
    throw std::runtime_error("iceoryx: loan of " + std::to_string(msg_bytes_) +
                             " bytes failed (mempool exhausted?), error " +
                             std::to_string(static_cast<int>(r.get_error())));
  }
  loaned_ = r.value();
  return {static_cast<std::byte*>(loaned_), msg_bytes_};
}

void IceoryxEndpoint::publish(std::size_t bytes) {
  auto* header =
      static_cast<LengthHeader*>(iox::mepoo::ChunkHeader::fromUserPayload(loaned_)->userHeader());
  header->bytes = bytes;
  pub_->publish(loaned_);
  loaned_ = nullptr;
}

bool IceoryxEndpoint::try_take() {
  auto r = sub_->take();
  if (r.has_error()) {
    if (r.get_error() == iox::popo::ChunkReceiveResult::NO_CHUNK_AVAILABLE) return false;
    throw std::runtime_error("iceoryx: take failed (too many samples held)");
  }
  held_ = r.value();
  const auto* header = static_cast<const LengthHeader*>(
      iox::mepoo::ChunkHeader::fromUserPayload(held_)->userHeader());
  if (header->bytes > msg_bytes_) {
    throw PeerError("iceoryx: a sample says " + std::to_string(header->bytes) +
                    " bytes, over the " + std::to_string(msg_bytes_) + "-byte chunk");
  }
  held_bytes_ = header->bytes;
  return true;
}

std::span<const std::byte> IceoryxEndpoint::peek() {
  for (std::uint32_t polls = 0; !try_take();) {
    if (wait_ == WaitMode::block) {
      // Returns at once while the queue holds data (a state, not an event).
      if (!waitset_->timedWait(iox::units::Duration::fromMilliseconds(kBlockPeerCheckMs)).empty())
        continue;
    } else if (++polls % kSpinPollsPerPeerCheck != 0) {
      continue;
    }
    // Idle for a while: is the peer gone? It may have left its last message queued.
    if (peer_gone()) {
      if (try_take()) break;
      throw_peer_gone();
    }
  }
  return {static_cast<const std::byte*>(held_), held_bytes_};
}

void IceoryxEndpoint::release() {
  sub_->release(held_);
  held_ = nullptr;
}

void IceoryxEndpoint::send(std::span<const std::byte> msg) {
  const std::span<std::byte> room = loan();
  std::memcpy(room.data(), msg.data(), msg.size());
  publish(msg.size());
}

std::size_t IceoryxEndpoint::recv(std::span<std::byte> buf) {
  const std::span<const std::byte> msg = peek();
  if (msg.size() > buf.size()) {
    release();
    throw PeerError("iceoryx: a " + std::to_string(msg.size()) + "-byte sample exceeds the " +
                    std::to_string(buf.size()) + "-byte buffer");
  }
  std::memcpy(buf.data(), msg.data(), msg.size());
  release();
  return msg.size();
}

// A pipe the orchestrator makes for the sides. The death pipes (side a's, side b's):
// each side keeps its own write end (closed by the kernel when it dies) and its peer's
// read end.
struct PipeEnds {
  UniqueFd read, write;
};

PipeEnds make_pipe(const char* what, int read_flags = 0) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw SysError("pipe2", what);
  if (read_flags != 0 && ::fcntl(fds[0], F_SETFL, read_flags) < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw SysError("fcntl", what);
  }
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

class IceoryxChannel final : public Channel {
 public:
  explicit IceoryxChannel(const ChannelConfig& cfg);
  std::unique_ptr<Endpoint> open(Side side) override;
  void forked() override {
    for (PipeEnds& p : death_) p = PipeEnds{};
    tickets_ = PipeEnds{};
    subscribed_ = PipeEnds{};
  }

 private:
  void start_roudi(const std::string& segment);
  std::string config_text() const;
  unsigned take_ticket();

  ChannelConfig cfg_;
  std::string tag_;  // "ipcbench-<pid>-<random>": runtime names and topics derive from it
  std::uint64_t queue_msgs_;
  std::uint64_t chunk_bytes_;
  RecordedGlobalNames names_;  // declared before roudi_: removed after it is dead
  Roudi roudi_;
  PipeEnds death_[2];    // [0]: side a's, [1]: side b's
  PipeEnds tickets_;     // the consumers' indices 0 .. N-1, one byte each
  PipeEnds subscribed_;  // stream: each consumer writes one byte once subscribed
};

IceoryxChannel::IceoryxChannel(const ChannelConfig& cfg)
    : cfg_(cfg),
      tag_(unique_ipc_name().substr(1)),
      queue_msgs_(std::clamp<std::uint64_t>(cfg.capacity_msgs, 1, kMaxQueueMsgs)),
      chunk_bytes_((cfg.msg_bytes + kChunkOverheadBytes + 7) / 8 * 8) {
  if (cfg.msg_bytes > UINT32_MAX - kChunkOverheadBytes)
    throw NotRunnable("iceoryx: a chunk holds at most 4 GiB (a 32-bit payload size)");
  if (cfg.producers != 1 || cfg.consumers == 0)
    throw NotRunnable("iceoryx: one producer and at least one consumer per channel");
  if (cfg.pattern == Pattern::pingpong && cfg.consumers != 1)
    throw NotRunnable("iceoryx: pingpong is one client and one server");
  if (cfg.consumers > iox::MAX_SUBSCRIBERS_PER_PUBLISHER) {
    throw NotRunnable("iceoryx: " + std::to_string(cfg.consumers) +
                      " consumers, over iceoryx's limit of " +
                      std::to_string(iox::MAX_SUBSCRIBERS_PER_PUBLISHER) + " per publisher");
  }
  const std::string segment = group_segment();
  if (roudi_running()) {
    throw NotRunnable(
        "iceoryx: a RouDi is already running (it holds /tmp/iox-unique-roudi.lock): iceoryx "
        "2.0's names are machine-global, so only one iceoryx channel can exist at a time");
  }
  std::vector<std::string> own;
  for (unsigned i = 0; i <= cfg.consumers; ++i) {  // "-a", then "-b0" .. "-b<N-1>"
    const std::string runtime = "/tmp/" + tag_ + (i == 0 ? "-a" : "-b" + std::to_string(i - 1));
    own.push_back(runtime);
    own.push_back(runtime + ".lock");
  }
  names_ = RecordedGlobalNames(
      kRoudiLock, {kMgmtSegment, segment, kRoudiSocket, "/tmp/roudi.lock", kRoudiLock}, own);
  start_roudi(segment);
  for (PipeEnds& p : death_) p = make_pipe("iceoryx death pipe");
  tickets_ = make_pipe("iceoryx consumer indices", O_NONBLOCK);
  for (unsigned i = 0; i < cfg.consumers; ++i) {
    const auto ticket = static_cast<unsigned char>(i);  // at most 256 consumers
    if (::write(tickets_.write.get(), &ticket, 1) != 1) throw SysError("write", "iceoryx indices");
  }
  if (cfg.pattern != Pattern::pingpong)
    subscribed_ = make_pipe("iceoryx subscribed pipe", O_NONBLOCK);
  granted_.capacity_msgs = queue_msgs_;
  granted_.capacity_bytes = queue_msgs_ * chunk_bytes_;
}

std::string IceoryxChannel::config_text() const {
  const int topics = cfg_.pattern == Pattern::pingpong ? 2 : 1;
  // A chunk is shared by every consumer's queue; each further consumer holds one more.
  const std::uint64_t chunks = topics * (queue_msgs_ + kChunksBeyondQueue) + cfg_.consumers - 1;
  return "[general]\nversion = 1\n\n[[segment]]\n\n[[segment.mempool]]\nsize = " +
         std::to_string(chunk_bytes_) + "\ncount = " + std::to_string(chunks) + "\n";
}

void IceoryxChannel::start_roudi(const std::string& segment) {
  const std::string binary = find_roudi();
  std::string dir_template = "/tmp/" + tag_ + "-XXXXXX";
  if (::mkdtemp(dir_template.data()) == nullptr) throw SysError("mkdtemp", dir_template);
  OwnedName dir(dir_template, ::rmdir);  // 0700; removed with its files when this returns
  OwnedName config(dir.str() + "/roudi.toml", ::unlink);
  write_file(config.str(), config_text());
  OwnedName log(dir.str() + "/roudi.log", ::unlink);
  roudi_ = Roudi(binary, config.str(), log.str());
  roudi_.await_ready(segment, log.str());
}

// Side b: this consumer's index, unique among the channel's consumers.
unsigned IceoryxChannel::take_ticket() {
  unsigned char ticket = 0;
  if (::read(tickets_.read.get(), &ticket, 1) != 1)
    throw SysError("read",
                   "iceoryx consumer index (more consumers than the channel was made for?)");
  return ticket;
}

std::unique_ptr<Endpoint> IceoryxChannel::open(Side side) {
  const int me = side == Side::a ? 0 : 1;
  // Keep this side's write end and the peer's read end.
  death_[me].read.reset();
  death_[1 - me].write.reset();
  SideSetup s{.runtime = tag_ + (side == Side::a ? "-a" : "-b" + std::to_string(take_ticket())),
              .tag = tag_,
              .tx_topic = {},
              .rx_topic = {},
              .queue_msgs = queue_msgs_,
              .msg_bytes = cfg_.msg_bytes,
              .wait = cfg_.wait,
              .peer_death_fd = death_[1 - me].read.release(),
              .subscribed_fd = -1,
              .consumers = cfg_.consumers};
  death_[me].write.release();  // held until this process exits
  if (subscribed_.read) {
    s.subscribed_fd = (side == Side::a ? subscribed_.read : subscribed_.write).release();
  }
  forked();  // what this side did not take: the other side's ends, the indices
  if (side == Side::a || cfg_.pattern == Pattern::pingpong)
    s.tx_topic = side == Side::a ? "ab" : "ba";
  if (side == Side::b || cfg_.pattern == Pattern::pingpong)
    s.rx_topic = side == Side::a ? "ba" : "ab";
  return std::make_unique<IceoryxEndpoint>(s);
}

}  // namespace

const Mechanism kIceoryx{
    .name = "iceoryx",
    .summary =
        "Eclipse iceoryx 2.0 zero-copy publish/subscribe (loan/publish, take/release), private "
        "RouDi per channel",
    .capacity_knob =
        "subscriber queueCapacity = capacity (history 0, producer blocks when "
        "full), at most 256",
    .order = 640,
    .family = kFamilyLibrary,
    .transport = "shm_ring_zc",
    .zero_copy = true,
    .broadcast = true,
    .create = create_channel<IceoryxChannel>,
};
const Registration kIceoryxRegistration{kIceoryx};

}  // namespace ipcbench

// umask for every process of this program: the system call, except in an iceoryx side
// after it set g_owner_only_umask, where the group and other bits stay masked whatever
// iceoryx asks (iceoryx creates its runtime's socket and lock under a umask of its own
// that leaves them 0660). Defined in the executable, it is the umask the iceoryx
// libraries call.
extern "C" mode_t umask(mode_t mask) noexcept {
  return static_cast<mode_t>(
      ::syscall(SYS_umask, ipcbench::g_owner_only_umask ? mask | 077 : mask));
}
