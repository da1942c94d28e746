// Login (RFC 7143 §11.12, §11.13) and Text (§11.10, §11.11) PDUs: the two that carry key=value
// data segments and share the F/T and C bits.
#include <algorithm>
#include <string>

#include "initiator/pdu/pdu.hpp"
#include "initiator/pdu/wire.hpp"

namespace iser::pdu {
using namespace wire;

namespace {

constexpr std::uint8_t kTransitBit = 0x80;
constexpr std::uint8_t kStageMask = 0x03;
constexpr unsigned kCsgShift = 2;
constexpr std::uint8_t kFullFeatureStage = 3;

// Login byte 1: T C . . CSG(2) NSG(2).
std::uint8_t login_flags(bool transit, bool cont, std::uint8_t csg, std::uint8_t nsg) {
    return std::uint8_t((transit ? kTransitBit : 0) | (cont ? kContinueBit : 0) |
                        (csg & kStageMask) << kCsgShift | (nsg & kStageMask));
}
std::uint8_t csg_of(const Bhs& b) { return (flags(b) >> kCsgShift) & kStageMask; }
std::uint8_t nsg_of(const Bhs& b) { return flags(b) & kStageMask; }

// Stages are 0 (security), 1 (operational), 3 (full feature); a login PDU is never *in* full
// feature phase, a transit only moves forward, and T with C is forbidden (RFC 7143 §11.12.2).
Status check_login_stages(const Bhs& b, Opcode op) {
    const bool transit = bit(b, kTransitBit), cont = bit(b, kContinueBit);
    const unsigned csg = csg_of(b), nsg = nsg_of(b);
    if (transit && cont) return malformed(op, "T and C bits both set");
    if (csg == 2 || csg == kFullFeatureStage) return malformed(op, "CSG " + std::to_string(csg) + " is not a login stage");
    if (transit && nsg == 2) return malformed(op, "NSG 2 is reserved");
    if (transit && nsg <= csg)
        return malformed(op, "transit from CSG " + std::to_string(csg) + " back to NSG " + std::to_string(nsg));
    return {};
}

Status check_text_flags(const Bhs& b, Opcode op) {
    if (bit(b, kFinalBit) && bit(b, kContinueBit)) return malformed(op, "F and C bits both set");
    return {};
}

}  // namespace

Bhs encode(const LoginRequest& p) {
    // The I bit is always 1 on a Login Request (RFC 7143 §11.12).
    Bhs b = begin(Opcode::LoginRequest, login_flags(p.transit, p.cont, p.csg, p.nsg), p.data_length, true);
    put8(b, 2, p.version_max);
    put8(b, 3, p.version_min);
    std::copy(p.isid.begin(), p.isid.end(), &b.bytes[8]);
    put16(b, 14, p.tsih);
    put32(b, 16, p.itt);
    put16(b, 20, p.cid);
    put32(b, 24, p.cmdsn);
    put32(b, 28, p.expstatsn);
    return b;
}

Result<LoginRequest> decode_login_request(const Bhs& b) {
    ISER_TRY(check_opcode(b, Opcode::LoginRequest));
    ISER_TRY(check_login_stages(b, Opcode::LoginRequest));
    LoginRequest p;
    p.transit = bit(b, kTransitBit);
    p.cont = bit(b, kContinueBit);
    p.csg = csg_of(b);
    p.nsg = nsg_of(b);
    p.version_max = get8(b, 2);
    p.version_min = get8(b, 3);
    std::copy(&b.bytes[8], &b.bytes[14], p.isid.begin());
    p.tsih = get16(b, 14);
    p.itt = get32(b, 16);
    p.cid = get16(b, 20);
    p.cmdsn = get32(b, 24);
    p.expstatsn = get32(b, 28);
    p.data_length = b.data_segment_length();
    return p;
}

Bhs encode(const LoginResponse& p) {
    Bhs b = begin(Opcode::LoginResponse, login_flags(p.transit, p.cont, p.csg, p.nsg), p.data_length);
    put8(b, 2, p.version_max);
    put8(b, 3, p.version_active);
    std::copy(p.isid.begin(), p.isid.end(), &b.bytes[8]);
    put16(b, 14, p.tsih);
    put32(b, 16, p.itt);
    put32(b, 24, p.statsn);
    put32(b, 28, p.expcmdsn);
    put32(b, 32, p.maxcmdsn);
    put8(b, 36, p.status_class);
    put8(b, 37, p.status_detail);
    return b;
}

Result<LoginResponse> decode_login_response(const Bhs& b) {
    ISER_TRY(check_opcode(b, Opcode::LoginResponse));
    const std::uint8_t status_class = get8(b, 36);
    // A failed login is reported by its status; its stage bits carry no meaning worth
    // rejecting the PDU for (the caller wants the status to explain the failure).
    if (status_class == 0) ISER_TRY(check_login_stages(b, Opcode::LoginResponse));
    LoginResponse p;
    p.transit = bit(b, kTransitBit);
    p.cont = bit(b, kContinueBit);
    p.csg = csg_of(b);
    p.nsg = nsg_of(b);
    p.version_max = get8(b, 2);
    p.version_active = get8(b, 3);
    std::copy(&b.bytes[8], &b.bytes[14], p.isid.begin());
    p.tsih = get16(b, 14);
    p.itt = get32(b, 16);
    p.statsn = get32(b, 24);
    p.expcmdsn = get32(b, 28);
    p.maxcmdsn = get32(b, 32);
    p.status_class = status_class;
    p.status_detail = get8(b, 37);
    p.data_length = b.data_segment_length();
    return p;
}

Bhs encode(const TextRequest& p) {
    Bhs b = begin(Opcode::TextRequest, std::uint8_t((p.final ? kFinalBit : 0) | (p.cont ? kContinueBit : 0)),
                  p.data_length);
    put64(b, kLunOffset, p.lun);
    put32(b, 16, p.itt);
    put32(b, 20, p.ttt);
    put32(b, 24, p.cmdsn);
    put32(b, 28, p.expstatsn);
    return b;
}

Result<TextRequest> decode_text_request(const Bhs& b) {
    ISER_TRY(check_opcode(b, Opcode::TextRequest));
    ISER_TRY(check_text_flags(b, Opcode::TextRequest));
    TextRequest p;
    p.final = bit(b, kFinalBit);
    p.cont = bit(b, kContinueBit);
    p.lun = get64(b, kLunOffset);
    p.itt = get32(b, 16);
    p.ttt = get32(b, 20);
    p.cmdsn = get32(b, 24);
    p.expstatsn = get32(b, 28);
    p.data_length = b.data_segment_length();
    return p;
}

Bhs encode(const TextResponse& p) {
    Bhs b = begin(Opcode::TextResponse, std::uint8_t((p.final ? kFinalBit : 0) | (p.cont ? kContinueBit : 0)),
                  p.data_length);
    put64(b, kLunOffset, p.lun);
    put32(b, 16, p.itt);
    put32(b, 20, p.ttt);
    put32(b, 24, p.statsn);
    put32(b, 28, p.expcmdsn);
    put32(b, 32, p.maxcmdsn);
    return b;
}

Result<TextResponse> decode_text_response(const Bhs& b) {
    ISER_TRY(check_opcode(b, Opcode::TextResponse));
    ISER_TRY(check_text_flags(b, Opcode::TextResponse));
    TextResponse p;
    p.final = bit(b, kFinalBit);
    p.cont = bit(b, kContinueBit);
    p.lun = get64(b, kLunOffset);
    p.itt = get32(b, 16);
    p.ttt = get32(b, 20);
    p.statsn = get32(b, 24);
    p.expcmdsn = get32(b, 28);
    p.maxcmdsn = get32(b, 32);
    p.data_length = b.data_segment_length();
    return p;
}

}  // namespace iser::pdu
