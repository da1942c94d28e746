// The bounded I/O memory of one lane: every LUN and frontend the lane serves takes the payload
// buffer of each request from here, sized to the request, and gives it back when the request is
// done. The memory is one region, so a transport registers it once (iSER: one memory region per
// connection) and a READ still lands by RDMA Write straight into it. The region's size is the
// cap: memory grows with the configured cap, not with LUNs x queue depth x max I/O.
//
// When the region is full a request waits (backpressure), never fails: waiters are granted in
// arrival order as slices come back, and a large request at the head is not overtaken by smaller
// ones behind it (it would starve). Requests larger than the whole region are refused (the
// frontends never send them: the device's max I/O is capped to the region).
//
// Threading: one pool per lane, used only on that lane's loop thread. No locks. Grants run the
// waiter's callback from inside release().
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/block_backend.hpp"

namespace iser {

class IoSliceWaiter {
public:
    // The slice (of the size asked for) is now the waiter's.
    virtual void slice_granted(std::uint8_t* slice) = 0;

protected:
    ~IoSliceWaiter() = default;

private:
    friend class IoSlicePool;
    IoSliceWaiter* next_ = nullptr;
    std::size_t want_ = 0;
    bool waiting_ = false;
};

class IoSlicePool {
public:
    static constexpr std::size_t kGranule = 4096;

    // Carves `region` (page aligned, a multiple of kGranule; owned by the caller, outlives the pool).
    explicit IoSlicePool(IoMemory region);
    IoSlicePool(const IoSlicePool&) = delete;
    IoSlicePool& operator=(const IoSlicePool&) = delete;

    const IoMemory& region() const { return region_; }
    std::size_t capacity() const { return region_.size; }

    // A slice of `bytes` now, or nullptr: then `waiter` is queued and slice_granted() runs once
    // a slice is free (from inside some release()). `bytes` must be 1..capacity().
    std::uint8_t* acquire(std::size_t bytes, IoSliceWaiter& waiter);
    // Gives a slice back (the same `bytes` it was asked with) and grants waiters it now fits.
    void release(std::uint8_t* slice, std::size_t bytes);
    // Takes a waiter out of the queue (a request abandoned while waiting); no-op otherwise.
    void cancel(IoSliceWaiter& waiter);

    struct Stats {
        std::size_t in_use = 0;       // bytes handed out now (rounded to kGranule)
        std::size_t peak = 0;         // most ever handed out at once
        std::uint64_t acquired = 0;   // slices handed out
        std::uint64_t waits = 0;      // requests that had to wait
        std::size_t waiting = 0;      // requests waiting now
    };
    const Stats& stats() const { return stats_; }

private:
    std::size_t granules(std::size_t bytes) const { return (bytes + kGranule - 1) / kGranule; }
    std::uint8_t* take(std::size_t count);  // first fit from the hint; nullptr if no run is free
    void grant_waiters();

    IoMemory region_;
    std::size_t total_ = 0;              // granules in the region
    std::vector<std::uint64_t> used_;    // one bit per granule
    std::size_t hint_ = 0;               // where the next search starts (next fit)
    IoSliceWaiter* head_ = nullptr;
    IoSliceWaiter* tail_ = nullptr;
    bool granting_ = false;
    Stats stats_;
};

}  // namespace iser
