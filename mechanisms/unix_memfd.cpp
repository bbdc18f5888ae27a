// unix_memfd: the hybrid of Windows ALPC, Chrome's Mojo and Wayland: small messages
// travel inline over a Unix socket, large ones through shared memory that was handed
// over once, at setup, as a descriptor (SCM_RIGHTS); the socket then carries only a
// small descriptor of each large message.
//
// Socket: a socketpair(AF_UNIX, SOCK_STREAM) (the transport is unix_stream), as Mojo
// and Wayland use: one read can take many small frames at once (inline messages, slot
// descriptors, acknowledgements), and unix_stream's capacity knob (SO_SNDBUF) applies.
// Every frame opens with an 8-byte header {tag, bytes}:
//   tag kInline     `bytes` of payload follow in the stream (messages <= kInlineMaxBytes)
//   tag = slot i    the message is `bytes` long and lies in slot i of the sender's area
//   tag kAck        from the receiver: `bytes` = large messages it has consumed so far
//                   (cumulative, mod 2^32); one ack per large message, sent after the
//                   copy out of the slot, in the other direction
//   tag kSetup      once, at setup, with the memfd attached (SCM_RIGHTS)
// A slot is the sender's from its message's ack until it takes the slot again: the
// receiver consumes in order, so an ack count names the slots of the messages sent
// that far back (the sender keeps them in a FIFO). Which free slot is taken next
// matters for pingpong, which has one message in flight: slots that fit in
// kRotateMaxBytes (1 MiB, half of one core's L2) are taken round-robin, larger ones
// last-freed-first, so pingpong stays in one slot. Pingpong at capacity 16, spin, on
// the 2-vCPU VM (4 MiB of L2), p50 one way, round-robin / last-freed-first: 64 KiB
// 8.8 / 11.9 us (likely: writing lines the peer still caches costs more than lines
// it has dropped), 1 MiB 145 / 112 us (16 MiB of slots no longer fit the caches).
// The sender reads acks lazily, only when no slot is free, so one read
// usually takes several. A data frame met while waiting for an ack is a protocol
// error: a side waits for a slot only in a stream, where data flows one way (in
// pingpong the peer acks before it replies, so the ack is read first).
//
// Region: one memfd (memfd_create, MFD_CLOEXEC | MFD_ALLOW_SEALING, fchmod 0600, sized
// with posix_fallocate, then sealed against shrinking and growing), created by the
// orchestrator in create(). Side a maps its inherited copy and passes it to side b
// over the socket with SCM_RIGHTS in open(); side b drops its inherited copy, receives
// the passed one, checks its seals and size (so a peer cannot truncate it under a
// mapping: no SIGBUS) and maps it. Both map with MAP_POPULATE and close the
// descriptor: the mapping holds the region, which has no name, so nothing can be left
// behind. Layout: the a -> b slots, then (pingpong) the b -> a slots; each slot holds
// one message, rounded up to a cache line. At sizes that go inline the region is one
// page, set up and passed all the same, as a connection sets up its section before it
// knows its message sizes.
//
// Capacity: inline sizes (<= 256 B): SO_SNDBUF = SO_RCVBUF grown until capacity
// frames (header + message) fit, probed, as unix_stream. Larger: slots = capacity
// per direction; the socket buffers are fitted to hold capacity header frames, so the
// slot descriptors one way and the acks the other never fill them (a buffer limit
// that holds fewer frames gives as many slots as it holds, recorded as granted).
// Wait: block = blocking recv/sendmsg; spin = MSG_DONTWAIT, retrying EAGAIN.
// Timed: the sender's copy into the slot and its frame, the receiver's read of the
// frame and its copy out of the slot into the caller's buffer (part of the cost: the
// harness verifies the caller's buffer), and its ack.
// A dead peer: EOF (or EPIPE) on the socket, PeerError.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <vector>

#include "harness/capacity.hpp"
#include "harness/error.hpp"
#include "harness/owners.hpp"
#include "harness/registry.hpp"
#include "harness/sockets.hpp"

namespace ipcbench {
namespace {

// Messages up to this size go inline (the size the issue set). Measured on the VM,
// the bare socket stays ahead in a stream up to 4 KiB, where the ack each slot costs
// outweighs the socket's buffer work (docs/mechanisms.md, the crossover).
constexpr std::size_t kInlineMaxBytes = 256;
constexpr std::size_t kSlotAlignBytes = 64;       // a cache line
constexpr std::size_t kStagingBytes = 64 * 1024;  // one read takes this much at most
// A sender's slots up to this many bytes are taken round-robin, beyond it the slot
// freed last is taken first (the design note says why).
constexpr std::size_t kRotateMaxBytes = 1 << 20;
constexpr std::uint32_t kInline = 0xffffffffu;
constexpr std::uint32_t kAck = 0xfffffffeu;
constexpr std::uint32_t kSetup = 0xfffffffdu;
constexpr unsigned kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

struct Frame {
  std::uint32_t tag;    // a slot index, kInline, kAck or kSetup
  std::uint32_t bytes;  // message length; kAck: large messages consumed; kSetup: region size
};
static_assert(sizeof(Frame) == 8);

struct Layout {
  std::size_t slot_bytes = 0;  // one slot, a cache-line multiple
  std::uint32_t slots = 0;     // per direction; 0 when every message goes inline
  std::size_t area_bytes() const noexcept { return slot_bytes * slots; }
};

std::size_t page_bytes() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

std::size_t region_bytes(const Layout& l, Pattern p) {
  const std::size_t areas = p == Pattern::pingpong ? 2 : 1;
  return std::max(page_bytes(), l.area_bytes() * areas);
}

UniqueFd create_region(std::size_t bytes) {
  UniqueFd fd(::memfd_create("ipcbench-memfd", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) throw SysError("memfd_create", "ipcbench-memfd");
  // A memfd starts 0777; owner-only is the promise for every object.
  if (::fchmod(fd.get(), 0600) < 0) throw SysError("fchmod 0600", "memfd ipcbench-memfd");
  if (const int err = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes)); err != 0) {
    if (err == ENOSPC) {
      throw NotRunnable("a memfd region of " + std::to_string(bytes) +
                        " B does not fit in memory (ENOSPC from posix_fallocate)");
    }
    throw SysError("posix_fallocate", "memfd ipcbench-memfd", err);
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, kSeals) < 0) throw SysError("F_ADD_SEALS", "memfd");
  return fd;
}

// Side a, at setup: the one frame that carries the region's descriptor.
void send_region(int sock, int memfd, std::size_t bytes) {
  Frame f{kSetup, static_cast<std::uint32_t>(bytes)};
  iovec iov{&f, sizeof f};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &memfd, sizeof memfd);
  ssize_t n;
  while ((n = ::sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n < 0) throw_io_error("sendmsg", "memfd setup frame");
  if (n != sizeof f) throw SysError("sendmsg (partial setup frame)", "memfd", EMSGSIZE);
}

// The descriptors an SCM_RIGHTS message brought: the first one owned and returned,
// any others closed.
UniqueFd take_passed_fd(msghdr& mh) {
  UniqueFd fd;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int passed;
      std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
      if (!fd) {
        fd.reset(passed);
      } else {
        ::close(passed);
      }
    }
  }
  return fd;
}

// Side b, at setup: receives the region's descriptor and checks it before mapping.
UniqueFd receive_region(int sock, std::size_t bytes) {
  Frame f{};
  iovec iov{&f, sizeof f};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n == 0) throw peer_gone_at_eof("recvmsg");
  if (n < 0) throw_io_error("recvmsg", "memfd setup frame");
  UniqueFd fd = take_passed_fd(mh);
  if (n != sizeof f || f.tag != kSetup || f.bytes != bytes || !fd ||
      (mh.msg_flags & MSG_CTRUNC) != 0) {
    throw PeerError("unix_memfd: bad setup frame (no region descriptor, or not the size agreed)");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) throw SysError("fstat", "passed memfd");
  const int seals = ::fcntl(fd.get(), F_GET_SEALS);
  if (static_cast<std::size_t>(st.st_size) != bytes || seals < 0 ||
      (static_cast<unsigned>(seals) & F_SEAL_SHRINK) == 0) {
    throw PeerError("unix_memfd: the passed region is not " + std::to_string(bytes) +
                    " B sealed against shrinking");
  }
  return fd;
}

// One side's end. Child process only.
class MemfdEndpoint final : public Endpoint {
 public:
  MemfdEndpoint(UniqueFd sock, Mapping region, Layout layout, Side side, WaitMode wait);
  void send(std::span<const std::byte> msg) override;
  std::size_t recv(std::span<std::byte> buf) override;

 private:
  void send_frame(Frame f, std::span<const std::byte> payload);
  void fill();  // reads what the socket has into staging_ (at least 1 byte)
  Frame next_frame();
  void take_payload(std::span<std::byte> out);  // an inline payload: staged, then the socket
  std::uint32_t take_slot();                    // a free slot, waiting for an ack when none is
  void on_ack(std::uint32_t acked);             // frees the slots of the newly acked messages

  UniqueFd sock_;
  Mapping region_;
  Layout layout_;
  std::byte* tx_slots_;        // the area this side writes
  const std::byte* rx_slots_;  // the area the peer writes
  int flags_;                  // MSG_DONTWAIT when spinning
  // Large messages sent and acked (64-bit, so n % slots never jumps at a wrap; acks
  // carry the low 32 bits), and received (as acks carry it).
  std::uint64_t sent_large_ = 0, acked_large_ = 0;
  std::uint32_t received_large_ = 0;
  std::vector<std::uint32_t> in_flight_;  // slot of large message n at n % slots, until acked
  // Free slots, in the order they were freed: taken from the front (round-robin) or,
  // when rotate_ is false, from the back (the slot freed last).
  std::vector<std::uint32_t> free_;
  std::uint32_t free_head_ = 0, free_count_ = 0;
  bool rotate_;
  std::vector<std::byte> staging_;
  std::size_t begin_ = 0, end_ = 0;  // staged, unread bytes
};

MemfdEndpoint::MemfdEndpoint(UniqueFd sock, Mapping region, Layout layout, Side side, WaitMode wait)
    : sock_(std::move(sock)),
      region_(std::move(region)),
      layout_(layout),
      flags_(wait == WaitMode::spin ? MSG_DONTWAIT : 0),
      staging_(kStagingBytes) {
  auto* base = static_cast<std::byte*>(region_.get());
  // a writes the first area; b writes the second (pingpong only: in a stream b
  // writes no slots, and a reads none).
  tx_slots_ = side == Side::a ? base : base + layout_.area_bytes();
  rx_slots_ = side == Side::a ? base + layout_.area_bytes() : base;
  std::fill(staging_.begin(), staging_.end(), std::byte{0});  // touched before measuring
  in_flight_.assign(layout_.slots, 0);
  free_.resize(layout_.slots);
  for (std::uint32_t s = 0; s < layout_.slots; ++s) free_[s] = s;
  free_count_ = layout_.slots;
  rotate_ = layout_.area_bytes() <= kRotateMaxBytes;
}

void MemfdEndpoint::send_frame(Frame f, std::span<const std::byte> payload) {
  iovec iov[2] = {{&f, sizeof f}, {const_cast<std::byte*>(payload.data()), payload.size()}};
  msghdr mh{};
  mh.msg_iov = iov;
  mh.msg_iovlen = payload.empty() ? 1 : 2;
  while (mh.msg_iovlen > 0) {
    const ssize_t n = ::sendmsg(sock_.get(), &mh, MSG_NOSIGNAL | flags_);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      throw_io_error("sendmsg", "fd " + std::to_string(sock_.get()));
    }
    // Advance past what was sent: a partial send may end inside either part.
    auto done = static_cast<std::size_t>(n);
    while (mh.msg_iovlen > 0 && done >= mh.msg_iov->iov_len) {
      done -= mh.msg_iov->iov_len;
      ++mh.msg_iov;
      --mh.msg_iovlen;
    }
    if (mh.msg_iovlen > 0) {
      mh.msg_iov->iov_base = static_cast<std::byte*>(mh.msg_iov->iov_base) + done;
      mh.msg_iov->iov_len -= done;
    }
  }
}

void MemfdEndpoint::fill() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (end_ == staging_.size()) {  // keep the unread tail, make room after it
    std::memmove(staging_.data(), staging_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  for (;;) {
    const ssize_t n = ::recv(sock_.get(), staging_.data() + end_, staging_.size() - end_, flags_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return;
    }
    if (n == 0) throw peer_gone_at_eof("recv");
    if (errno != EAGAIN && errno != EINTR)
      throw_io_error("recv", "fd " + std::to_string(sock_.get()));
  }
}

Frame MemfdEndpoint::next_frame() {
  while (end_ - begin_ < sizeof(Frame)) fill();
  Frame f;
  std::memcpy(&f, staging_.data() + begin_, sizeof f);
  begin_ += sizeof f;
  return f;
}

void MemfdEndpoint::take_payload(std::span<std::byte> out) {
  const std::size_t staged = std::min(out.size(), end_ - begin_);
  std::memcpy(out.data(), staging_.data() + begin_, staged);
  begin_ += staged;
  for (std::size_t got = staged; got < out.size();) {
    const ssize_t n = ::recv(sock_.get(), out.data() + got, out.size() - got, flags_);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n == 0) {
      throw peer_gone_at_eof("recv");
    } else if (errno != EAGAIN && errno != EINTR) {
      throw_io_error("recv", "fd " + std::to_string(sock_.get()));
    }
  }
}

void MemfdEndpoint::on_ack(std::uint32_t acked) {
  const std::uint32_t newly = acked - static_cast<std::uint32_t>(acked_large_);
  if (newly > sent_large_ - acked_large_) {
    throw PeerError("unix_memfd: ack for " + std::to_string(newly) + " more large messages, " +
                    std::to_string(sent_large_ - acked_large_) + " in flight (corrupt peer?)");
  }
  for (const std::uint64_t until = acked_large_ + newly; acked_large_ != until; ++acked_large_)
    free_[(free_head_ + free_count_++) % layout_.slots] = in_flight_[acked_large_ % layout_.slots];
}

std::uint32_t MemfdEndpoint::take_slot() {
  while (free_count_ == 0) {
    const Frame f = next_frame();
    if (f.tag != kAck) {
      throw PeerError("unix_memfd: a message arrived while this side waited for a slot's ack");
    }
    on_ack(f.bytes);
  }
  std::uint32_t slot;
  if (rotate_) {
    slot = free_[free_head_];
    free_head_ = (free_head_ + 1) % layout_.slots;
  } else {
    slot = free_[(free_head_ + free_count_ - 1) % layout_.slots];
  }
  --free_count_;
  in_flight_[sent_large_ % layout_.slots] = slot;
  return slot;
}

void MemfdEndpoint::send(std::span<const std::byte> msg) {
  if (msg.size() <= kInlineMaxBytes) {
    send_frame({kInline, static_cast<std::uint32_t>(msg.size())}, msg);
    return;
  }
  if (msg.size() > layout_.slot_bytes) {
    throw SysError("unix_memfd send", std::to_string(msg.size()) + " B message", EMSGSIZE);
  }
  const std::uint32_t slot = take_slot();
  std::memcpy(tx_slots_ + std::size_t{slot} * layout_.slot_bytes, msg.data(), msg.size());
  // The sendmsg below orders the copy before the frame: the receiver's recv of the
  // frame happens after it (the socket's lock), so it sees the whole slot.
  send_frame({slot, static_cast<std::uint32_t>(msg.size())}, {});
  ++sent_large_;
}

std::size_t MemfdEndpoint::recv(std::span<std::byte> buf) {
  for (;;) {
    const Frame f = next_frame();
    if (f.tag == kAck) {  // for this side's own large messages (pingpong)
      on_ack(f.bytes);
      continue;
    }
    if (f.bytes > buf.size()) {
      throw PeerError("unix_memfd: a " + std::to_string(f.bytes) + " B message for a " +
                      std::to_string(buf.size()) + " B buffer (corrupt peer?)");
    }
    if (f.tag == kInline) {
      take_payload(buf.first(f.bytes));
      return f.bytes;
    }
    if (f.tag >= layout_.slots || f.bytes > layout_.slot_bytes) {
      throw PeerError("unix_memfd: frame names slot " + std::to_string(f.tag) + " of " +
                      std::to_string(layout_.slots) + " (corrupt peer?)");
    }
    std::memcpy(buf.data(), rx_slots_ + std::size_t{f.tag} * layout_.slot_bytes, f.bytes);
    send_frame({kAck, ++received_large_}, {});  // the slot is the sender's again
    return f.bytes;
  }
}

class UnixMemfdChannel final : public Channel {
 public:
  explicit UnixMemfdChannel(const ChannelConfig& cfg);
  std::unique_ptr<Endpoint> open(Side side) override;
  void forked() override {
    a_.reset();
    b_.reset();
    memfd_.reset();
  }

 private:
  void fit_buffers(const ChannelConfig& cfg);

  Pattern pattern_;
  WaitMode wait_;
  Layout layout_;
  UniqueFd a_, b_;  // side a's and side b's socket
  UniqueFd memfd_;  // the region, until side a passes it on (side b's copy is dropped)
};

UnixMemfdChannel::UnixMemfdChannel(const ChannelConfig& cfg)
    : pattern_(cfg.pattern), wait_(cfg.wait) {
  std::tie(a_, b_) = unix_socket_pair(SOCK_STREAM);
  if (cfg.msg_bytes > kInlineMaxBytes) {
    layout_.slot_bytes = (cfg.msg_bytes + kSlotAlignBytes - 1) / kSlotAlignBytes * kSlotAlignBytes;
    layout_.slots = static_cast<std::uint32_t>(cfg.capacity_msgs);
  }
  fit_buffers(cfg);
  memfd_ = create_region(region_bytes(layout_, pattern_));
}

void UnixMemfdChannel::fit_buffers(const ChannelConfig& cfg) {
  const int both[] = {a_.get(), b_.get()};
  const auto set = [&](std::uint64_t bytes) { return set_socket_buffers(both, bytes); };
  if (layout_.slots == 0) {  // inline: the socket holds the messages, header and all
    ChannelConfig framed = cfg;
    framed.msg_bytes = cfg.msg_bytes + sizeof(Frame);
    granted_ = fit_capacity(framed, set, a_.get(), b_.get());
    return;
  }
  // Large: the slots hold the messages; the socket must hold a descriptor frame for
  // each slot one way and an ack for each the other, or both sides could block in
  // a send with the other's frames unread. A buffer that holds fewer gets fewer slots.
  ChannelConfig frames = cfg;
  frames.msg_bytes = sizeof(Frame);
  const Granted socket = fit_capacity(frames, set, a_.get(), b_.get());
  layout_.slots = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(layout_.slots, std::max<std::uint64_t>(socket.capacity_msgs, 1)));
  granted_ = {.capacity_msgs = layout_.slots, .capacity_bytes = layout_.area_bytes(), .detail = {}};
}

std::unique_ptr<Endpoint> UnixMemfdChannel::open(Side side) {
  UniqueFd sock = std::move(side == Side::a ? a_ : b_);
  UniqueFd memfd = std::move(memfd_);
  forked();  // the other side's socket
  const std::size_t bytes = region_bytes(layout_, pattern_);
  if (side == Side::a) {
    send_region(sock.get(), memfd.get(), bytes);
  } else {
    memfd = receive_region(sock.get(), bytes);  // the inherited copy is closed here
  }
  Mapping region = map_shared(bytes, memfd.get(), /*populate=*/true);
  return std::make_unique<MemfdEndpoint>(std::move(sock), std::move(region), layout_, side, wait_);
}

}  // namespace

const Mechanism kUnixMemfd{
    .name = "unix_memfd",
    .summary =
        "hybrid (ALPC, Mojo, Wayland): <= 256 B inline over a Unix stream socket, larger in "
        "memfd slots passed once with SCM_RIGHTS, acked per message",
    .capacity_knob =
        "<= 256 B: SO_SNDBUF = SO_RCVBUF grown until capacity frames fit (probed); larger: "
        "memfd slots = capacity per direction, socket fitted to capacity slot frames",
    .order = 140,
    .family = kFamilySharedMemory,
    .transport = "unix_stream",
    .create = create_channel<UnixMemfdChannel>,
};
const Registration kUnixMemfdRegistration{kUnixMemfd};

}  // namespace ipcbench
