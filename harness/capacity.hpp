#pragma once
// A channel's capacity: the per-channel limit, the kernel buffer knobs, and fitting a
// knob until `capacity` whole messages fit, measured by a probe rather than estimated
// from byte counts.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "harness/channel.hpp"

namespace ipcbench {

// Largest kernel buffer ipcbench asks for on one channel; beyond it the case is not
// runnable (filling it to probe the capacity would take seconds and the memory).
inline constexpr std::uint64_t kMaxChannelBytes = 256ull << 20;
// capacity_msgs * msg_bytes, or NotRunnable past kMaxChannelBytes.
std::uint64_t requested_channel_bytes(const ChannelConfig& cfg);
// The most messages a case may ask a channel to hold (--capacities).
inline constexpr std::uint64_t kMaxCapacityMsgs = 1ull << 20;

// Two requested capacities are the harness's, not a mechanism's (harness/case_channel.hpp):
//   0     a rendezvous: the channel is made with capacity 1 and the producer waits
//         after each send until the consumer has taken the message (harness/rendezvous.hpp)
//   max   as much as the machine allows (kCapacityMax; "capacity:max" in case names):
//         the channel is asked for max_capacity_msgs() and every knob stops at its bound
//         instead of refusing, naming it in Granted::detail
inline constexpr std::size_t kCapacityMax = SIZE_MAX;
// What `max` asks for: kMaxCapacityMsgs, or fewer so that they fit kMaxChannelBytes with
// kMaxFramingBytes each to spare (a mechanism's own header, tcp's length prefix); 0 when
// not one message of msg_bytes does.
inline constexpr std::size_t kMaxFramingBytes = 64;
std::uint64_t max_capacity_msgs(std::size_t msg_bytes) noexcept;
// "0", "16", "max": a requested capacity as case names and --help spell it.
std::string capacity_text(std::size_t capacity_msgs);

// Orchestrator only, while one channel is made (harness/case_channel.cpp): the knob
// setters below note the bound they stopped at ("fs.pipe-max-size = 1048576 B"), and,
// for capacity `max` (clamp = true), the socket buffers stop at net.core.wmem_max and
// rmem_max instead of making the case not runnable. The scope's bound() is the last note.
class CapacityBoundScope {
 public:
  explicit CapacityBoundScope(bool clamp);
  ~CapacityBoundScope();
  CapacityBoundScope(const CapacityBoundScope&) = delete;
  CapacityBoundScope& operator=(const CapacityBoundScope&) = delete;
  const std::string& bound() const noexcept;
};
// Notes `bound` for the current CapacityBoundScope (ignored outside one).
void note_capacity_bound(std::string bound);
// True while a channel is made for capacity `max`: a mechanism that would refuse a
// channel holding fewer messages than asked keeps it (and may note its bound).
bool capacity_clamps() noexcept;

// Counts the whole messages of msg_bytes that write_fd accepts before it would block,
// then reads them back out of read_fd, leaving the channel empty. This measures the
// granted capacity in messages instead of estimating it from byte counts: kernels
// account per-buffer overhead (pipe pages, socket skbs) that byte counts hide.
// `accepted_bytes`, when given, receives every byte write_fd took, a last partial
// message included: the size of a buffer that has no knob to report.
std::uint64_t probe_capacity_msgs(int write_fd, int read_fd, std::size_t msg_bytes,
                                  std::uint64_t* accepted_bytes = nullptr);

// Sets a kernel buffer knob so that at least cfg.capacity_msgs whole messages fit:
// starts at capacity x size bytes, probes, and grows the request by the shortfall
// (kernels charge per-buffer overhead that byte counts hide: a 64-byte message costs
// a unix socket ~800 bytes of SO_SNDBUF). `set_bytes(request)` applies the knob and
// returns the granted bytes; it may throw NotRunnable. When growing hits a limit (a
// refusal, or a grant that no longer grows: a knob clamped at its bound), the best
// grant is kept and its real message count recorded, never inflated.
Granted fit_capacity(const ChannelConfig& cfg,
                     const std::function<std::uint64_t(std::uint64_t)>& set_bytes, int write_fd,
                     int read_fd);
// The same with a mechanism's own probe (returns whole messages the channel holds).
Granted fit_capacity(const ChannelConfig& cfg,
                     const std::function<std::uint64_t(std::uint64_t)>& set_bytes,
                     const std::function<std::uint64_t()>& probe);

// The kernel buffer knobs the descriptor mechanisms hand to fit_capacity.

// Sets a pipe's (or FIFO's) buffer with F_SETPIPE_SZ; returns what the kernel granted
// (rounded up to pages). Past fs.pipe-max-size without CAP_SYS_RESOURCE it sets
// fs.pipe-max-size instead (the caller probes and records what that holds);
// NotRunnable when even that, or the per-user pipe allowance, is refused.
std::uint64_t set_pipe_size(int fd, std::uint64_t bytes);

// Sets SO_SNDBUF and SO_RCVBUF to `bytes` on every socket in fds; returns fds[0]'s
// granted SO_SNDBUF (the kernel doubles the request for bookkeeping). Past
// net.core.wmem_max/rmem_max the kernel would cap silently, so SO_*BUFFORCE is used
// there (CAP_NET_ADMIN), and without the privilege the case is NotRunnable (for capacity
// `max`: the buffers stop at the sysctl, and the bound is noted).
std::uint64_t set_socket_buffers(std::span<const int> fds, std::uint64_t bytes);

// Message queues whose depth an unprivileged user cannot raise past a sysctl: a
// capacity past it is clamped to it rather than made not runnable, so a default run
// on a stock kernel (fs.mqueue.msg_max = 10, kernel.msgmnb = 16384) keeps these
// mechanisms. The case keeps the requested capacity in its name (stable across
// machines); capacity_effective records what was granted, as for every mechanism.
// A message larger than the kernel's per-message maximum stays not runnable: that is
// the size, which no capacity fixes.

// Both note the bound when they clamp (note_capacity_bound).
// posix_mq: the mq_maxmsg to ask for again after mq_open refused `capacity_msgs` with
// EINVAL under fs.mqueue.msg_max = `msg_max`; 0 when clamping cannot help (within the
// limit already: the size was refused).
std::uint64_t mq_maxmsg_within(std::uint64_t capacity_msgs, std::uint64_t msg_max);
// sysv_msg: msg_qbytes for capacity x size, at most kernel.msgmnb = `msgmnb`; 0 when not
// one message of msg_bytes fits.
std::uint64_t msg_qbytes_within(std::uint64_t capacity_msgs, std::uint64_t msg_bytes,
                                std::uint64_t msgmnb);

}  // namespace ipcbench
