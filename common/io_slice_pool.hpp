// The bounded I/O memory of one lane: every LUN and frontend the lane serves takes the payload
// buffer of each request from here, sized to the request, and gives it back when the request is
// done. The memory is a few large chunks, each registered once by the transport (iSER: one memory
// region per chunk and connection), so a READ still lands by RDMA Write straight into it. The
// cap bounds the chunks: memory grows with the configured cap, not with LUNs x queue depth x max
// I/O. Chunks are added only when the ones there are cannot serve a request (and kept after), so
// a lane whose I/O is small and shallow pins one chunk, not the whole cap. A slice never spans
// two chunks: max_slice() is the largest request the pool serves.
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
#include <functional>
#include <vector>

#include "common/block_backend.hpp"
#include "common/result.hpp"

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
    // Makes a new chunk of `bytes` (page aligned, registered with the transport), or says why not.
    using Grow = std::function<Result<IoMemory>(std::size_t bytes)>;

    // Carves `region` (page aligned, a multiple of kGranule; owned by the caller, outlives the
    // pool) as one chunk that never grows.
    explicit IoSlicePool(IoMemory region);
    // Up to `capacity` bytes in chunks of first.size bytes (the last one maybe smaller), made by
    // `grow` on demand; `first` is the first chunk. A chunk `grow` cannot make is not asked for
    // again: the pool then serves from what it has.
    IoSlicePool(std::size_t capacity, IoMemory first, Grow grow);
    IoSlicePool(const IoSlicePool&) = delete;
    IoSlicePool& operator=(const IoSlicePool&) = delete;

    std::size_t capacity() const { return capacity_; }
    std::size_t max_slice() const { return chunk_bytes_; }  // the largest request it serves

    // A slice of `bytes` now, or nullptr: then `waiter` is queued and slice_granted() runs once
    // a slice is free (from inside some release()). `bytes` must be 1..max_slice().
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
        std::size_t committed = 0;    // bytes in chunks made so far
        std::uint64_t grow_failures = 0;
    };
    const Stats& stats() const { return stats_; }

private:
    struct Chunk {
        std::uint8_t* base = nullptr;
        std::size_t first = 0;  // its first granule
        std::size_t count = 0;  // its granules
    };
    std::size_t granules(std::size_t bytes) const { return (bytes + kGranule - 1) / kGranule; }
    std::uint8_t* take(std::size_t count);  // next fit from the hint; nullptr if no run is free
    std::uint8_t* take_or_grow(std::size_t count);
    bool add_chunk(IoMemory memory);
    void mark(std::size_t first, std::size_t count, bool used);
    void grant_waiters();

    std::size_t capacity_ = 0;
    std::size_t chunk_bytes_ = 0;
    Grow grow_;
    bool grow_failed_ = false;
    std::vector<Chunk> chunks_;          // in the order made; granule numbers follow that order
    std::size_t total_ = 0;              // granules in the chunks made so far
    std::vector<std::uint64_t> used_;    // one bit per granule
    std::size_t hint_ = 0;               // where the next search starts (next fit)
    IoSliceWaiter* head_ = nullptr;
    IoSliceWaiter* tail_ = nullptr;
    bool granting_ = false;
    Stats stats_;
};

}  // namespace iser
