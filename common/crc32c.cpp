#include "common/crc32c.hpp"

#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace iser {
namespace {

constexpr std::uint32_t kReflectedPoly = 0x82F63B78u;  // 0x1EDC6F41 bit-reversed

// Slicing-by-8 tables: table[0] is the classic byte table, table[k][b] is the CRC of byte b
// followed by k zero bytes, so 8 input bytes are folded with 8 independent lookups.
using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
    Tables t{};
    for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t c = b;
        for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1u) ? kReflectedPoly : 0u);
        t[0][b] = c;
    }
    for (std::size_t k = 1; k < 8; ++k)
        for (std::size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xffu];
    return t;
}

constexpr Tables kTables = make_tables();

std::uint64_t load_le64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
    return v;
}

// Raw register update: no pre/post inversion.
std::uint32_t update_software(std::uint32_t state, const std::uint8_t* p, std::size_t n) {
    while (n >= 8) {
        const std::uint64_t v = load_le64(p) ^ state;
        state = kTables[7][v & 0xff] ^ kTables[6][(v >> 8) & 0xff] ^ kTables[5][(v >> 16) & 0xff] ^
                kTables[4][(v >> 24) & 0xff] ^ kTables[3][(v >> 32) & 0xff] ^
                kTables[2][(v >> 40) & 0xff] ^ kTables[1][(v >> 48) & 0xff] ^ kTables[0][v >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) state = (state >> 8) ^ kTables[0][(state ^ *p++) & 0xff];
    return state;
}

#if defined(__x86_64__)
// The SSE4.2 crc32 instruction implements exactly this register update for the Castagnoli
// polynomial; the caller checks the CPU supports it.
__attribute__((target("sse4.2"))) std::uint32_t update_sse42(std::uint32_t state, const std::uint8_t* p,
                                                             std::size_t n) {
    std::uint64_t s = state;
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, sizeof v);  // unaligned load; x86 is little-endian
        s = _mm_crc32_u64(s, v);
        p += 8;
        n -= 8;
    }
    auto s32 = std::uint32_t(s);
    while (n--) s32 = _mm_crc32_u8(s32, *p++);
    return s32;
}
#endif

}  // namespace

std::uint32_t crc32c_software(Bytes data, std::uint32_t crc) {
    return ~update_software(~crc, data.data(), data.size());
}

bool crc32c_hardware_available() {
#if defined(__x86_64__)
    return __builtin_cpu_supports("sse4.2");
#else
    return false;
#endif
}

std::uint32_t crc32c_hardware(Bytes data, std::uint32_t crc) {
#if defined(__x86_64__)
    if (crc32c_hardware_available()) return ~update_sse42(~crc, data.data(), data.size());
#endif
    return crc32c_software(data, crc);
}

std::uint32_t crc32c(Bytes data, std::uint32_t crc) {
    return crc32c_hardware_available() ? crc32c_hardware(data, crc) : crc32c_software(data, crc);
}

}  // namespace iser
