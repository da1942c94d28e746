// Bookkeeping of the memory-window work requests (binds and local invalidates) that share the
// send queue with the ring's Sends, without any RDMA (so the unit tests check it on any host).
// They are posted unsignaled, and an RC send queue gives their entries back only when a later
// signaled work request completes. So each signaled request carries mark(): the count of window
// requests posted before it; its completion hands that count to reclaimed(). The send queue is
// sized for the ring plus capacity() of these; a window request that does not fit waits.
// Counts run modulo 2^32.
#pragma once
#include <cstdint>

namespace iser::datamover {

class ExtraWrBudget {
public:
    void reset(std::uint32_t capacity, std::uint32_t start = 0) {
        capacity_ = capacity;
        posted_ = reclaimed_ = start;
    }
    std::uint32_t capacity() const { return capacity_; }
    std::uint32_t in_flight() const { return posted_ - reclaimed_; }
    bool fits(std::uint32_t n) const { return in_flight() + n <= capacity_; }
    // Past half the budget, the next request posted asks for a completion, so the entries come
    // back before the budget runs out (nothing else may be signaled for a while).
    bool wants_signal() const { return in_flight() * 2 >= capacity_; }
    void take(std::uint32_t n) { posted_ += n; }
    std::uint32_t mark() const { return posted_; }
    // A signaled request that carried `mark` completed: everything posted before it is done.
    // Marks older than what is already reclaimed are ignored.
    void reclaimed(std::uint32_t mark) {
        if (mark - reclaimed_ <= posted_ - reclaimed_) reclaimed_ = mark;
    }

private:
    std::uint32_t capacity_ = 0, posted_ = 0, reclaimed_ = 0;
};

}  // namespace iser::datamover
