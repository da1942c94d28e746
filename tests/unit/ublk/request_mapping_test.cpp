// ublk descriptors (as the driver fills them in ublk_setup_iod) mapped to BlockRequests, and
// backend results mapped to COMMIT_AND_FETCH results.
#include <doctest/doctest.h>

#include <cerrno>

#include "ublk/request_mapping.hpp"

using namespace iser;
using namespace iser::ublk;

namespace {
uapi::IoDesc desc(std::uint32_t op_flags, std::uint32_t sectors, std::uint64_t start) {
    uapi::IoDesc d{};
    d.op_flags = op_flags;
    d.nr_sectors = sectors;
    d.start_sector = start;
    return d;
}
std::uint8_t buffer[1 << 16];
}  // namespace

TEST_CASE("read: offset and length in bytes from 512-byte sectors, the tag's buffer") {
    BlockRequest r;
    r.cookie = 9;
    CHECK(map_descriptor(desc(uapi::kOpRead, 8, 2048), buffer, sizeof buffer, r) == 0);
    CHECK(r.op == BlockOp::Read);
    CHECK(r.offset == 1048576);
    CHECK(r.length == 4096);
    CHECK(r.buffer == buffer);
    CHECK(!r.fua);
    CHECK(r.cookie == 9);
    CHECK(commit_result(r, 0) == 4096);
    CHECK(commit_result(r, EIO) == -EIO);
}

TEST_CASE("write with FUA (bit 13 of op_flags) and with fail-fast flags") {
    BlockRequest r;
    CHECK(map_descriptor(desc(uapi::kOpWrite | uapi::kIoFFua, 128, 0), buffer, sizeof buffer, r) == 0);
    CHECK(r.op == BlockOp::Write);
    CHECK(r.fua);
    CHECK(r.length == 65536);
    CHECK(commit_result(r, 0) == 65536);
    CHECK(map_descriptor(desc(uapi::kOpWrite | uapi::kIoFFailfastDev, 1, 7), buffer, sizeof buffer, r) == 0);
    CHECK(!r.fua);
    CHECK(r.offset == 3584);
}

TEST_CASE("flush, discard, write zeroes carry no buffer and commit 0") {
    BlockRequest r;
    CHECK(map_descriptor(desc(uapi::kOpFlush, 0, 0), buffer, sizeof buffer, r) == 0);
    CHECK(r.op == BlockOp::Flush);
    CHECK(r.buffer == nullptr);
    CHECK(commit_result(r, 0) == 0);
    CHECK(map_descriptor(desc(uapi::kOpDiscard, 1u << 20, 8), buffer, sizeof buffer, r) == 0);
    CHECK(r.op == BlockOp::Discard);
    CHECK(r.offset == 4096);
    CHECK(r.length == (1u << 29));  // discards may exceed the tag's buffer
    CHECK(r.buffer == nullptr);
    CHECK(commit_result(r, 0) == 0);
    CHECK(commit_result(r, EOPNOTSUPP) == -EOPNOTSUPP);
    CHECK(map_descriptor(desc(uapi::kOpWriteZeroes | uapi::kIoFNoUnmap, 16, 0), buffer, sizeof buffer, r) == 0);
    CHECK(r.op == BlockOp::WriteZeroes);
    CHECK(r.length == 8192);
}

TEST_CASE("unknown operations and oversized requests are refused") {
    BlockRequest r;
    CHECK(map_descriptor(desc(uapi::kOpWriteSame, 8, 0), buffer, sizeof buffer, r) == -EOPNOTSUPP);
    CHECK(map_descriptor(desc(10 /* ZONE_OPEN */, 0, 0), buffer, sizeof buffer, r) == -EOPNOTSUPP);
    CHECK(map_descriptor(desc(uapi::kOpRead, 129, 0), buffer, sizeof buffer, r) == -EIO);
}
