// udp: two loopback UDP sockets (127.0.0.1, ephemeral ports), each connect()ed to the
// other, used in both directions for pingpong. One datagram per message. The channel
// is harness/inet.cpp's, shared with udp_netns.
//
// Semantics: UDP may drop. When the receiver's buffer is full, the kernel discards the
// datagram and the sender never knows, so a stream faster than its consumer loses
// messages. The mechanism declares may_lose: loss is counted and reported (lost_msgs,
// loss_ratio, and a label in the result), not counted as a harness error, and a
// stream still ends when its last message is lost (the producer repeats it).
// Reordering, duplication and corruption remain errors. Pingpong has one message in
// flight and does not retransmit: a lost request or reply would end the case at the
// watchdog's deadline (not seen on loopback).
// Size: at most 65,507 bytes per datagram (IPv4: 65,535 minus the IP and UDP headers);
// larger messages are not runnable. Fragmentation on loopback is invisible here.
// Capacity: SO_RCVBUF (and SO_SNDBUF) on both sockets, grown until the receiver holds
// `capacity` datagrams of the case's size (probed by sending a burst and counting what
// can be read back: a full UDP receiver drops instead of blocking the sender).
// Wait: block = blocking send/recv; spin = MSG_DONTWAIT, retrying EAGAIN.
// Nothing named; nothing listens: both sockets are bound and connected before fork.
#include "harness/inet.hpp"
#include "harness/registry.hpp"

namespace ipcbench {
namespace {

std::unique_ptr<Channel> create_udp(const ChannelConfig& cfg) {
  return make_udp_channel(cfg, loopback_sides());
}

}  // namespace

const Mechanism kUdp{
    .name = "udp",
    .summary = "loopback UDP (127.0.0.1), one datagram per message, loss counted not failed",
    .capacity_knob = "SO_RCVBUF (and SO_SNDBUF), grown until capacity datagrams fit (probed)",
    .order = 410,
    .family = kFamilyNetwork,
    .may_lose = true,
    .create = create_udp,
};
const Registration kUdpRegistration{kUdp};

}  // namespace ipcbench
