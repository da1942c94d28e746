// Golden bytes of the Sends the datamover posts: [iSER header][BHS][data], STags for READ/WRITE.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "initiator/datamover/iser/iser_wire.hpp"

using namespace iser;
using namespace iser::datamover;

namespace {

// A fake "registered" buffer at a fixed pretend address is not possible (VA is real memory),
// so the tests take the real address and check it byte for byte.
std::uint64_t va(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

std::vector<std::uint8_t> be64(std::uint64_t v) {
    std::vector<std::uint8_t> b(8);
    store_be64(b.data(), v);
    return b;
}

pdu::Bhs some_bhs(std::uint8_t opcode) {
    pdu::Bhs b;
    for (std::size_t i = 0; i < b.bytes.size(); ++i) b.bytes[i] = std::uint8_t(0xA0 + i);
    b.bytes[0] = opcode;
    b.bytes[4] = 0;  // no AHS
    return b;
}

}  // namespace

TEST_CASE("READ command: RSV, read STag = rkey, read VA = buffer address, no write STag") {
    std::vector<std::uint8_t> mem(65536);
    Region region{mem.data(), mem.size(), 0x11223344, 0xCAFEF00D, nullptr};
    RegionTable table;
    REQUIRE(table.add(region));
    CommandPayload p{mem.data() + 4096, 8192, true, false, 0};
    auto r = command_region(p, table);
    REQUIRE(r);
    REQUIRE(*r);
    pdu::IserHeader h = command_iser_header(p, (*r)->rkey);

    std::uint8_t out[kIserPduHeaderBytes + 16];
    pdu::Bhs bhs = some_bhs(0x01);
    REQUIRE(write_send_buffer(MutableBytes(out, sizeof out), h, bhs, {}) == 76);
    const std::uint8_t golden_head[16] = {0x14, 0, 0, 0,          // control PDU | RSV
                                          0, 0, 0, 0,             // write STag
                                          0, 0, 0, 0, 0, 0, 0, 0, // write VA
                                          };
    CHECK(std::memcmp(out, golden_head, 16) == 0);
    const std::uint8_t golden_rstag[4] = {0xCA, 0xFE, 0xF0, 0x0D};
    CHECK(std::memcmp(out + 16, golden_rstag, 4) == 0);
    auto rva = be64(va(mem.data() + 4096));
    CHECK(std::memcmp(out + 20, rva.data(), 8) == 0);
    CHECK(std::memcmp(out + 28, bhs.bytes.data(), 48) == 0);
}

TEST_CASE("WRITE with immediate data and more: WSV, write VA past the immediate bytes") {
    std::vector<std::uint8_t> mem(1 << 20);
    Region region{mem.data(), mem.size(), 7, 0x00ABCDEF, nullptr};
    RegionTable table;
    REQUIRE(table.add(region));
    CommandPayload p{mem.data() + 65536, 1 << 20 >> 1, false, true, 8192};
    auto r = command_region(p, table);
    REQUIRE(r);
    pdu::IserHeader h = command_iser_header(p, (*r)->rkey);
    std::uint8_t out[kIserPduHeaderBytes];
    write_send_buffer(MutableBytes(out, sizeof out), h, some_bhs(0x01), {});
    CHECK(out[0] == 0x18);  // control PDU | WSV
    CHECK(out[1] == 0);
    const std::uint8_t wstag[4] = {0x00, 0xAB, 0xCD, 0xEF};
    CHECK(std::memcmp(out + 4, wstag, 4) == 0);
    auto wva = be64(va(mem.data() + 65536 + 8192));
    CHECK(std::memcmp(out + 8, wva.data(), 8) == 0);
    const std::uint8_t zero[12] = {};
    CHECK(std::memcmp(out + 16, zero, 12) == 0);  // no read STag/VA
    // The immediate data itself is not copied: it is the second SGE, with the region's lkey.
    CHECK((*r)->lkey == 7);
}

TEST_CASE("WRITE carried entirely as immediate data needs no STag") {
    std::vector<std::uint8_t> mem(16384);
    RegionTable table;
    REQUIRE(table.add(Region{mem.data(), mem.size(), 1, 2, nullptr}));
    CommandPayload p{mem.data(), 8192, false, true, 8192};
    auto r = command_region(p, table);
    REQUIRE(r);
    pdu::IserHeader h = command_iser_header(p, (*r)->rkey);
    CHECK(h.flags == 0x10);
    CHECK(h.write_stag == 0);
    CHECK(h.write_va == 0);
}

TEST_CASE("a command without data needs no region; a buffer outside registered memory fails") {
    RegionTable table;
    CommandPayload none{nullptr, 0, false, false, 0};
    auto r = command_region(none, table);
    REQUIRE(r);
    CHECK(*r == nullptr);
    std::vector<std::uint8_t> unregistered(4096);
    CommandPayload bad{unregistered.data(), 4096, true, false, 0};
    auto e = command_region(bad, table);
    REQUIRE_FALSE(e);
    CHECK(e.error().code == EINVAL);
    CommandPayload silly{unregistered.data(), 100, false, true, 200};
    CHECK_FALSE(command_region(silly, table));
}

TEST_CASE("a control PDU (Login Request) carries its data copied after the BHS") {
    const char text[] = "InitiatorName=iqn.x\0";
    std::uint8_t out[kIserPduHeaderBytes + 64];
    pdu::Bhs bhs = some_bhs(0x43);
    pdu::IserHeader h;  // defaults: control PDU, no STags
    Bytes data(reinterpret_cast<const std::uint8_t*>(text), sizeof text - 1);
    std::size_t n = write_send_buffer(MutableBytes(out, sizeof out), h, bhs, data);
    CHECK(n == 76 + data.size());
    const std::uint8_t golden_iser[28] = {0x10};
    CHECK(std::memcmp(out, golden_iser, 28) == 0);
    CHECK(out[28] == 0x43);
    CHECK(std::memcmp(out + 76, text, data.size()) == 0);
}

TEST_CASE("remote access: a READ's whole buffer, writable; a WRITE's part after the immediate data, read-only") {
    std::uint8_t mem[16384];
    const RemoteAccess read = command_remote_access(CommandPayload{mem, 8192, true, false, 0});
    CHECK(read.base == mem);
    CHECK(read.length == 8192);
    CHECK(read.target_writes);
    const RemoteAccess write = command_remote_access(CommandPayload{mem, 16384, false, true, 4096});
    CHECK(write.base == mem + 4096);
    CHECK(write.length == 12288);
    CHECK_FALSE(write.target_writes);
    // All immediate, or no data at all: the target gets no key.
    CHECK(command_remote_access(CommandPayload{mem, 4096, false, true, 4096}).length == 0);
    CHECK(command_remote_access(CommandPayload{nullptr, 0, false, false, 0}).length == 0);
    CHECK(command_remote_access(CommandPayload{mem, 0, true, false, 0}).length == 0);
}
