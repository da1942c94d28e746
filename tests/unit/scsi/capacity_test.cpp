// READ CAPACITY data as LIO (sbc_emulate_readcapacity_16) and tgtd return it.
#include <doctest/doctest.h>

#include <cerrno>

#include "initiator/scsi/capacity.hpp"
#include "test_bytes.hpp"

using namespace iser::scsi;
using namespace scsi_test;

TEST_CASE("READ CAPACITY(16) from LIO: 1 GiB of 512-byte blocks, 4K physical, thin, zeroing") {
    Vec d = cat({{0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0xff, 0xff, 0x00, 0x00, 0x02, 0x00,
                  0x00, 0x03, 0xc0, 0x00},
                 zeros(16)});
    auto r = parse_read_capacity16(d);
    REQUIRE(r.ok());
    CHECK(r->num_blocks == 0x200000);
    CHECK(r->num_blocks * r->block_size == 1ull << 30);
    CHECK(r->block_size == 512);
    CHECK(r->physical_exponent == 3);
    CHECK(r->lbpme);
    CHECK(r->lbprz);
    CHECK(r->lowest_aligned_lba == 0);
    CHECK_FALSE(r->prot_en);
}

TEST_CASE("READ CAPACITY(16): huge disk, protection type 2, lowest aligned LBA 7") {
    Vec d = cat({{0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
                  0x03, 0x20, 0x00, 0x07},
                 zeros(16)});
    auto r = parse_read_capacity16(d);
    REQUIRE(r.ok());
    CHECK(r->num_blocks == 0x0000010000000001ull);
    CHECK(r->block_size == 4096);
    CHECK(r->prot_en);
    CHECK(r->p_type == 1);
    CHECK(r->p_i_exponent == 2);
    CHECK(r->physical_exponent == 0);
    CHECK_FALSE(r->lbpme);
    CHECK(r->lowest_aligned_lba == 7);
}

TEST_CASE("READ CAPACITY(16) errors") {
    Vec d = {0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0xff, 0xff, 0x00, 0x00, 0x02, 0x00};
    auto r = parse_read_capacity16(d);
    CHECK(r.error().code == EPROTO);
    CHECK(r.error().message == "READ CAPACITY(16) data too short: 12 bytes, need 16");
    Vec zero_bs = cat({{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, zeros(20)});
    CHECK(parse_read_capacity16(zero_bs).error().code == EPROTO);
    Vec max_lba = cat({Vec(8, 0xff), {0, 0, 2, 0}, zeros(20)});
    CHECK(parse_read_capacity16(max_lba).error().code == EPROTO);
}

TEST_CASE("READ CAPACITY(10) from tgtd and the 0xFFFFFFFF escape") {
    Vec d = {0x00, 0x1f, 0xff, 0xff, 0x00, 0x00, 0x02, 0x00};
    auto r = parse_read_capacity10(d);
    REQUIRE(r.ok());
    CHECK(r->num_blocks == 0x200000);
    CHECK(r->block_size == 512);
    CHECK_FALSE(r->use_read_capacity16);

    Vec big = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x02, 0x00};
    auto b = parse_read_capacity10(big);
    REQUIRE(b.ok());
    CHECK(b->use_read_capacity16);

    CHECK(parse_read_capacity10(Vec{0x00, 0x1f, 0xff, 0xff, 0x00}).error().code == EPROTO);
    CHECK(parse_read_capacity10(Vec{0x00, 0x1f, 0xff, 0xff, 0, 0, 0, 0}).error().code == EPROTO);
}
