// shm_mpsc: a bounded lock-free multi-producer, single-consumer queue in shared memory,
// for fan-in: any number of producer processes open side a of one channel and send at
// once; one consumer opens side b. Stream and fanin only (no pingpong).
//
// The queue, what it guarantees, its cost, how it waits (block: futex; spin) and what a
// producer killed mid-send does: shm_mpsc.hpp.
// Capacity: slots = capacity, exactly (as shm_ring); each slot holds one whole message.
// Backing, names, cleanup: as shm_ring (harness/shared_region.hpp): the region is
// created owner-only and nameless before create() returns.
// Timed: the claim, the copy into the slot, the publish, the poll or futex wait, the
// copy out.
#include "harness/registry.hpp"
#include "mechanisms/shm_queue_channel.hpp"

namespace ipcbench {
namespace {

constexpr char kName[] = "shm_mpsc";

}  // namespace

const Mechanism kShmMpsc{
    .name = kName,
    .summary =
        "lock-free bounded multi-producer queue in shared memory (Vyukov: CAS on tail, "
        "seq per slot; futex for block; --backing)",
    .capacity_knob = "queue slots = capacity, exactly (each slot holds one whole message)",
    .order = 160,
    .family = kFamilySharedMemory,
    .pingpong = false,
    .uses_backing = true,
    .many_writers = true,
    .create = create_channel<mpsc::QueueChannel<mpsc::Consumer, kName>>,
};
const Registration kShmMpscRegistration{kShmMpsc};

}  // namespace ipcbench
