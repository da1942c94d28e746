#include "initiator/scsi/sense.hpp"

#include <algorithm>

namespace iser::scsi {
namespace {

constexpr std::uint8_t kFixedCurrent = 0x70;
constexpr std::uint8_t kFixedDeferred = 0x71;
constexpr std::uint8_t kDescCurrent = 0x72;
constexpr std::uint8_t kDescDeferred = 0x73;
constexpr std::uint8_t kInformationDescriptor = 0x00;

// Bytes the target claims to have sent: header + ADDITIONAL SENSE LENGTH (byte 7), but never
// more than were received (a short allocation truncates the list, not the length byte).
std::size_t claimed_length(Bytes d) {
    if (d.size() < 8) return d.size();
    return std::min<std::size_t>(d.size(), 8u + d[7]);
}

Sense parse_fixed(Bytes d) {
    Sense s;
    s.key = d[2] & 0x0f;
    s.ili = d[2] & 0x20;
    std::size_t n = claimed_length(d);
    // VALID (byte 0 bit 7) says the INFORMATION field (bytes 3-6) is meaningful.
    if ((d[0] & 0x80) && n >= 7) s.information = load_be32(&d[3]);
    if (n > 12) s.asc = d[12];
    if (n > 13) s.ascq = d[13];
    return s;
}

Sense parse_descriptor(Bytes d) {
    Sense s;
    s.descriptor_format = true;
    s.key = d[1] & 0x0f;
    s.asc = d.size() > 2 ? d[2] : 0;
    s.ascq = d.size() > 3 ? d[3] : 0;
    std::size_t n = claimed_length(d);
    // Descriptors: type, additional length, payload. A truncated one ends the walk.
    for (std::size_t off = 8; off + 2 <= n;) {
        std::size_t len = 2u + d[off + 1];
        if (off + len > n) break;
        // Information descriptor: VALID in byte 2 bit 7, 8-byte INFORMATION at 4..11.
        if (d[off] == kInformationDescriptor && len >= 12 && (d[off + 2] & 0x80))
            s.information = load_be64(&d[off + 4]);
        off += len;
    }
    return s;
}

}  // namespace

Result<Sense> parse_sense(Bytes d) {
    if (d.empty()) return make_error(EPROTO, "sense data is empty");
    std::uint8_t code = d[0] & 0x7f;
    Sense s;
    switch (code) {
    case kFixedCurrent:
    case kFixedDeferred:
        if (d.size() < 3)
            return make_error(EPROTO, "fixed-format sense data too short: " + std::to_string(d.size()) +
                                          " bytes, need at least 3 for the sense key");
        s = parse_fixed(d);
        break;
    case kDescCurrent:
    case kDescDeferred:
        if (d.size() < 2)
            return make_error(EPROTO, "descriptor-format sense data too short: " + std::to_string(d.size()) +
                                          " bytes, need at least 2 for the sense key");
        s = parse_descriptor(d);
        break;
    default: {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string hex = {'0', 'x', kHex[code >> 4], kHex[code & 15]};
        return make_error(EPROTO, "sense data has unknown response code " + hex);
    }
    }
    s.valid = true;
    s.response_code = code;
    s.deferred = code == kFixedDeferred || code == kDescDeferred;
    return s;
}

Result<Sense> parse_iscsi_sense_segment(Bytes seg) {
    if (seg.empty()) return Sense{};
    if (seg.size() < 2)
        return make_error(EPROTO, "SCSI Response data segment of 1 byte cannot hold SenseLength");
    std::size_t len = load_be16(seg.data());
    if (len == 0) return Sense{};
    if (len > seg.size() - 2)
        return make_error(EPROTO, "SenseLength " + std::to_string(len) + " exceeds the " +
                                      std::to_string(seg.size() - 2) + " bytes of the data segment");
    return parse_sense(seg.subspan(2, len));
}

const char* sense_key_name(std::uint8_t key) {
    static constexpr const char* kNames[16] = {
        "NO SENSE",        "RECOVERED ERROR", "NOT READY",      "MEDIUM ERROR",
        "HARDWARE ERROR",  "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
        "BLANK CHECK",     "VENDOR SPECIFIC", "COPY ABORTED",   "ABORTED COMMAND",
        "RESERVED (0xC)",  "VOLUME OVERFLOW", "MISCOMPARE",     "COMPLETED",
    };
    return kNames[key & 0x0f];
}

}  // namespace iser::scsi
