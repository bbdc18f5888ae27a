#pragma once
// The channel a case asks its mechanism for, from the capacity it requested. Two
// capacities are the harness's, not the mechanism's (harness/capacity.hpp):
//   0    a rendezvous over a capacity-1 channel (harness/rendezvous.hpp)
//   max  as much as the machine allows, each knob stopping at its bound
// and every case's Granted::detail names the bound a knob stopped at, when one did.
#include <memory>

#include "harness/channel.hpp"

namespace ipcbench {

// Orchestrator only. `asked` is the case's configuration (a rate case's pattern is
// made a stream's by the caller). Fills `granted` with what the channel granted, as the
// case records it: at capacity 0 capacity_msgs = 0 (the channel's own bytes are kept),
// and the detail says how each message was acknowledged. Throws NotRunnable with the
// reason (a mechanism that may lose messages at capacity 0; anything the mechanism
// refuses), SysError when a call fails.
std::unique_ptr<Channel> open_case_channel(const Mechanism& m, const ChannelConfig& asked,
                                           Granted& granted);

}  // namespace ipcbench
