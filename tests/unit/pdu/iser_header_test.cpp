// The 28-byte iSER header: golden bytes, round trip, rejection.
#include "initiator/pdu/iser_header.hpp"

#include <doctest/doctest.h>

#include <array>

using namespace iser::pdu;

TEST_CASE("iSER header golden bytes: a READ advertising its buffer") {
    IserHeader h;
    h.flags = kIserOpcodeControl | kIserReadStagValid;
    h.write_stag = 0x01020304;
    h.write_va = 0x1112131415161718ull;
    h.read_stag = 0xa1a2a3a4;
    h.read_va = 0xb1b2b3b4b5b6b7b8ull;
    const std::array<std::uint8_t, 28> want = {
        0x14, 0x00, 0x00, 0x00,                          // opcode 0x10 | RSV; reserved
        0x01, 0x02, 0x03, 0x04,                          // write STag
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // write VA
        0xa1, 0xa2, 0xa3, 0xa4,                          // read STag
        0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8,  // read VA
    };
    std::array<std::uint8_t, 32> out;
    out.fill(0xee);
    encode_iser_header(h, out);
    CHECK(std::equal(want.begin(), want.end(), out.begin()));
    CHECK(out[28] == 0xee);  // nothing written past the header

    auto d = decode_iser_header(want);
    REQUIRE(d.ok());
    CHECK(d->flags == h.flags);
    CHECK(d->write_stag == h.write_stag);
    CHECK(d->write_va == h.write_va);
    CHECK(d->read_stag == h.read_stag);
    CHECK(d->read_va == h.read_va);
}

TEST_CASE("iSER header encoder zeroes the reserved bytes") {
    IserHeader h;
    h.flags = kIserOpcodeControl | kIserWriteStagValid;
    std::array<std::uint8_t, 28> out;
    out.fill(0xff);
    encode_iser_header(h, out);
    CHECK(out[0] == 0x18);
    for (std::size_t i = 1; i < out.size(); ++i) CHECK(out[i] == 0);
}

TEST_CASE("iSER header decoder accepts the three opcodes and nothing else") {
    std::array<std::uint8_t, 28> in{};
    for (unsigned op = 0; op < 16; ++op) {
        in[0] = std::uint8_t(op << 4 | 0x0c);
        const bool known = (op << 4) == kIserOpcodeControl || (op << 4) == kIserOpcodeHello ||
                           (op << 4) == kIserOpcodeHelloReply;
        auto d = decode_iser_header(in);
        CHECK(d.ok() == known);
        if (!known) CHECK(d.error().code == EPROTO);
    }
    in[0] = 0x40;
    CHECK(decode_iser_header(in).error().message == "iSER header: unknown opcode 0x40");
}

TEST_CASE("iSER header decoder rejects a short buffer") {
    std::array<std::uint8_t, 27> in{};
    in[0] = kIserOpcodeControl;
    auto d = decode_iser_header(in);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().code == EPROTO);
    CHECK(d.error().message == "iSER header: 27 bytes, need 28");
    CHECK_FALSE(decode_iser_header(iser::Bytes{}).ok());
}
