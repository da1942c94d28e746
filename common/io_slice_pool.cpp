#include "common/io_slice_pool.hpp"

#include <algorithm>

namespace iser {

IoSlicePool::IoSlicePool(IoMemory region) : region_(region), total_(region.size / kGranule), used_((total_ + 63) / 64, 0) {
    // Granules past the end of the region in the last word are marked used: never handed out.
    for (std::size_t g = total_; g < used_.size() * 64; ++g) used_[g / 64] |= 1ull << (g % 64);
}

std::uint8_t* IoSlicePool::take(std::size_t count) {
    if (count == 0 || count > total_) return nullptr;
    // Next fit: scan from the hint, wrapping once. Full words are skipped 64 granules at a time.
    std::size_t scanned = 0, g = hint_ < total_ ? hint_ : 0;
    std::size_t run_start = g, run = 0;
    while (scanned < total_ + count) {
        if (g >= total_) {  // wrap: a run cannot continue across the end
            g = 0;
            run = 0;
            run_start = 0;
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
            for (std::size_t i = run_start; i < run_start + count; ++i) used_[i / 64] |= 1ull << (i % 64);
            hint_ = run_start + count;
            return region_.base + run_start * kGranule;
        }
        ++g;
        ++scanned;
    }
    return nullptr;
}

std::uint8_t* IoSlicePool::acquire(std::size_t bytes, IoSliceWaiter& waiter) {
    const std::size_t count = granules(bytes);
    // Behind waiters a request waits too, however small: first come, first served.
    std::uint8_t* slice = head_ ? nullptr : take(count);
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
    const std::size_t first = std::size_t(slice - region_.base) / kGranule;
    for (std::size_t i = first; i < first + count; ++i) used_[i / 64] &= ~(1ull << (i % 64));
    stats_.in_use -= count * kGranule;
    if (head_) grant_waiters();
}

void IoSlicePool::grant_waiters() {
    if (granting_) return;  // a grantee released a slice from its callback: the loop below goes on
    granting_ = true;
    while (head_) {
        IoSliceWaiter* w = head_;
        const std::size_t count = granules(w->want_);
        std::uint8_t* slice = take(count);
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
