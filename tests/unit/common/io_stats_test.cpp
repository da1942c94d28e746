#include <doctest/doctest.h>

#include "common/io_stats.hpp"

using iser::LatencyHistogram;

TEST_CASE("histogram buckets cover every value within 12.5%") {
    CHECK(LatencyHistogram::bucket_of(0) == 0);
    CHECK(LatencyHistogram::bucket_of(7) == 7);
    CHECK(LatencyHistogram::bucket_of(8) == 8);
    CHECK(LatencyHistogram::bucket_of(15) == 15);
    CHECK(LatencyHistogram::bucket_of(16) == 16);
    CHECK(LatencyHistogram::bucket_of(17) == 16);
    for (std::uint64_t v : {1ull, 9ull, 100ull, 1000ull, 12345ull, 1000000ull, 123456789ull, (1ull << 31) - 1}) {
        int b = LatencyHistogram::bucket_of(v);
        CHECK(LatencyHistogram::lower_bound(b) <= v);
        CHECK(v < LatencyHistogram::upper_bound(b));
        CHECK(double(LatencyHistogram::upper_bound(b) - LatencyHistogram::lower_bound(b)) <=
              0.125 * double(LatencyHistogram::lower_bound(b)) + 1);
    }
    CHECK(LatencyHistogram::bucket_of(1ull << 40) == LatencyHistogram::kBuckets - 1);
    for (int b = 1; b < LatencyHistogram::kBuckets; ++b)
        CHECK(LatencyHistogram::lower_bound(b) == LatencyHistogram::upper_bound(b - 1));
}

TEST_CASE("percentiles of a known distribution") {
    LatencyHistogram h;
    CHECK(h.percentile(0.5) == 0);
    for (int i = 0; i < 90; ++i) h.record(100);   // bucket [96, 104)
    for (int i = 0; i < 9; ++i) h.record(1000);   // [960, 1024)
    h.record(50000);                               // [49152, 53248)
    CHECK(h.total() == 100);
    CHECK(h.percentile(0.5) == 103);
    CHECK(h.percentile(0.9) == 103);
    CHECK(h.percentile(0.95) == 1023);
    CHECK(h.percentile(0.99) == 1023);
    CHECK(h.percentile(0.999) == 53247);
    CHECK(h.percentile(1.0) == 53247);
}

TEST_CASE("snapshots subtract into an interval") {
    iser::IoStats before, after;
    before.record(iser::BlockOp::Read, 4096, 100, 0);
    after = before;
    after.record(iser::BlockOp::Read, 4096, 2000, 0);
    after.record(iser::BlockOp::Write, 8192, 300, 0);
    after.record(iser::BlockOp::Write, 8192, 300, 5);  // failed: counted, bytes not
    after.record(iser::BlockOp::Flush, 0, 50, 0);
    iser::IoStats delta = after;
    delta -= before;
    CHECK(delta.reads == 1);
    CHECK(delta.read_bytes == 4096);
    CHECK(delta.writes == 2);
    CHECK(delta.write_bytes == 8192);
    CHECK(delta.errors == 1);
    CHECK(delta.flushes == 1);
    CHECK(delta.latency.total() == 4);
    CHECK(delta.latency.percentile(1.0) >= 2000);
    iser::IoStats sum = before;
    sum += delta;
    CHECK(sum.reads == after.reads);
    CHECK(sum.latency.total() == after.latency.total());
}
