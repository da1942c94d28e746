// SAM-5 §4.7 single-level LUN structures, as the 8-byte LUN field of a BHS read big-endian.
#include "initiator/pdu/pdu.hpp"

namespace iser::pdu {
namespace {

constexpr std::uint32_t kMaxPeripheral = 0xff;
constexpr std::uint32_t kMaxFlat = 0x3fff;
constexpr std::uint32_t kMaxExtendedFlat = 0xffffff;
constexpr std::uint8_t kFlatMethod = 0x40;          // address method 01b
constexpr std::uint8_t kExtendedFlatByte0 = 0xd2;   // extended, length 01b, extended flat space

}  // namespace

std::uint64_t encode_lun(std::uint32_t lun) {
    if (lun <= kMaxPeripheral) return std::uint64_t(lun) << 48;  // byte0 = 0 (bus 0), byte1 = lun
    if (lun <= kMaxFlat) return std::uint64_t(kFlatMethod << 8 | lun) << 48;
    if (lun <= kMaxExtendedFlat) return std::uint64_t(kExtendedFlatByte0) << 56 | std::uint64_t(lun) << 32;
    return kLunNotSpecified;
}

std::uint32_t decode_lun(std::uint64_t wire) {
    const auto byte0 = std::uint8_t(wire >> 56);
    if (byte0 == kExtendedFlatByte0) {
        if (wire & 0xffffffffu) return kInvalidLun;  // a second level: hierarchical
        return std::uint32_t(wire >> 32) & kMaxExtendedFlat;
    }
    if (wire & 0xffffffffffffull) return kInvalidLun;  // levels 2..4 must be empty
    const std::uint32_t first_level = std::uint32_t(wire >> 48);
    switch (byte0 >> 6) {
    case 0:  // peripheral device addressing; only bus 0 is a plain LUN
        return byte0 == 0 ? first_level : kInvalidLun;
    case 1:  // flat space
        return first_level & kMaxFlat;
    default:
        return kInvalidLun;
    }
}

}  // namespace iser::pdu
