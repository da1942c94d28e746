#include "common/io_slice_pool.hpp"

#include <algorithm>

namespace iser {

IoSlicePool::IoSlicePool(IoMemory region) : IoSlicePool(region.size, region, nullptr) {}

IoSlicePool::IoSlicePool(std::size_t capacity, IoMemory first, Grow grow)
    : capacity_(std::max(capacity, first.size)), chunk_bytes_(first.size / kGranule * kGranule), grow_(std::move(grow)) {
    // Every granule the cap allows has a bit; those of chunks not made yet stay marked used.
    const std::size_t all = capacity_ / kGranule;
    used_.assign((all + 63) / 64, ~0ull);
    chunks_.reserve(chunk_bytes_ ? (all * kGranule + chunk_bytes_ - 1) / chunk_bytes_ : 1);
    add_chunk(first);
}

bool IoSlicePool::add_chunk(IoMemory memory) {
    const std::size_t count = memory.size / kGranule;
    if (count == 0 || total_ + count > capacity_ / kGranule) return false;
    chunks_.push_back({memory.base, total_, count});
    mark(total_, count, false);
    total_ += count;
    stats_.committed += count * kGranule;
    return true;
}

void IoSlicePool::mark(std::size_t first, std::size_t count, bool used) {
    for (std::size_t i = first; i < first + count; ++i) {
        if (used) used_[i / 64] |= 1ull << (i % 64);
        else used_[i / 64] &= ~(1ull << (i % 64));
    }
}

std::uint8_t* IoSlicePool::take(std::size_t count) {
    const std::size_t per_chunk = chunk_bytes_ / kGranule;
    if (count == 0 || count > per_chunk || total_ == 0) return nullptr;
    // Next fit: scan from the hint, wrapping once. Full words are skipped 64 granules at a time.
    // A run starts over at each chunk boundary: chunks are not contiguous in memory.
    std::size_t scanned = 0, g = hint_ < total_ ? hint_ : 0;
    std::size_t run_start = g, run = 0;
    while (scanned < total_ + count) {
        if (g >= total_) {  // wrap: a run cannot continue across the end
            g = 0;
            run = 0;
            run_start = 0;
        }
        if (g % per_chunk == 0) {
            run = 0;
            run_start = g;
        }
        const std::uint64_t word = used_[g / 64];
        if (g % 64 == 0 && word == ~0ull) {
            run = 0;
            g += 64;
            scanned += 64;
            run_start = g;
            continue;
        }
        if (word & (1ull << (g % 64))) {
            run = 0;
            run_start = g + 1;
        } else if (++run == count) {
            mark(run_start, count, true);
            hint_ = run_start + count;
            const Chunk& c = chunks_[run_start / per_chunk];
            return c.base + (run_start - c.first) * kGranule;
        }
        ++g;
        ++scanned;
    }
    return nullptr;
}

// What the chunks there are cannot serve, a new chunk may (while the cap allows one).
std::uint8_t* IoSlicePool::take_or_grow(std::size_t count) {
    if (std::uint8_t* slice = take(count)) return slice;
    while (grow_ && !grow_failed_ && total_ < capacity_ / kGranule) {
        const std::size_t bytes = std::min(chunk_bytes_, capacity_ / kGranule * kGranule - total_ * kGranule);
        if (bytes / kGranule < count) return nullptr;  // the last, smaller chunk cannot hold it
        auto memory = grow_(bytes);
        if (!memory || !add_chunk(*memory)) {
            grow_failed_ = true;  // never asked again: serve from what there is
            ++stats_.grow_failures;
            return nullptr;
        }
        if (std::uint8_t* slice = take(count)) return slice;
    }
    return nullptr;
}

std::uint8_t* IoSlicePool::acquire(std::size_t bytes, IoSliceWaiter& waiter) {
    const std::size_t count = granules(bytes);
    // Behind waiters a request waits too, however small: first come, first served.
    std::uint8_t* slice = head_ ? nullptr : take_or_grow(count);
    if (slice) {
        stats_.in_use += count * kGranule;
        stats_.peak = std::max(stats_.peak, stats_.in_use);
        ++stats_.acquired;
        return slice;
    }
    waiter.want_ = bytes;
    waiter.next_ = nullptr;
    waiter.waiting_ = true;
    (tail_ ? tail_->next_ : head_) = &waiter;
    tail_ = &waiter;
    ++stats_.waits;
    ++stats_.waiting;
    return nullptr;
}

void IoSlicePool::release(std::uint8_t* slice, std::size_t bytes) {
    const std::size_t count = granules(bytes);
    for (const Chunk& c : chunks_) {
        if (slice < c.base || slice >= c.base + c.count * kGranule) continue;
        mark(c.first + std::size_t(slice - c.base) / kGranule, count, false);
        break;
    }
    stats_.in_use -= count * kGranule;
    if (head_) grant_waiters();
}

void IoSlicePool::grant_waiters() {
    if (granting_) return;  // a grantee released a slice from its callback: the loop below goes on
    granting_ = true;
    while (head_) {
        IoSliceWaiter* w = head_;
        const std::size_t count = granules(w->want_);
        std::uint8_t* slice = take_or_grow(count);
        if (!slice) break;  // the head does not fit yet: nobody overtakes it
        head_ = w->next_;
        if (!head_) tail_ = nullptr;
        w->next_ = nullptr;
        w->waiting_ = false;
        --stats_.waiting;
        stats_.in_use += count * kGranule;
        stats_.peak = std::max(stats_.peak, stats_.in_use);
        ++stats_.acquired;
        w->slice_granted(slice);
    }
    granting_ = false;
}

void IoSlicePool::cancel(IoSliceWaiter& waiter) {
    if (!waiter.waiting_) return;
    IoSliceWaiter** link = &head_;
    IoSliceWaiter* prev = nullptr;
    while (*link && *link != &waiter) {
        prev = *link;
        link = &(*link)->next_;
    }
    if (!*link) return;
    *link = waiter.next_;
    if (tail_ == &waiter) tail_ = prev;
    waiter.next_ = nullptr;
    waiter.waiting_ = false;
    --stats_.waiting;
    if (head_) grant_waiters();  // the cancelled one may have been the head that blocked others
}

}  // namespace iser
