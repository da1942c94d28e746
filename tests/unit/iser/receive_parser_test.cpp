// parse_receive: one receive completion's bytes -> iSER header, BHS, data, or EPROTO.
#include <doctest/doctest.h>

#include <vector>

#include "initiator/datamover/iser/iser_wire.hpp"

using namespace iser;
using namespace iser::datamover;

namespace {

// An iSER control header followed by a SCSI Response BHS declaring `dlen` data bytes.
std::vector<std::uint8_t> scsi_response_message(std::uint32_t dlen, std::size_t data_bytes_present) {
    std::vector<std::uint8_t> m(kIserPduHeaderBytes + data_bytes_present, 0);
    m[0] = 0x10;               // iSER: iSCSI control-type PDU, no STags
    std::uint8_t* bhs = m.data() + 28;
    bhs[0] = 0x21;             // SCSI Response
    bhs[1] = 0x80;             // F
    store_be24(bhs + 5, dlen);
    store_be32(bhs + 16, 0x1234);  // ITT
    for (std::size_t i = 0; i < data_bytes_present; ++i) m[76 + i] = std::uint8_t(i + 1);
    return m;
}

}  // namespace

TEST_CASE("a SCSI Response with sense data splits into header, BHS and data") {
    auto m = scsi_response_message(20, 20);
    auto r = parse_receive(Bytes(m), 8192);
    REQUIRE(r);
    CHECK(r->iser.flags == 0x10);
    CHECK(r->bhs.opcode() == pdu::Opcode::ScsiResponse);
    CHECK(r->bhs.itt() == 0x1234);
    REQUIRE(r->data.size() == 20);
    CHECK(r->data.data() == m.data() + 76);  // points into the receive buffer, no copy
    CHECK(r->data[0] == 1);
    CHECK(r->data[19] == 20);
}

TEST_CASE("a bare 76-byte message has empty data") {
    auto m = scsi_response_message(0, 0);
    auto r = parse_receive(Bytes(m), 8192);
    REQUIRE(r);
    CHECK(r->data.empty());
}

TEST_CASE("a padded data segment is accepted, only the declared bytes are data") {
    auto m = scsi_response_message(18, 20);
    auto r = parse_receive(Bytes(m), 8192);
    REQUIRE(r);
    CHECK(r->data.size() == 18);
}

TEST_CASE("data declared but not received is EPROTO (the isert 'PDU declares' case)") {
    auto m = scsi_response_message(8192, 0);
    auto r = parse_receive(Bytes(m), 8192);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == EPROTO);
    CHECK(r.error().message.find("8192") != std::string::npos);
}

TEST_CASE("messages shorter than the headers are EPROTO") {
    auto m = scsi_response_message(0, 0);
    for (std::size_t n : {0u, 1u, 27u, 28u, 75u}) {
        auto r = parse_receive(Bytes(m.data(), n), 8192);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == EPROTO);
    }
}

TEST_CASE("iSER Hello and unknown iSER opcodes are EPROTO") {
    auto m = scsi_response_message(0, 0);
    for (std::uint8_t op : {std::uint8_t(0x20), std::uint8_t(0x30), std::uint8_t(0x00), std::uint8_t(0x40)}) {
        m[0] = op;
        auto r = parse_receive(Bytes(m), 8192);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == EPROTO);
    }
}

TEST_CASE("a data segment above the receive limit is EPROTO even if the bytes are there") {
    auto m = scsi_response_message(9000, 9000);
    CHECK_FALSE(parse_receive(Bytes(m), 8192));
    CHECK(parse_receive(Bytes(m), 16384));
}

TEST_CASE("an unknown iSCSI opcode is EPROTO") {
    auto m = scsi_response_message(0, 0);
    m[28] = 0x3a;
    CHECK_FALSE(parse_receive(Bytes(m), 8192));
}

TEST_CASE("AHS bytes sit between the BHS and the data") {
    auto m = scsi_response_message(4, 12);
    m[28 + 4] = 2;  // TotalAHSLength: 2 words
    auto r = parse_receive(Bytes(m), 8192);
    REQUIRE(r);
    REQUIRE(r->data.size() == 4);
    CHECK(r->data.data() == m.data() + 76 + 8);
    auto short_m = std::vector<std::uint8_t>(m.begin(), m.begin() + 76 + 8 + 3);
    CHECK_FALSE(parse_receive(Bytes(short_m), 8192));
}
