// CRC32C against the RFC 3720 Appendix B.4 vectors (printed there in wire byte order),
// chaining, and the SSE4.2 path against the table path.
#include "common/crc32c.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

using iser::Bytes;

namespace {

std::array<std::uint8_t, 32> filled(std::uint8_t v) {
    std::array<std::uint8_t, 32> a{};
    a.fill(v);
    return a;
}

// RFC 3720 B.4 prints the CRC as the 4 bytes sent on the wire; read them as one big-endian
// number the way the RFC lists them.
std::uint32_t rfc_printed(std::uint32_t crc) { return iser::load_be32(iser::crc32c_digest_bytes(crc).data()); }

using Fn = std::uint32_t (*)(Bytes, std::uint32_t);

void check_rfc_vectors(Fn fn) {
    const auto zeros = filled(0x00), ones = filled(0xff);
    std::array<std::uint8_t, 32> inc{}, dec{};
    for (int i = 0; i < 32; ++i) {
        inc[i] = std::uint8_t(i);
        dec[i] = std::uint8_t(31 - i);
    }
    // An iSCSI SCSI Read (10) command PDU (RFC 3720 B.4).
    const std::array<std::uint8_t, 48> read10 = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    CHECK(rfc_printed(fn(zeros, 0)) == 0xaa36918au);
    CHECK(rfc_printed(fn(ones, 0)) == 0x43aba862u);
    CHECK(rfc_printed(fn(inc, 0)) == 0x4e79dd46u);
    CHECK(rfc_printed(fn(dec, 0)) == 0x5cdb3f11u);
    CHECK(rfc_printed(fn(read10, 0)) == 0x563a96d9u);
    // The same values as numbers (the CRC-32/ISCSI catalogue convention).
    CHECK(fn(zeros, 0) == 0x8a9136aau);
    CHECK(fn(ones, 0) == 0x62a8ab43u);
    const std::array<std::uint8_t, 9> check = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    CHECK(fn(check, 0) == 0xe3069283u);
    CHECK(fn(Bytes{}, 0) == 0u);
}

}  // namespace

TEST_CASE("crc32c matches the RFC 3720 B.4 vectors") { check_rfc_vectors(&iser::crc32c); }
TEST_CASE("software crc32c matches the RFC 3720 B.4 vectors") { check_rfc_vectors(&iser::crc32c_software); }
TEST_CASE("hardware crc32c matches the RFC 3720 B.4 vectors") {
    if (!iser::crc32c_hardware_available()) {
        MESSAGE("no SSE4.2 on this CPU: the hardware path falls back to software");
    }
    check_rfc_vectors(&iser::crc32c_hardware);
}

TEST_CASE("digest bytes go on the wire least significant byte first") {
    const auto b = iser::crc32c_digest_bytes(0x8a9136aau);
    CHECK(b == std::array<std::uint8_t, 4>{0xaa, 0x36, 0x91, 0x8a});
    std::array<std::uint8_t, 4> out{};
    iser::store_crc32c_digest(out.data(), 0x12345678u);
    CHECK(out == std::array<std::uint8_t, 4>{0x78, 0x56, 0x34, 0x12});
    CHECK(iser::load_crc32c_digest(out.data()) == 0x12345678u);
}

TEST_CASE("crc32c chains across split buffers") {
    std::mt19937 rng(7);
    std::vector<std::uint8_t> buf(1000);
    for (auto& b : buf) b = std::uint8_t(rng());
    const std::uint32_t whole = iser::crc32c(buf);
    for (std::size_t split : {0u, 1u, 7u, 8u, 9u, 48u, 333u, 999u, 1000u}) {
        const Bytes a(buf.data(), split), b(buf.data() + split, buf.size() - split);
        CHECK(iser::crc32c(b, iser::crc32c(a)) == whole);
        CHECK(iser::crc32c_software(b, iser::crc32c_software(a)) == whole);
        CHECK(iser::crc32c_hardware(b, iser::crc32c_hardware(a)) == whole);
    }
}

TEST_CASE("hardware and software crc32c agree on random buffers") {
    if (!iser::crc32c_hardware_available()) {
        MESSAGE("no SSE4.2: nothing to compare");
        return;
    }
    std::mt19937 rng(42);
    std::vector<std::uint8_t> buf(9000);
    for (int round = 0; round < 500; ++round) {
        const std::size_t len = rng() % buf.size();
        const std::size_t off = rng() % 8;  // unaligned starts
        if (off + len > buf.size()) continue;
        for (std::size_t i = 0; i < off + len; ++i) buf[i] = std::uint8_t(rng());
        const Bytes data(buf.data() + off, len);
        const std::uint32_t seed = rng();
        REQUIRE(iser::crc32c_hardware(data, seed) == iser::crc32c_software(data, seed));
    }
}
