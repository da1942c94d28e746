#include "common/io_stats.hpp"

#include <bit>
#include <cmath>

namespace iser {

int LatencyHistogram::bucket_of(std::uint64_t micros) {
    if (micros < kSub) return int(micros);
    if (micros >= (std::uint64_t(1) << 31)) return kBuckets - 1;
    const int top = 63 - std::countl_zero(micros);  // >= kSubBits
    const int sub = int((micros >> (top - kSubBits)) & (kSub - 1));
    return (top - kSubBits + 1) * kSub + sub;
}

std::uint64_t LatencyHistogram::lower_bound(int bucket) {
    if (bucket < kSub) return std::uint64_t(bucket);
    const int top = bucket / kSub + kSubBits - 1;
    const int sub = bucket % kSub;
    return (std::uint64_t(kSub + sub)) << (top - kSubBits);
}

std::uint64_t LatencyHistogram::upper_bound(int bucket) {
    return bucket + 1 < kBuckets ? lower_bound(bucket + 1) : (std::uint64_t(1) << 32);
}

std::uint64_t LatencyHistogram::total() const {
    std::uint64_t n = 0;
    for (auto c : counts_) n += c;
    return n;
}

std::uint64_t LatencyHistogram::percentile(double q) const {
    const std::uint64_t n = total();
    if (n == 0) return 0;
    // The rank of the sample at quantile q (1-based), then the bucket holding it.
    const auto rank = std::max<std::uint64_t>(1, std::uint64_t(std::ceil(q * double(n))));
    std::uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
        seen += counts_[b];
        if (seen >= rank) return upper_bound(b) - 1;
    }
    return upper_bound(kBuckets - 1) - 1;
}

LatencyHistogram& LatencyHistogram::operator+=(const LatencyHistogram& other) {
    for (int b = 0; b < kBuckets; ++b) counts_[b] += other.counts_[b];
    sum_micros_ += other.sum_micros_;
    return *this;
}

LatencyHistogram& LatencyHistogram::operator-=(const LatencyHistogram& other) {
    for (int b = 0; b < kBuckets; ++b) counts_[b] -= std::min(counts_[b], other.counts_[b]);
    sum_micros_ -= std::min(sum_micros_, other.sum_micros_);
    return *this;
}

void IoStats::record(BlockOp op, std::uint32_t bytes, std::uint64_t micros, int result) {
    switch (op) {
        case BlockOp::Read: ++reads; if (!result) read_bytes += bytes; break;
        case BlockOp::Write: ++writes; if (!result) write_bytes += bytes; break;
        case BlockOp::Flush: ++flushes; break;
        case BlockOp::Discard: ++discards; break;
        case BlockOp::WriteZeroes: ++write_zeroes; break;
    }
    if (result) ++errors;
    latency.record(micros);
}

IoStats& IoStats::operator+=(const IoStats& o) {
    reads += o.reads, writes += o.writes, flushes += o.flushes, discards += o.discards;
    write_zeroes += o.write_zeroes, read_bytes += o.read_bytes, write_bytes += o.write_bytes, errors += o.errors;
    latency += o.latency;
    return *this;
}

IoStats& IoStats::operator-=(const IoStats& o) {
    auto sub = [](std::uint64_t& a, std::uint64_t b) { a = a > b ? a - b : 0; };
    sub(reads, o.reads), sub(writes, o.writes), sub(flushes, o.flushes), sub(discards, o.discards);
    sub(write_zeroes, o.write_zeroes), sub(read_bytes, o.read_bytes), sub(write_bytes, o.write_bytes);
    sub(errors, o.errors);
    latency -= o.latency;
    return *this;
}

}  // namespace iser
