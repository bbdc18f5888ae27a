#pragma once
// The mechanisms, each registered from its own file: adding one is copying a file in
// mechanisms/ and renaming what it defines (docs/adding-a-mechanism.md). Nothing else
// names it: the build picks up every mechanisms/*.cpp, and the file registers itself
// during static initialisation, before main:
//
//   const Mechanism kPipe{.name = "pipe", ..., .order = 200, .family = kFamilyByteStream,
//                         .create = create_channel<PipeChannel>};
//   const Registration kPipeRegistration{kPipe};
//
// The list is kept sorted by (order, name) as mechanisms arrive, so `ipcbench list`,
// the suite and the conformance tests see one stable order whatever the link order.
#include <memory>
#include <span>
#include <string_view>

#include "harness/channel.hpp"

namespace ipcbench {

// Every registered mechanism, sorted by (order, name). Call it from main or later
// (after static initialisation), never from another static initialiser.
std::span<const Mechanism* const> mechanisms();
// nullptr when no mechanism has that name.
const Mechanism* find_mechanism(std::string_view name);

// Adds m, which must live as long as the program (a namespace-scope const). Throws
// std::logic_error, before changing anything, when m has no name or no create, or
// when another mechanism already has its name (a file copied without renaming it):
// from a static initialiser that ends the program at start-up with that message.
void register_mechanism(const Mechanism& m);

// Registers a mechanism from its own file, as a namespace-scope object defined after
// the Mechanism it names.
class Registration {
 public:
  explicit Registration(const Mechanism& m) { register_mechanism(m); }
};

// Orchestrator only: the one way the harness makes a channel. Refuses a channel over
// the per-channel limit (NotRunnable, as requested_channel_bytes), then calls
// m.create(cfg): no mechanism checks the limit itself.
std::unique_ptr<Channel> open_channel(const Mechanism& m, const ChannelConfig& cfg);

}  // namespace ipcbench
