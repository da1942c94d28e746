// Bookkeeping of the iSER send ring, without any RDMA (so the unit tests check it on any host).
// Positions count up modulo 2^32; the slot of a position is position % size. Positions in
// [tail, posted) are on the send queue, [posted, head) are chained and waiting to be posted.
// Sends are signaled selectively: an RC send queue completes in order, so one completion (a
// signaled success, or any flushed error) frees every position up to and including its own.
#pragma once
#include <cstdint>

namespace iser::datamover {

class SendRing {
public:
    // `start`: the first position (the tests start near 2^32 to cross the wrap).
    void reset(std::uint32_t size, std::uint32_t signal_interval, std::uint32_t start = 0) {
        size_ = size;
        interval_ = signal_interval;
        head_ = posted_ = tail_ = start;
        since_signaled_ = 0;
    }
    std::uint32_t size() const { return size_; }
    std::uint32_t free() const { return size_ - (head_ - tail_); }
    std::uint32_t slot(std::uint32_t pos) const { return pos % size_; }
    bool has_unposted() const { return posted_ != head_; }
    bool has_outstanding() const { return posted_ != tail_; }  // posted, completion not seen
    std::uint32_t first_unposted() const { return posted_; }

    struct Reserved {
        std::uint32_t pos;
        bool signal;        // ask for a completion
        bool links_previous;  // the previous position is in the same unposted chain
    };
    // Takes the next position (free() must be > 0). Signals one in `interval`, and every send
    // once fewer than `interval` slots are left: the ring can never fill up with sends that
    // nobody will report complete.
    Reserved reserve() {
        const std::uint32_t pos = head_++;
        bool signal = ++since_signaled_ >= interval_ || free() < interval_;
        if (signal) since_signaled_ = 0;
        return Reserved{pos, signal, pos != posted_};
    }
    void mark_posted() { posted_ = head_; }
    void drop_unposted() { head_ = posted_; }
    // A completion for `pos`: frees it and everything before it. Ignores positions not posted.
    void complete(std::uint32_t pos) {
        if (pos - tail_ < posted_ - tail_) tail_ = pos + 1;
    }

private:
    std::uint32_t size_ = 0, interval_ = 1;
    std::uint32_t head_ = 0, posted_ = 0, tail_ = 0, since_signaled_ = 0;
};

}  // namespace iser::datamover
