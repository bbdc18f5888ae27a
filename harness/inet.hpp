#pragma once
// The IP channels: a TCP connection and a pair of connected UDP sockets, each side's
// socket made where the mechanism says (its network namespace) and bound to the
// address it says. tcp and udp put both sides on this namespace's loopback;
// tcp_netns and udp_netns put each side in a network namespace of its own, joined by
// a veth pair (mechanisms/netns.cpp). Everything is set up in the orchestrator before
// any child exists (a socket keeps the namespace it was made in, whoever uses it
// later), so the capacity probe sees the same two sockets the children will use.
#include <netinet/in.h>

#include <functional>
#include <memory>

#include "harness/fdio.hpp"

namespace ipcbench {

// Where an IP channel's two sockets live.
struct InetSides {
  // Makes a socket (SOCK_STREAM or SOCK_DGRAM, AF_INET) in side a's (b's) namespace.
  std::function<UniqueFd(int type)> socket_a, socket_b;
  in_addr addr_a{}, addr_b{};  // the address each side binds to (port: ephemeral)
};

// Both sides in the caller's network namespace on 127.0.0.1: tcp, udp.
InetSides loopback_sides();

// Side b listens on addr_b (ephemeral port) and side a connects; the connection is
// accepted and the listener closed before create() returns, so nothing listens during a
// run. TCP_NODELAY on both ends; length-prefixed frames (FramedStreamEndpoint);
// capacity is SO_SNDBUF = SO_RCVBUF, grown until `capacity` frames fit.
std::unique_ptr<Channel> make_tcp_channel(const ChannelConfig& cfg, const InetSides& sides);

// Two UDP sockets bound to addr_a and addr_b (ephemeral ports), each connect()ed to the
// other; one datagram per message (MessageFdEndpoint). NotRunnable past 65,507 bytes.
// Capacity is SO_RCVBUF (and SO_SNDBUF), grown until the receiver holds `capacity`
// datagrams (probed by a burst: a full UDP receiver drops instead of blocking).
std::unique_ptr<Channel> make_udp_channel(const ChannelConfig& cfg, const InetSides& sides);

}  // namespace ipcbench
