// VPD pages 0x00, 0x80, 0x83, 0xB0, 0xB2 as LIO (target_core_spc.c) and tgtd return them.
#include <doctest/doctest.h>

#include <cerrno>

#include "initiator/scsi/inquiry.hpp"
#include "test_bytes.hpp"

using namespace iser::scsi;
using namespace scsi_test;

namespace {

// LIO designators: NAA IEEE Registered Extended (6, OUI 00-14-05), T10 vendor ID, relative
// target port, target port group, and the target name as a SCSI name string.
Vec lio_device_identification() {
    Vec naa = {0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x5a, 0x3c, 0x5e, 0x8f, 0x11,
               0xb2, 0xc4, 0xd5, 0xe8, 0xf9, 0x01, 0x23, 0x45};
    Vec t10 = cat({{0x02, 0x01, 0x00, 0x2c}, ascii("LIO-ORG a3c5e8f1-1b2c-4d5e-8f90-123456789abc")});
    Vec rtp = {0x51, 0x94, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01};
    Vec tpg = {0x51, 0x95, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00};
    Vec name = cat({{0x53, 0xa8, 0x00, 0x20}, ascii("iqn.2003-01.org.linux-iscsi:t1"), zeros(2)});
    Vec body = cat({naa, t10, rtp, tpg, name});
    return cat({{0x00, 0x83, 0x00, std::uint8_t(body.size())}, body});
}

}  // namespace

TEST_CASE("VPD 0x00 supported pages from LIO") {
    Vec d = {0x00, 0x00, 0x00, 0x07, 0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2};
    auto r = parse_supported_vpd_pages(d);
    REQUIRE(r.ok());
    CHECK(*r == std::vector<std::uint8_t>{0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2});
    CHECK(*vpd_total_length(d) == 11);
}

TEST_CASE("VPD 0x00 truncated by a small allocation length") {
    Vec d = {0x00, 0x00, 0x00, 0x07, 0x00, 0x80};
    auto r = parse_supported_vpd_pages(d);
    CHECK(r.error().code == EPROTO);
    CHECK(r.error().message ==
          "VPD page 0x00 (supported VPD pages) truncated: 11 bytes announced, 6 received (raise the allocation length)");
    CHECK(*vpd_total_length(d) == 11);
}

TEST_CASE("VPD 0x80 unit serial: LIO includes a NUL terminator in the page length") {
    Vec d = cat({{0x00, 0x80, 0x00, 0x25}, ascii("a3c5e8f1-1b2c-4d5e-8f90-123456789abc"), zeros(1)});
    auto r = parse_unit_serial(d);
    REQUIRE(r.ok());
    CHECK(*r == "a3c5e8f1-1b2c-4d5e-8f90-123456789abc");
}

TEST_CASE("VPD 0x80 unit serial: tgtd right-aligned with spaces") {
    Vec d = cat({{0x00, 0x80, 0x00, 0x10}, ascii("      beaf10    ")});
    CHECK(*parse_unit_serial(d) == "beaf10");
}

TEST_CASE("VPD page code mismatch is an error") {
    Vec d = {0x00, 0x83, 0x00, 0x00};
    auto r = parse_unit_serial(d);
    CHECK(r.error().code == EPROTO);
    CHECK(r.error().message == "VPD page 0x80 (unit serial number) requested but the target returned page 0x83");
    CHECK(parse_unit_serial(Vec{0x00, 0x80, 0x00}).error().code == EPROTO);
}

TEST_CASE("VPD 0x83 from LIO: five designators, NAA preferred") {
    auto r = parse_device_identification(lio_device_identification());
    REQUIRE(r.ok());
    REQUIRE(r->size() == 5);
    const auto& naa = (*r)[0];
    CHECK(naa.code_set == code_set::Binary);
    CHECK(naa.type == designator_type::Naa);
    CHECK(naa.association == 0);
    CHECK(naa.value.size() == 16);
    CHECK((*r)[1].type == designator_type::T10VendorId);
    CHECK((*r)[1].code_set == code_set::Ascii);
    CHECK((*r)[2].type == designator_type::RelativeTargetPort);
    CHECK((*r)[2].association == 1);
    CHECK((*r)[2].piv);
    CHECK((*r)[2].protocol_identifier == 5);  // iSCSI
    CHECK((*r)[4].type == designator_type::ScsiNameString);
    CHECK((*r)[4].association == 2);
    CHECK(preferred_device_id(*r) == "6001405a3c5e8f11b2c4d5e8f9012345");
}

TEST_CASE("VPD 0x83 from tgtd: only a T10 vendor ID designator") {
    Vec body = cat({{0x02, 0x01, 0x00, 0x1e}, ascii("IET     VIRTUAL-DISK    beaf11")});
    Vec d = cat({{0x00, 0x83, 0x00, std::uint8_t(body.size())}, body});
    auto r = parse_device_identification(d);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 1);
    CHECK(preferred_device_id(*r) == "IET     VIRTUAL-DISK    beaf11");
}

TEST_CASE("preferred_device_id: EUI-64 over T10, target-port NAA ignored") {
    std::vector<Designator> ds = {
        {code_set::Binary, designator_type::Naa, 1, {0x50, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07}, 0, false},
        {code_set::Ascii, designator_type::T10VendorId, 0, ascii("VENDOR  x"), 0, false},
        {code_set::Binary, designator_type::Eui64, 0, {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}, 0, false},
    };
    CHECK(preferred_device_id(ds) == "0011223344556677");
    CHECK(preferred_device_id({}).empty());
}

TEST_CASE("VPD 0x83 errors: designator longer than the page, cut header") {
    Vec overlong = {0x00, 0x83, 0x00, 0x08, 0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x5a};
    auto r = parse_device_identification(overlong);
    CHECK(r.error().code == EPROTO);
    CHECK(r.error().message == "VPD page 0x83: designator at offset 4 declares 16 bytes, only 4 remain");
    Vec cut_header = {0x00, 0x83, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x01, 0x03};
    CHECK(parse_device_identification(cut_header).error().code == EPROTO);
    Vec empty = {0x00, 0x83, 0x00, 0x00};
    REQUIRE(parse_device_identification(empty).ok());
    CHECK(parse_device_identification(empty)->empty());
}

TEST_CASE("VPD 0xB0 block limits from LIO (page length 0x3c)") {
    Vec d = {0x00, 0xb0, 0x00, 0x3c,
             0x01, 0x01, 0x00, 0x08,   // WSNZ, max COMPARE AND WRITE 1, OTLG 8
             0x00, 0x00, 0x20, 0x00,   // max transfer 8192
             0x00, 0x00, 0x20, 0x00,   // optimal transfer 8192
             0x00, 0x00, 0x00, 0x00,   // max prefetch
             0x00, 0x40, 0x00, 0x00,   // max unmap LBA count 0x400000
             0x00, 0x00, 0x00, 0x01,   // max unmap descriptors 1
             0x00, 0x00, 0x00, 0x08,   // optimal unmap granularity 8
             0x80, 0x00, 0x00, 0x02,   // UGAVALID, alignment 2
             0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00,  // max write same 0x400000
             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    REQUIRE(d.size() == 64);
    auto r = parse_block_limits_vpd(d);
    REQUIRE(r.ok());
    CHECK(r->wsnz);
    CHECK(r->max_compare_and_write_blocks == 1);
    CHECK(r->optimal_transfer_granularity == 8);
    CHECK(r->max_transfer_blocks == 8192);
    CHECK(r->optimal_transfer_blocks == 8192);
    CHECK(r->max_unmap_lba_count == 0x400000);
    CHECK(r->max_unmap_descriptors == 1);
    CHECK(r->optimal_unmap_granularity == 8);
    CHECK(r->ugavalid);
    CHECK(r->unmap_granularity_alignment == 2);
    CHECK(r->max_write_same_blocks == 0x400000);
}

TEST_CASE("VPD 0xB0 from an SBC-2 era target (page length 0x0c): later fields are 0") {
    Vec d = {0x00, 0xb0, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x80};
    auto r = parse_block_limits_vpd(d);
    REQUIRE(r.ok());
    CHECK(r->optimal_transfer_granularity == 1);
    CHECK(r->max_transfer_blocks == 1024);
    CHECK(r->optimal_transfer_blocks == 128);
    CHECK(r->max_unmap_lba_count == 0);
    CHECK(r->max_unmap_descriptors == 0);
    CHECK_FALSE(r->ugavalid);
    CHECK(r->max_write_same_blocks == 0);
}

TEST_CASE("VPD 0xB0 truncated or wrong page") {
    Vec d = {0x00, 0xb0, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x01};
    CHECK(parse_block_limits_vpd(d).error().code == EPROTO);
    CHECK(parse_block_limits_vpd(Vec{0x00, 0xb2, 0x00, 0x00}).error().code == EPROTO);
}

TEST_CASE("VPD 0xB2 from LIO with emulate_tpu, tpws and unmap_zeroes_data") {
    Vec d = {0x00, 0xb2, 0x00, 0x04, 0x00, 0xc4, 0x02, 0x00};
    auto r = parse_lbp_vpd(d);
    REQUIRE(r.ok());
    CHECK(r->lbpu);
    CHECK(r->lbpws);
    CHECK_FALSE(r->lbpws10);
    CHECK(r->lbprz);
    CHECK_FALSE(r->anc_sup);
    CHECK_FALSE(r->dp);
    CHECK(r->provisioning_type == 2);
    CHECK(r->threshold_exponent == 0);
}

TEST_CASE("VPD 0xB2: LBPRZ 010b (pattern) is not zeros; short page fails") {
    Vec d = {0x00, 0xb2, 0x00, 0x04, 0x05, 0x2b, 0x01, 0x00};
    auto r = parse_lbp_vpd(d);
    REQUIRE(r.ok());
    CHECK(r->threshold_exponent == 5);
    CHECK_FALSE(r->lbpu);
    CHECK(r->lbpws10);
    CHECK_FALSE(r->lbprz);
    CHECK(r->anc_sup);
    CHECK(r->dp);
    CHECK(r->provisioning_type == 1);
    CHECK(parse_lbp_vpd(Vec{0x00, 0xb2, 0x00, 0x02, 0x00, 0x80}).error().code == EPROTO);
}
