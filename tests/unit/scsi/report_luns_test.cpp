// REPORT LUNS parameter data as tgtd and LIO return it.
#include <doctest/doctest.h>

#include <cerrno>

#include "initiator/scsi/report_luns.hpp"
#include "test_bytes.hpp"

using namespace iser::scsi;
using namespace scsi_test;
using Luns = std::vector<std::uint32_t>;

TEST_CASE("tgtd: LUN 0 (controller) and LUN 1 (disk)") {
    Vec d = {0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    auto r = parse_report_luns(d);
    REQUIRE(r.ok());
    CHECK(*r == Luns{0, 1});
    CHECK(*report_luns_total_length(d) == 24);
}

TEST_CASE("tgtd LUN 300 in flat space addressing, LIO LUN 300 as int_to_scsilun") {
    Vec d = {0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   // peripheral LUN 5
             0x41, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   // flat 300 (tgtd)
             0x01, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};  // peripheral bus 1 (LIO)
    auto r = parse_report_luns_entries(d);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 3);
    CHECK((*r)[0].lun == 5);
    CHECK((*r)[0].wire == 0x0005000000000000ull);
    CHECK((*r)[1].lun == 300);
    CHECK((*r)[1].wire == 0x412c000000000000ull);
    CHECK((*r)[2].lun == 300);
    CHECK((*r)[2].wire == 0x012c000000000000ull);
}

TEST_CASE("other address methods, well-known and multi-level LUNs are skipped") {
    Vec d = {0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00,
             0xc1, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   // REPORT LUNS well-known LUN
             0x80, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00,   // logical unit addressing
             0x00, 0x02, 0x40, 0x03, 0x00, 0x00, 0x00, 0x00,   // two-level
             0xe2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,   // extended
             0x40, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};  // flat 7
    auto r = parse_report_luns(d);
    REQUIRE(r.ok());
    CHECK(*r == Luns{7});
}

TEST_CASE("truncated list: the LUNs present are reported") {
    // Header announces 3 LUNs (24 bytes), allocation length cut it at 2.5.
    Vec d = {0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x02, 0x00, 0x00};
    auto r = parse_report_luns(d);
    REQUIRE(r.ok());
    CHECK(*r == Luns{0, 1});
    CHECK(*report_luns_total_length(d) == 32);
    Vec header_only = {0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
    REQUIRE(parse_report_luns(header_only).ok());
    CHECK(parse_report_luns(header_only)->empty());
}

TEST_CASE("REPORT LUNS errors") {
    auto r = parse_report_luns(Vec{0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00});
    CHECK(r.error().code == EPROTO);
    CHECK(r.error().message == "REPORT LUNS data too short: 7 bytes, need the 8-byte header");
    auto odd = parse_report_luns(Vec{0x00, 0x00, 0x00, 0x0c, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
    CHECK(odd.error().code == EPROTO);
    CHECK(odd.error().message == "REPORT LUNS LUN LIST LENGTH 12 is not a multiple of 8");
    CHECK(parse_report_luns(Vec{0xff, 0xff, 0xff, 0xf8, 0, 0, 0, 0}).error().code == EPROTO);
}

TEST_CASE("encode_lun: peripheral below 256, flat above") {
    CHECK(encode_lun(0) == 0);
    CHECK(encode_lun(1) == 0x0001000000000000ull);
    CHECK(encode_lun(255) == 0x00ff000000000000ull);
    CHECK(encode_lun(256) == 0x4100000000000000ull);
    CHECK(encode_lun(16383) == 0x7fff000000000000ull);
}
