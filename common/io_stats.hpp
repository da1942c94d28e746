// Per-device I/O counters and a latency histogram, owned by one loop thread and copied out as a
// snapshot for `iserctl stats`. Plain arithmetic on the data path: no locks, no atomics, no
// allocation. Snapshots subtract, so the CLI reports rates and percentiles over an interval.
#pragma once
#include <array>
#include <cstdint>

#include "common/block_backend.hpp"

namespace iser {

// Log-linear buckets over microseconds: 8 sub-buckets per power of two, so any value is within
// 12.5% of its bucket's lower bound; values from 0 to 2^31 µs (35 minutes).
class LatencyHistogram {
public:
    static constexpr int kSubBits = 3;
    static constexpr int kSub = 1 << kSubBits;
    static constexpr int kBuckets = (32 - kSubBits) * kSub + kSub;

    void record(std::uint64_t micros) {
        ++counts_[bucket_of(micros)];
        sum_micros_ += micros;
    }
    std::uint64_t total() const;
    // Every recorded value added up (a Prometheus histogram's _sum): exact, not from the buckets.
    std::uint64_t sum_micros() const { return sum_micros_; }
    void set_sum_micros(std::uint64_t micros) { sum_micros_ = micros; }
    // The smallest bucket bound below which a fraction q (0..1) of the samples lie (0 if empty).
    std::uint64_t percentile(double q) const;
    LatencyHistogram& operator+=(const LatencyHistogram& other);
    LatencyHistogram& operator-=(const LatencyHistogram& other);

    static int bucket_of(std::uint64_t micros);
    static std::uint64_t lower_bound(int bucket);
    static std::uint64_t upper_bound(int bucket);  // exclusive
    const std::array<std::uint64_t, kBuckets>& counts() const { return counts_; }
    std::array<std::uint64_t, kBuckets>& counts() { return counts_; }

private:
    std::array<std::uint64_t, kBuckets> counts_{};
    std::uint64_t sum_micros_ = 0;
};

struct IoStats {
    std::uint64_t reads = 0, writes = 0, flushes = 0, discards = 0, write_zeroes = 0;
    std::uint64_t read_bytes = 0, write_bytes = 0;
    std::uint64_t errors = 0;
    LatencyHistogram latency;  // every completed request, in µs

    void record(BlockOp op, std::uint32_t bytes, std::uint64_t micros, int result);
    IoStats& operator+=(const IoStats& other);
    IoStats& operator-=(const IoStats& other);
};

}  // namespace iser
