#include "harness/registry.hpp"

namespace ipcbench {

extern const Mechanism kShmRing;
extern const Mechanism kShmLocked;
extern const Mechanism kBoostMq;
extern const Mechanism kPipe;
extern const Mechanism kFifo;
extern const Mechanism kUnixStream;
extern const Mechanism kUnixSeqpacket;
extern const Mechanism kUnixDgram;
extern const Mechanism kPosixMq;
extern const Mechanism kSysvMsg;
extern const Mechanism kTcp;
extern const Mechanism kUdp;
extern const Mechanism kRpcTcp;
extern const Mechanism kRpcUnix;

namespace {
// The order `ipcbench list` shows and the suite runs: shared memory, kernel byte
// streams, kernel messages, the network stack, RPC.
const Mechanism* const kAll[] = {
    &kShmRing,
    &kShmLocked,
    &kBoostMq,
    &kPipe,
    &kFifo,
    &kUnixStream,
    &kUnixSeqpacket,
    &kUnixDgram,
    &kPosixMq,
    &kSysvMsg,
    &kTcp,
    &kUdp,
    &kRpcTcp,
    &kRpcUnix,
};
}  // namespace

std::span<const Mechanism* const> mechanisms() { return kAll; }

const Mechanism* find_mechanism(std::string_view name) {
  for (const Mechanism* m : kAll) {
    if (m->name == name) return m;
  }
  return nullptr;
}

std::string_view to_string(Pattern p) noexcept {
  switch (p) {
    case Pattern::pingpong: return "pingpong";
    case Pattern::stream: return "stream";
    case Pattern::rate: return "rate";
  }
  return "?";
}
std::string_view to_string(WaitMode w) noexcept { return w == WaitMode::block ? "block" : "spin"; }

}  // namespace ipcbench
