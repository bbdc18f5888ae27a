// shm_mpmc: a bounded lock-free multi-producer, multi-consumer queue in shared memory,
// for compete: several consumer processes open side b of one channel and take its
// messages, each message going to exactly one of them; any number of producers may
// open side a (fanin) too. Stream, fanin and compete only (no pingpong).
//
// The queue is shm_mpsc's (mechanisms/shm_mpsc.hpp), with consumers that claim their
// positions by CAS on the queue's head as producers do on its tail (Vyukov's MPMC
// queue): what it guarantees, its cost, how it waits (block: futex, any number of
// sleepers on either side; spin) and what a member killed mid-message does are there.
// With one consumer it does what shm_mpsc does, plus a CAS per message on head.
// Capacity: slots = capacity, exactly (as shm_ring); each slot holds one whole message.
// Backing, names, cleanup: as shm_ring (harness/shared_region.hpp): the region is
// created owner-only and nameless before create() returns.
// Timed: the claim, the copy into the slot, the publish, the poll or futex wait, the
// consumer's claim, the copy out.
#include "harness/registry.hpp"
#include "mechanisms/shm_queue_channel.hpp"

namespace ipcbench {
namespace {

constexpr char kName[] = "shm_mpmc";

}  // namespace

const Mechanism kShmMpmc{
    .name = kName,
    .summary =
        "lock-free bounded multi-producer, multi-consumer queue in shared memory (Vyukov: CAS "
        "on tail and head, seq per slot; futex for block; --backing)",
    .capacity_knob = "queue slots = capacity, exactly (each slot holds one whole message)",
    .order = 165,
    .family = kFamilySharedMemory,
    .pingpong = false,
    .uses_backing = true,
    .many_writers = true,
    .many_readers = true,
    .create = create_channel<mpsc::QueueChannel<mpsc::SharedConsumer, kName>>,
};
const Registration kShmMpmcRegistration{kShmMpmc};

}  // namespace ipcbench
