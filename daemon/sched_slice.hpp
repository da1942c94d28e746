// The scheduler slice a queue thread asks for. Linux 6.12's EEVDF scheduler lets a SCHED_OTHER
// thread request a shorter slice (sched_attr.sched_runtime, 0.1-100 ms); a thread with a shorter
// slice gets an earlier deadline and so preempts a longer-sliced task (a kworker, the submitter)
// when a request or a completion wakes it, instead of waiting out that task's slice. Older
// kernels ignore the request. Real-time scheduling would preempt too, but a queue thread does
// rxe's protocol work inline in ibv_post_send, and at real-time priority that starved the
// kworkers that complete its I/O (QD32 fell by 70% in the lab).
// Opt-in (ISER_QUEUE_SLICE_US=N): in the lab (2 vCPUs shared with the target, ABBA pairs in one
// boot) 300 us won 5-8% at 4k QD1 in each of 4 pairs and nothing at QD32; in a second boot, 3
// pairs, nothing at either; 100 us nothing. Too little to change how every daemon's threads are
// scheduled.
#pragma once
#include <chrono>

#include "common/result.hpp"

namespace iser::daemon {

// For the calling thread; a zero slice asks for the kernel's default again.
Status request_scheduler_slice(std::chrono::microseconds slice);

// ISER_QUEUE_SLICE_US from the environment, else the default (0: the kernel's default slice);
// an error for a value that is not a number of microseconds from 0 to 100000.
Result<std::chrono::microseconds> queue_slice_from_env();
inline constexpr std::chrono::microseconds kDefaultQueueSlice{0};

}  // namespace iser::daemon
