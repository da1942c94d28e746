// Standard INQUIRY data as returned by LIO (spc_emulate_inquiry_std) and tgtd.
#include <doctest/doctest.h>

#include <cerrno>

#include "initiator/scsi/inquiry.hpp"
#include "test_bytes.hpp"

using namespace iser::scsi;
using namespace scsi_test;

TEST_CASE("LIO standard INQUIRY: LIO-ORG disk, SPC-4, HiSup, implicit ALUA, CmdQue") {
    Vec d = cat({{0x00, 0x00, 0x06, 0x12, 0x5b, 0x18, 0x00, 0x02},
                 ascii("LIO-ORG "), ascii("disk0           "), ascii("4.0 "),
                 zeros(96 - 36)});
    auto r = parse_standard_inquiry(d);
    REQUIRE(r.ok());
    CHECK(r->peripheral_qualifier == 0);
    CHECK(r->device_type == device_type::DirectAccess);
    CHECK_FALSE(r->removable);
    CHECK(r->version == 0x06);
    CHECK(r->cmdque);
    CHECK(r->vendor == "LIO-ORG");
    CHECK(r->product == "disk0");
    CHECK(r->revision == "4.0");
    CHECK(r->response_data_format == 2);
    CHECK(r->hisup);
    CHECK(r->tpgs == 1);
    CHECK_FALSE(r->protect);
}

TEST_CASE("tgtd standard INQUIRY for LUN 0 controller and a removable disk") {
    Vec ctrl = cat({{0x0c, 0x00, 0x05, 0x02, 0x3b, 0x00, 0x00, 0x02},
                    ascii("IET     "), ascii("Controller      "), ascii("0001"), zeros(66 - 36)});
    auto c = parse_standard_inquiry(ctrl);
    REQUIRE(c.ok());
    CHECK(c->device_type == 0x0c);
    CHECK(c->vendor == "IET");
    CHECK(c->product == "Controller");
    CHECK(c->revision == "0001");

    Vec disk = cat({{0x00, 0x80, 0x05, 0x02, 0x1f, 0x00, 0x00, 0x00},
                    ascii("IET     "), ascii("VIRTUAL-DISK    "), ascii("0001")});
    auto r = parse_standard_inquiry(disk);
    REQUIRE(r.ok());
    CHECK(r->removable);
    CHECK_FALSE(r->cmdque);
    CHECK(r->product == "VIRTUAL-DISK");
}

TEST_CASE("standard INQUIRY: peripheral qualifier 3 for a LUN that does not exist") {
    Vec d = cat({{0x7f, 0x00, 0x06, 0x02, 0x1f, 0x00, 0x00, 0x00}, ascii("LIO-ORG "), zeros(20)});
    auto r = parse_standard_inquiry(d);
    REQUIRE(r.ok());
    CHECK(r->peripheral_qualifier == 3);
    CHECK(r->device_type == device_type::NoDevice);
    CHECK(r->product.empty());  // NUL padding trimmed
}

TEST_CASE("standard INQUIRY: control bytes in strings are neutralised") {
    Vec d = cat({{0x00, 0x00, 0x06, 0x02, 0x1f, 0x00, 0x00, 0x00},
                 ascii("EVIL\x1b[2J"), ascii("product         "), ascii("1.0 ")});
    auto r = parse_standard_inquiry(d);
    REQUIRE(r.ok());
    CHECK(r->vendor == "EVIL?[2J");
}

TEST_CASE("standard INQUIRY errors") {
    Vec full = cat({{0x00, 0x00, 0x06, 0x02, 0x1f, 0x00, 0x00, 0x02},
                    ascii("LIO-ORG "), ascii("disk0           "), ascii("4.0 ")});
    Vec short_data(full.begin(), full.begin() + 35);
    auto r = parse_standard_inquiry(short_data);
    CHECK(r.error().code == EPROTO);
    CHECK(r.error().message == "standard INQUIRY data too short: 35 bytes, need 36");
    CHECK(parse_standard_inquiry(Vec{}).error().code == EPROTO);
    Vec bad_len = full;
    bad_len[4] = 20;
    CHECK(parse_standard_inquiry(bad_len).error().code == EPROTO);
}
