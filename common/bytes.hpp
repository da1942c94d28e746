// Big-endian loads and stores over byte pointers: the wire format of iSCSI,
// iSER and SCSI is big-endian and unaligned access must be explicit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace iser {

using Bytes = std::span<const std::uint8_t>;
using MutableBytes = std::span<std::uint8_t>;

inline std::uint16_t load_be16(const std::uint8_t* p) { return std::uint16_t(p[0] << 8 | p[1]); }
inline std::uint32_t load_be24(const std::uint8_t* p) { return std::uint32_t(p[0]) << 16 | std::uint32_t(p[1]) << 8 | p[2]; }
inline std::uint32_t load_be32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
inline std::uint64_t load_be64(const std::uint8_t* p) { return std::uint64_t(load_be32(p)) << 32 | load_be32(p + 4); }

inline void store_be16(std::uint8_t* p, std::uint16_t v) { p[0] = std::uint8_t(v >> 8); p[1] = std::uint8_t(v); }
inline void store_be24(std::uint8_t* p, std::uint32_t v) {
    p[0] = std::uint8_t(v >> 16); p[1] = std::uint8_t(v >> 8); p[2] = std::uint8_t(v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) {
    p[0] = std::uint8_t(v >> 24); p[1] = std::uint8_t(v >> 16); p[2] = std::uint8_t(v >> 8); p[3] = std::uint8_t(v);
}
inline void store_be64(std::uint8_t* p, std::uint64_t v) { store_be32(p, std::uint32_t(v >> 32)); store_be32(p + 4, std::uint32_t(v)); }

// Serial number arithmetic (RFC 1982, 32-bit) used by CmdSN/StatSN/DataSN comparisons.
inline bool sn_lt(std::uint32_t a, std::uint32_t b) { return a != b && std::uint32_t(b - a) < 0x80000000u; }
inline bool sn_le(std::uint32_t a, std::uint32_t b) { return a == b || sn_lt(a, b); }

}  // namespace iser
