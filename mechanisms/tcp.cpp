// tcp: a loopback TCP connection, length-prefixed frames, one connection used in both
// directions for pingpong.
//
// Setup: the orchestrator listens on 127.0.0.1 with an ephemeral port, connects,
// accepts and closes the listener before any child exists: nothing listens during a
// run, and nothing is bound to any address but loopback. TCP_NODELAY on both ends, so
// a small message leaves at once instead of waiting for Nagle's timer. The channel is
// harness/inet.cpp's, shared with tcp_netns (which puts the two sides in two network
// namespaces instead of on one loopback).
// Framing: [u32 length][payload] (FramedStreamEndpoint): one writev per message; the
// receiver reads through a 64 KiB staging buffer, so one read may deliver many small
// frames, as a real framed protocol does.
// Capacity: SO_SNDBUF and SO_RCVBUF on both sockets, starting at capacity x frame bytes
// (setting them turns off the kernel's buffer autotuning). Data in flight sits in the
// sender's and the receiver's buffers; fit_capacity() probes how many frames fit and
// grows the buffers until `capacity` do. capacity_bytes is the sender's SO_SNDBUF.
// Wait: block = blocking read/write; spin = O_NONBLOCK, retrying EAGAIN.
// Nothing named: nothing to leak.
#include "harness/inet.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

std::unique_ptr<Channel> create_tcp(const ChannelConfig& cfg) {
  return make_tcp_channel(cfg, loopback_sides());
}

}  // namespace

const Mechanism kTcp{
    .name = "tcp",
    .summary = "loopback TCP (127.0.0.1, TCP_NODELAY), length-prefixed frames",
    .capacity_knob = "SO_SNDBUF = SO_RCVBUF, grown until capacity frames fit (probed)",
    .order = 400,
    .family = kFamilyNetwork,
    .create = create_tcp,
};
const Registration kTcpRegistration{kTcp};

}  // namespace ipcbench
