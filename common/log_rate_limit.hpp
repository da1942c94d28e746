// A bound on log lines that a peer can trigger at will (a target's Reject PDUs or Async
// Messages): at most `burst` lines per `window`, the rest counted and reported with the next
// line that gets through, so a flood costs a few lines, not the journal. One per owner thread.
#pragma once
#include <chrono>
#include <cstdint>

namespace iser {

class LogRateLimit {
public:
    using Clock = std::chrono::steady_clock;
    LogRateLimit(unsigned burst, std::chrono::milliseconds window) : burst_(burst), window_(window) {}

    // True: log this line. A false counts it as suppressed.
    bool allow(Clock::time_point now = Clock::now()) {
        if (now - window_start_ >= window_) {
            window_start_ = now;
            used_ = 0;
        }
        if (used_ < burst_) {
            ++used_;
            return true;
        }
        ++suppressed_;
        return false;
    }
    // Lines suppressed since the last call; call it when logging an allowed line.
    std::uint64_t take_suppressed() {
        const std::uint64_t n = suppressed_;
        suppressed_ = 0;
        return n;
    }

private:
    unsigned burst_;
    Clock::duration window_;
    Clock::time_point window_start_{};
    unsigned used_ = 0;
    std::uint64_t suppressed_ = 0;
};

}  // namespace iser
