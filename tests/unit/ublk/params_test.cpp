// Device info and parameters built from a BlockGeometry, checked field by field against the
// values the 6.12 driver validates (ublk_validate_params) and applies.
#include <doctest/doctest.h>

#include <cstring>

#include "ublk/params.hpp"

using namespace iser;
using namespace iser::ublk;

namespace {
BlockGeometry disk(std::uint64_t size, std::uint32_t lbs = 512, std::uint32_t pbs = 512) {
    BlockGeometry g;
    g.size_bytes = size;
    g.logical_block_size = lbs;
    g.physical_block_size = pbs;
    g.max_io_bytes = 1u << 20;
    return g;
}
}  // namespace

TEST_CASE("dev info: queues, depth, auto id, page-rounded buffer size, ioctl encoding") {
    DeviceConfig c;
    c.queues = 2;
    c.depth = 64;
    c.geometry = disk(1 << 30);
    c.geometry.max_io_bytes = (1u << 20) + 100;
    auto info = build_dev_info(c, 0x1fe);
    REQUIRE(info);
    CHECK(info->nr_hw_queues == 2);
    CHECK(info->queue_depth == 64);
    CHECK(info->dev_id == 0xFFFFFFFFu);
    CHECK(info->max_io_buf_bytes == (1u << 20));
    CHECK(info->flags ==
          (uapi::kFlagCmdIoctlEncode | uapi::kFlagUserRecovery | uapi::kFlagUserRecoveryReissue | uapi::kFlagUserCopy));
}

TEST_CASE("dev info: USER_COPY when offered and asked for") {
    DeviceConfig c;
    c.geometry = disk(1 << 30);
    CHECK((build_dev_info(c, 0x1fe)->flags & uapi::kFlagUserCopy) != 0);
    CHECK((build_dev_info(c, 0x1fe & ~uapi::kFlagUserCopy)->flags & uapi::kFlagUserCopy) == 0);  // not offered
    c.user_copy = false;
    CHECK((build_dev_info(c, 0x1fe)->flags & uapi::kFlagUserCopy) == 0);
}

TEST_CASE("dev info: recovery only when asked for and offered; bad depth refused") {
    DeviceConfig c;
    c.geometry = disk(1 << 30);
    c.dev_id = 7;
    auto no_driver_support = build_dev_info(c, uapi::kFlagUserRecovery);  // REISSUE missing
    REQUIRE(no_driver_support);
    CHECK(no_driver_support->flags == uapi::kFlagCmdIoctlEncode);
    CHECK(no_driver_support->dev_id == 7);
    c.user_recovery = false;
    CHECK(build_dev_info(c, 0x1fe)->flags == (uapi::kFlagCmdIoctlEncode | uapi::kFlagUserCopy));
    c.depth = 0;
    CHECK(build_dev_info(c, 0x1fe).error().code == EINVAL);
    c.depth = 4097;
    CHECK(!build_dev_info(c, 0x1fe));
}

TEST_CASE("dev info: USER_RECOVERY without REISSUE on request; the cookie goes to ublksrv_flags") {
    DeviceConfig c;
    c.geometry = disk(1 << 30);
    c.reissue = false;
    c.cookie = 0x9f2c6a0e5d4b1a77ull;
    auto info = build_dev_info(c, 0x1fe);
    REQUIRE(info);
    CHECK(info->flags == (uapi::kFlagCmdIoctlEncode | uapi::kFlagUserRecovery | uapi::kFlagUserCopy));
    CHECK(info->ublksrv_flags == 0x9f2c6a0e5d4b1a77ull);
    // the cookie sits at byte 32 of the 64-byte ADD_DEV payload, where the driver keeps it
    std::uint8_t raw[64];
    std::memcpy(raw, &*info, sizeof raw);
    CHECK(raw[32] == 0x77);
    CHECK(raw[39] == 0x9f);
}

TEST_CASE("params: basic block of a 1 GiB 512e disk with cache and FUA") {
    auto g = disk(1ull << 30, 512, 4096);
    g.volatile_cache = true;
    g.fua = true;
    auto p = build_params(g, 1u << 20);
    REQUIRE(p);
    CHECK(p->len == 112);
    CHECK(p->types == uapi::kParamTypeBasic);
    CHECK(p->basic.attrs == (uapi::kAttrVolatileCache | uapi::kAttrFua));
    CHECK(p->basic.logical_bs_shift == 9);
    CHECK(p->basic.physical_bs_shift == 12);
    CHECK(p->basic.io_min_shift == 12);
    CHECK(p->basic.io_opt_shift == 12);
    CHECK(p->basic.max_sectors == 2048);
    CHECK(p->basic.dev_sectors == 2097152);
    CHECK(p->basic.chunk_sectors == 0);
}

TEST_CASE("params: max_sectors never exceeds the driver's buffer size") {
    auto g = disk(1ull << 30);
    g.max_io_bytes = 4u << 20;
    CHECK(build_params(g, 512u << 10)->basic.max_sectors == 1024);
    g.max_io_bytes = 256u << 10;
    CHECK(build_params(g, 1u << 20)->basic.max_sectors == 512);
}

TEST_CASE("params: discard and write zeroes, read-only, 4096-byte blocks") {
    auto g = disk(64ull << 20, 4096, 4096);
    g.discard = true;
    g.discard_granularity_bytes = 65536;
    g.max_discard_bytes = 32ull << 20;
    g.write_zeroes = true;
    g.max_write_zeroes_bytes = 1ull << 20;
    g.read_only = true;
    auto p = build_params(g, 1u << 20);
    REQUIRE(p);
    CHECK(p->types == (uapi::kParamTypeBasic | uapi::kParamTypeDiscard));
    CHECK(p->basic.attrs == uapi::kAttrReadOnly);
    CHECK(p->basic.logical_bs_shift == 12);
    CHECK(p->basic.dev_sectors == 131072);
    CHECK(p->discard.discard_granularity == 65536);
    CHECK(p->discard.max_discard_sectors == 65536);
    CHECK(p->discard.max_discard_segments == 1);
    CHECK(p->discard.max_write_zeroes_sectors == 2048);
    CHECK(p->discard.discard_alignment == 0);
}

TEST_CASE("params: write zeroes alone still gives a non-zero granularity and no discard") {
    auto g = disk(1ull << 30);
    g.write_zeroes = true;
    auto p = build_params(g, 1u << 20);
    REQUIRE(p);
    CHECK(p->types == (uapi::kParamTypeBasic | uapi::kParamTypeDiscard));
    CHECK(p->discard.discard_granularity == 512);
    CHECK(p->discard.max_discard_sectors == 0);
    CHECK(p->discard.max_write_zeroes_sectors == 2097152);  // no limit given: the whole disk
}

TEST_CASE("params: the driver's refusals are caught here") {
    CHECK(!build_params(disk(1 << 20, 8192, 8192), 1 << 20));  // above PAGE_SIZE
    CHECK(!build_params(disk(1 << 20, 1000, 1000), 1 << 20));  // not a power of two
    CHECK(!build_params(disk(1 << 20, 4096, 512), 1 << 20));   // physical < logical
    CHECK(!build_params(disk(0), 1 << 20));
    CHECK(!build_params(disk(1000), 1 << 20));                 // not whole blocks
    CHECK(!build_params(disk(1 << 20), 2048));                 // buffer below a page
}
