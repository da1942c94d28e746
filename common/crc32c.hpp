// CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 §13.1, RFC 3720 App. B.4).
// Reflected, polynomial 0x1EDC6F41, initial value and final xor ~0. The value returned is the
// CRC as a number (crc32c("123456789") == 0xE3069283); on the wire the digest travels least
// significant byte first, so 32 zero bytes give 0x8A9136AA, sent as aa 36 91 8a.
#pragma once
#include <array>
#include <cstdint>

#include "common/bytes.hpp"

namespace iser {

inline constexpr std::size_t kDigestSize = 4;

// Chainable: crc32c(b, crc32c(a)) == crc32c(a || b). Uses the SSE4.2 crc32 instruction when
// the CPU has it, a table otherwise; both give the same value.
std::uint32_t crc32c(Bytes data, std::uint32_t crc = 0);

// The 4 digest bytes in wire order, and back.
inline std::array<std::uint8_t, kDigestSize> crc32c_digest_bytes(std::uint32_t crc) {
    return {std::uint8_t(crc), std::uint8_t(crc >> 8), std::uint8_t(crc >> 16), std::uint8_t(crc >> 24)};
}
inline void store_crc32c_digest(std::uint8_t* p, std::uint32_t crc) {
    const auto b = crc32c_digest_bytes(crc);
    for (std::size_t i = 0; i < kDigestSize; ++i) p[i] = b[i];
}
inline std::uint32_t load_crc32c_digest(const std::uint8_t* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}

// The two implementations behind crc32c(), exposed so tests can compare them.
std::uint32_t crc32c_software(Bytes data, std::uint32_t crc = 0);
bool crc32c_hardware_available();
// Only call when crc32c_hardware_available(); otherwise it falls back to software.
std::uint32_t crc32c_hardware(Bytes data, std::uint32_t crc = 0);

}  // namespace iser
