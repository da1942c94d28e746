// Private helpers of the PDU codec: BHS field access by RFC offset and the error shapes the
// decoders share. Not part of the public API (only the codec's .cpp files include it).
#pragma once
#include <cstdint>
#include <string>

#include "initiator/pdu/pdu.hpp"

namespace iser::pdu::wire {

// Offsets shared by every BHS (RFC 7143 §11.2.1).
inline constexpr std::size_t kOpcodeByte = 0, kFlagsByte = 1, kTotalAhsByte = 4, kDataLengthOffset = 5,
                             kLunOffset = 8, kIttOffset = 16;

inline constexpr std::uint8_t kImmediateBit = 0x40;  // byte 0
inline constexpr std::uint8_t kFinalBit = 0x80;      // byte 1 of most PDUs
inline constexpr std::uint8_t kContinueBit = 0x40;   // Login, Text

// A BHS with the opcode byte, flags byte and DataSegmentLength set and every other byte zero.
inline Bhs begin(Opcode op, std::uint8_t flags, std::uint32_t data_length = 0, bool immediate = false) {
    Bhs b;
    b.bytes[kOpcodeByte] = std::uint8_t(op) | (immediate ? kImmediateBit : 0);
    b.bytes[kFlagsByte] = flags;
    store_be24(&b.bytes[kDataLengthOffset], data_length);
    return b;
}

inline void put8(Bhs& b, std::size_t off, std::uint8_t v) { b.bytes[off] = v; }
inline void put16(Bhs& b, std::size_t off, std::uint16_t v) { store_be16(&b.bytes[off], v); }
inline void put32(Bhs& b, std::size_t off, std::uint32_t v) { store_be32(&b.bytes[off], v); }
inline void put64(Bhs& b, std::size_t off, std::uint64_t v) { store_be64(&b.bytes[off], v); }

inline std::uint8_t get8(const Bhs& b, std::size_t off) { return b.bytes[off]; }
inline std::uint16_t get16(const Bhs& b, std::size_t off) { return load_be16(&b.bytes[off]); }
inline std::uint32_t get32(const Bhs& b, std::size_t off) { return load_be32(&b.bytes[off]); }
inline std::uint64_t get64(const Bhs& b, std::size_t off) { return load_be64(&b.bytes[off]); }

inline std::uint8_t flags(const Bhs& b) { return b.bytes[kFlagsByte]; }
inline bool bit(const Bhs& b, std::uint8_t mask) { return (b.bytes[kFlagsByte] & mask) != 0; }

// "<PDU name>: <what>" as an EPROTO error.
Error malformed(Opcode pdu, const std::string& what);
// EPROTO "<PDU name>: unexpected opcode 0x.." unless the BHS carries `expected`.
Status check_opcode(const Bhs& b, Opcode expected);
// For PDUs whose struct has no data_length: RFC 7143 gives them no data segment.
Status check_no_data(const Bhs& b, Opcode pdu);

}  // namespace iser::pdu::wire
