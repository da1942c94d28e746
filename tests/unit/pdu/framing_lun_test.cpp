// parse_framing, opcode helpers, the common BHS accessors and SAM LUN encoding.
#include <cstring>

#include "golden.hpp"

using namespace iser::pdu;
using pdu_test::Golden;

TEST_CASE("Bhs accessors read the shared header fields") {
    const Golden g = {
        0x41, 0x00, 0x00, 0x00,  // I bit + SCSI Command
        0x02, 0x01, 0x02, 0x03,  // TotalAHSLength 2 words, DataSegmentLength 0x010203
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xde, 0xad, 0xbe, 0xef,  // ITT
    };
    const Bhs b = pdu_test::to_bhs(g);
    CHECK(b.opcode() == Opcode::ScsiCommand);
    CHECK(b.immediate());
    CHECK(b.total_ahs_bytes() == 8);
    CHECK(b.data_segment_length() == 0x010203u);
    CHECK(b.itt() == 0xdeadbeefu);
}

TEST_CASE("parse_framing returns AHS, data and padded lengths") {
    Golden g{};
    g[0] = 0x25;  // Data-In
    g[4] = 1;
    g[7] = 5;
    auto f = parse_framing(pdu_test::to_bhs(g), 8192);
    REQUIRE(f.ok());
    CHECK(f->ahs_bytes == 4);
    CHECK(f->data_bytes == 5);
    CHECK(f->padded_data_bytes == 8);

    g[4] = 0;
    g[7] = 0;
    f = parse_framing(pdu_test::to_bhs(g), 0);
    REQUIRE(f.ok());
    CHECK(f->data_bytes == 0);
    CHECK(f->padded_data_bytes == 0);
}

TEST_CASE("parse_framing enforces the receive limit") {
    Golden g{};
    g[0] = 0x21;
    g[5] = 0x00, g[6] = 0x20, g[7] = 0x00;  // 8192
    CHECK(parse_framing(pdu_test::to_bhs(g), 8192).ok());
    g[7] = 0x01;  // 8193
    auto f = parse_framing(pdu_test::to_bhs(g), 8192);
    REQUIRE_FALSE(f.ok());
    CHECK(f.error().code == EPROTO);
    CHECK(f.error().message == "SCSI Response: DataSegmentLength 8193 exceeds the receive limit 8192");
    // The largest 24-bit length passes when the caller allows everything.
    g[5] = g[6] = g[7] = 0xff;
    f = parse_framing(pdu_test::to_bhs(g), 0xffffffffu);
    REQUIRE(f.ok());
    CHECK(f->data_bytes == kMaxDataSegment);
    CHECK(f->padded_data_bytes == 0x1000000u);
}

TEST_CASE("parse_framing rejects unknown opcodes") {
    for (unsigned op = 0; op < 64; ++op) {
        Golden g{};
        g[0] = std::uint8_t(op);
        const bool known = is_known_opcode(std::uint8_t(op));
        CHECK(parse_framing(pdu_test::to_bhs(g), 8192).ok() == known);
    }
    Golden g{};
    g[0] = 0x1c;  // vendor-specific initiator opcode
    auto f = parse_framing(pdu_test::to_bhs(g), 8192);
    REQUIRE_FALSE(f.ok());
    CHECK(f.error().code == EPROTO);
    CHECK(f.error().message == "iSCSI PDU: unknown opcode 0x1c");
}

TEST_CASE("exactly the 18 RFC opcodes are known and named") {
    int known = 0;
    for (unsigned op = 0; op < 256; ++op) {
        if (!is_known_opcode(std::uint8_t(op))) continue;
        ++known;
        CHECK(std::strcmp(opcode_name(Opcode(op)), "unknown PDU") != 0);
    }
    CHECK(known == 18);
    CHECK(std::strcmp(opcode_name(Opcode::DataIn), "SCSI Data-In") == 0);
    CHECK(std::strcmp(opcode_name(Opcode(0x3c)), "unknown PDU") == 0);
}

TEST_CASE("pad4 rounds up to a 4-byte boundary") {
    CHECK(pad4(0) == 0);
    CHECK(pad4(1) == 4);
    CHECK(pad4(4) == 4);
    CHECK(pad4(5) == 8);
    CHECK(pad4(0xffffff) == 0x1000000u);
}

TEST_CASE("encode_lun uses peripheral, flat and extended flat addressing") {
    CHECK(encode_lun(0) == 0x0000000000000000ull);
    CHECK(encode_lun(1) == 0x0001000000000000ull);
    CHECK(encode_lun(255) == 0x00ff000000000000ull);
    CHECK(encode_lun(256) == 0x4100000000000000ull);    // byte0 0x40 | 1, byte1 0x00
    CHECK(encode_lun(0x1234) == 0x5234000000000000ull);
    CHECK(encode_lun(16383) == 0x7fff000000000000ull);
    CHECK(encode_lun(16384) == 0xd200400000000000ull);  // extended flat space, 3-byte LUN
    CHECK(encode_lun(0xffffff) == 0xd2ffffff00000000ull);
    CHECK(encode_lun(0x1000000) == kLunNotSpecified);
}

TEST_CASE("decode_lun inverts encode_lun and refuses other formats") {
    for (std::uint32_t lun : {0u, 1u, 7u, 255u, 256u, 511u, 4095u, 16383u, 16384u, 0xabcdefu, 0xffffffu})
        CHECK(decode_lun(encode_lun(lun)) == lun);
    CHECK(decode_lun(0x0105000000000000ull) == kInvalidLun);  // peripheral, bus 1
    CHECK(decode_lun(0x0001000200000000ull) == kInvalidLun);  // second level present
    CHECK(decode_lun(0x8001000000000000ull) == kInvalidLun);  // logical unit addressing
    CHECK(decode_lun(0xc101000000000000ull) == kInvalidLun);  // well-known LUN (REPORT LUNS)
    CHECK(decode_lun(0xd200000500000001ull) == kInvalidLun);  // extended flat + trailing level
    CHECK(decode_lun(kLunNotSpecified) == kInvalidLun);
    // A flat-space LUN below 256 (some targets report LUN 0 this way) still decodes.
    CHECK(decode_lun(0x4005000000000000ull) == 5);
}
