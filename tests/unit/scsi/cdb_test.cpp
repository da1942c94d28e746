// Golden CDB bytes, written by hand from the SBC-4 / SPC-5 field tables.
#include <doctest/doctest.h>

#include "initiator/scsi/cdb.hpp"

using namespace iser::scsi;

namespace {
Cdb cdb(std::initializer_list<std::uint8_t> prefix) {
    Cdb c{};
    std::size_t i = 0;
    for (auto b : prefix) c[i++] = b;
    return c;
}
}  // namespace

TEST_CASE("TEST UNIT READY is six zero bytes") {
    CHECK(test_unit_ready() == Cdb{});
    CHECK(cdb_length(test_unit_ready()) == 6);
}

TEST_CASE("READ(10) / WRITE(10)") {
    CHECK(read10(0x12345678, 0x0102) == cdb({0x28, 0x00, 0x12, 0x34, 0x56, 0x78, 0x00, 0x01, 0x02, 0x00}));
    CHECK(write10(0x00000800, 8, true) == cdb({0x2a, 0x08, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x00}));
    CHECK(read10(0xffffffff, 0xffff, true) == cdb({0x28, 0x08, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x00}));
    CHECK(cdb_length(read10(0, 1)) == 10);
}

TEST_CASE("READ(16) / WRITE(16)") {
    CHECK(read16(0x0102030405060708, 0x0a0b0c0d) ==
          cdb({0x88, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x00}));
    CHECK(write16(0x1000, 256, true) ==
          cdb({0x8a, 0x08, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}));
    CHECK(write16(7, 1) == cdb({0x8a, 0x00, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0}));
    CHECK(cdb_length(read16(0, 1)) == 16);
}

TEST_CASE("READ CAPACITY") {
    CHECK(read_capacity16() == cdb({0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x20, 0, 0}));
    CHECK(read_capacity16(0x1234) == cdb({0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x12, 0x34, 0, 0}));
    CHECK(read_capacity10() == cdb({0x25}));
    CHECK(cdb_length(read_capacity10()) == 10);
}

TEST_CASE("INQUIRY standard and VPD") {
    CHECK(inquiry(false, 0, 96) == cdb({0x12, 0x00, 0x00, 0x00, 0x60, 0x00}));
    CHECK(inquiry(true, 0x83, 0x1000) == cdb({0x12, 0x01, 0x83, 0x10, 0x00, 0x00}));
    CHECK(inquiry(true, 0xb0, 0x40) == cdb({0x12, 0x01, 0xb0, 0x00, 0x40, 0x00}));
    CHECK(cdb_length(inquiry(false, 0, 36)) == 6);
}

TEST_CASE("REPORT LUNS is 12 bytes with a 32-bit allocation length at 6..9") {
    Cdb c = report_luns(0x00010008);
    CHECK(c == cdb({0xa0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00}));
    CHECK(cdb_length(c) == 12);
}

TEST_CASE("SYNCHRONIZE CACHE") {
    CHECK(synchronize_cache10() == cdb({0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    CHECK(synchronize_cache10(0x01020304, 0x0506) == cdb({0x35, 0, 0x01, 0x02, 0x03, 0x04, 0, 0x05, 0x06, 0}));
    CHECK(synchronize_cache16(0x1122334455667788, 0x99aabbcc) ==
          cdb({0x91, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0, 0}));
    CHECK(cdb_length(synchronize_cache16(0, 0)) == 16);
}

TEST_CASE("UNMAP and WRITE SAME(16)") {
    CHECK(unmap(24) == cdb({0x42, 0, 0, 0, 0, 0, 0, 0x00, 0x18, 0}));
    CHECK(write_same16(0x2000, 0x800, true, false) ==
          cdb({0x93, 0x08, 0, 0, 0, 0, 0, 0, 0x20, 0x00, 0x00, 0x00, 0x08, 0x00, 0, 0}));
    CHECK(write_same16(1, 2, true, true) == cdb({0x93, 0x09, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}));
    CHECK(write_same16(1, 2, false, true) == cdb({0x93, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}));
    CHECK(write_same16(0, 0, false, false) == cdb({0x93}));
}

TEST_CASE("MODE SENSE(10) / (6)") {
    CHECK(mode_sense10(0x08, 0, 0xfc) == cdb({0x5a, 0x08, 0x08, 0x00, 0, 0, 0, 0x00, 0xfc, 0}));
    CHECK(mode_sense10(0x3f, 0xff, 0x1000, false) == cdb({0x5a, 0x00, 0x3f, 0xff, 0, 0, 0, 0x10, 0x00, 0}));
    CHECK(mode_sense6(0x08, 0, 0xc0) == cdb({0x1a, 0x08, 0x08, 0x00, 0xc0, 0x00}));
    CHECK(mode_sense6(0x0a, 0, 0x20, false) == cdb({0x1a, 0x00, 0x0a, 0x00, 0x20, 0x00}));
    CHECK(cdb_length(mode_sense6(8, 0, 4)) == 6);
    CHECK(cdb_length(mode_sense10(8, 0, 4)) == 10);
}

TEST_CASE("cdb_length from the opcode group") {
    CHECK(cdb_length(cdb({0xa8})) == 12);  // READ(12)
    CHECK(cdb_length(cdb({0x7f})) == 0);   // variable length
    CHECK(cdb_length(cdb({0xc0})) == 0);   // vendor specific
    CHECK(cdb_length(cdb({0xe0})) == 0);
}
