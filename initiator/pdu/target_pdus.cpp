// PDUs a target sends, other than Login and Text (RFC 7143 §11.4, §11.6, §11.7, §11.8, §11.9,
// §11.15, §11.17, §11.19). These decoders face the network: they check what the session
// layer relies on and nothing it does not.
#include <string>

#include "initiator/pdu/pdu.hpp"
#include "initiator/pdu/wire.hpp"

namespace iser::pdu {
using namespace wire;

namespace {

// SCSI Response byte 1: 1 . . o u O U .
constexpr std::uint8_t kBidiOverflowBit = 0x10;
constexpr std::uint8_t kBidiUnderflowBit = 0x08;
constexpr std::uint8_t kOverflowBit = 0x04;
constexpr std::uint8_t kUnderflowBit = 0x02;
// Data-In byte 1: F A . . . O U S
constexpr std::uint8_t kAckBit = 0x40;
constexpr std::uint8_t kStatusBit = 0x01;

}  // namespace

Bhs encode(const ScsiResponse& p) {
    const auto f = std::uint8_t(kFinalBit | (p.bidi_overflow ? kBidiOverflowBit : 0) |
                                (p.bidi_underflow ? kBidiUnderflowBit : 0) | (p.overflow ? kOverflowBit : 0) |
                                (p.underflow ? kUnderflowBit : 0));
    Bhs b = begin(Opcode::ScsiResponse, f, p.data_length);
    put8(b, 2, p.response);
    put8(b, 3, p.status);
    put32(b, 16, p.itt);
    put32(b, 20, p.snack_tag);
    put32(b, 24, p.statsn);
    put32(b, 28, p.expcmdsn);
    put32(b, 32, p.maxcmdsn);
    put32(b, 36, p.expdatasn);
    put32(b, 40, p.bidi_residual);
    put32(b, 44, p.residual);
    return b;
}

Result<ScsiResponse> decode_scsi_response(const Bhs& b) {
    constexpr Opcode op = Opcode::ScsiResponse;
    ISER_TRY(check_opcode(b, op));
    ScsiResponse p;
    p.bidi_overflow = bit(b, kBidiOverflowBit);
    p.bidi_underflow = bit(b, kBidiUnderflowBit);
    p.overflow = bit(b, kOverflowBit);
    p.underflow = bit(b, kUnderflowBit);
    if (p.overflow && p.underflow) return malformed(op, "O and U bits both set");
    if (p.bidi_overflow && p.bidi_underflow) return malformed(op, "o and u bits both set");
    p.response = get8(b, 2);
    p.status = get8(b, 3);
    p.itt = get32(b, 16);
    p.snack_tag = get32(b, 20);
    p.statsn = get32(b, 24);
    p.expcmdsn = get32(b, 28);
    p.maxcmdsn = get32(b, 32);
    p.expdatasn = get32(b, 36);
    p.bidi_residual = get32(b, 40);
    p.residual = get32(b, 44);
    p.data_length = b.data_segment_length();
    return p;
}

// Status, O/U and the residual are reserved unless S is set (RFC 7143 §11.7): the encoder
// writes them only with has_status and the decoder reads them only then.
Bhs encode(const DataIn& p) {
    auto f = std::uint8_t((p.final ? kFinalBit : 0) | (p.ack ? kAckBit : 0));
    if (p.has_status)
        f |= std::uint8_t(kStatusBit | (p.overflow ? kOverflowBit : 0) | (p.underflow ? kUnderflowBit : 0));
    Bhs b = begin(Opcode::DataIn, f, p.data_length);
    if (p.has_status) {
        put8(b, 3, p.status);
        put32(b, 44, p.residual);
    }
    put64(b, kLunOffset, p.lun);
    put32(b, 16, p.itt);
    put32(b, 20, p.ttt);
    put32(b, 24, p.statsn);
    put32(b, 28, p.expcmdsn);
    put32(b, 32, p.maxcmdsn);
    put32(b, 36, p.datasn);
    put32(b, 40, p.buffer_offset);
    return b;
}

Result<DataIn> decode_data_in(const Bhs& b) {
    constexpr Opcode op = Opcode::DataIn;
    ISER_TRY(check_opcode(b, op));
    DataIn p;
    p.final = bit(b, kFinalBit);
    p.ack = bit(b, kAckBit);
    p.has_status = bit(b, kStatusBit);
    if (p.has_status && !p.final) return malformed(op, "S bit without the F bit");
    if (bit(b, kOverflowBit) && bit(b, kUnderflowBit)) return malformed(op, "O and U bits both set");
    if (p.has_status) {
        p.overflow = bit(b, kOverflowBit);
        p.underflow = bit(b, kUnderflowBit);
        p.status = get8(b, 3);
        p.residual = get32(b, 44);
    }
    p.lun = get64(b, kLunOffset);
    p.itt = get32(b, 16);
    p.ttt = get32(b, 20);
    p.statsn = get32(b, 24);
    p.expcmdsn = get32(b, 28);
    p.maxcmdsn = get32(b, 32);
    p.datasn = get32(b, 36);
    p.buffer_offset = get32(b, 40);
    p.data_length = b.data_segment_length();
    return p;
}

Bhs encode(const R2T& p) {
    Bhs b = begin(Opcode::R2T, kFinalBit);
    put64(b, kLunOffset, p.lun);
    put32(b, 16, p.itt);
    put32(b, 20, p.ttt);
    put32(b, 24, p.statsn);
    put32(b, 28, p.expcmdsn);
    put32(b, 32, p.maxcmdsn);
    put32(b, 36, p.r2tsn);
    put32(b, 40, p.buffer_offset);
    put32(b, 44, p.desired_length);
    return b;
}

Result<R2T> decode_r2t(const Bhs& b) {
    constexpr Opcode op = Opcode::R2T;
    ISER_TRY(check_opcode(b, op));
    ISER_TRY(check_no_data(b, op));
    R2T p;
    p.lun = get64(b, kLunOffset);
    p.itt = get32(b, 16);
    p.ttt = get32(b, 20);
    p.statsn = get32(b, 24);
    p.expcmdsn = get32(b, 28);
    p.maxcmdsn = get32(b, 32);
    p.r2tsn = get32(b, 36);
    p.buffer_offset = get32(b, 40);
    p.desired_length = get32(b, 44);
    // The Data-Out PDUs answering an R2T must echo a real TTT, and asking for 0 bytes is
    // forbidden (RFC 7143 §11.8.4).
    if (p.ttt == kReservedTag) return malformed(op, "Target Transfer Tag 0xffffffff");
    if (p.desired_length == 0) return malformed(op, "Desired Data Transfer Length 0");
    return p;
}

Bhs encode(const NopIn& p) {
    Bhs b = begin(Opcode::NopIn, kFinalBit, p.data_length);
    put64(b, kLunOffset, p.lun);
    put32(b, 16, p.itt);
    put32(b, 20, p.ttt);
    put32(b, 24, p.statsn);
    put32(b, 28, p.expcmdsn);
    put32(b, 32, p.maxcmdsn);
    return b;
}

Result<NopIn> decode_nop_in(const Bhs& b) {
    constexpr Opcode op = Opcode::NopIn;
    ISER_TRY(check_opcode(b, op));
    NopIn p;
    p.lun = get64(b, kLunOffset);
    p.itt = get32(b, 16);
    p.ttt = get32(b, 20);
    p.statsn = get32(b, 24);
    p.expcmdsn = get32(b, 28);
    p.maxcmdsn = get32(b, 32);
    p.data_length = b.data_segment_length();
    // Either the answer to our ping (our ITT, no TTT) or the target's own ping (no ITT).
    if (p.itt != kReservedTag && p.ttt != kReservedTag) return malformed(op, "both ITT and TTT are set");
    return p;
}

Bhs encode(const TaskMgmtResponse& p) {
    Bhs b = begin(Opcode::TaskMgmtResponse, kFinalBit);
    put8(b, 2, p.response);
    put32(b, 16, p.itt);
    put32(b, 24, p.statsn);
    put32(b, 28, p.expcmdsn);
    put32(b, 32, p.maxcmdsn);
    return b;
}

Result<TaskMgmtResponse> decode_task_mgmt_response(const Bhs& b) {
    constexpr Opcode op = Opcode::TaskMgmtResponse;
    ISER_TRY(check_opcode(b, op));
    ISER_TRY(check_no_data(b, op));
    TaskMgmtResponse p;
    p.response = get8(b, 2);
    p.itt = get32(b, 16);
    p.statsn = get32(b, 24);
    p.expcmdsn = get32(b, 28);
    p.maxcmdsn = get32(b, 32);
    return p;
}

Bhs encode(const LogoutResponse& p) {
    Bhs b = begin(Opcode::LogoutResponse, kFinalBit);
    put8(b, 2, p.response);
    put32(b, 16, p.itt);
    put32(b, 24, p.statsn);
    put32(b, 28, p.expcmdsn);
    put32(b, 32, p.maxcmdsn);
    put16(b, 40, p.time2wait);
    put16(b, 42, p.time2retain);
    return b;
}

Result<LogoutResponse> decode_logout_response(const Bhs& b) {
    constexpr Opcode op = Opcode::LogoutResponse;
    ISER_TRY(check_opcode(b, op));
    ISER_TRY(check_no_data(b, op));
    LogoutResponse p;
    p.response = get8(b, 2);
    p.itt = get32(b, 16);
    p.statsn = get32(b, 24);
    p.expcmdsn = get32(b, 28);
    p.maxcmdsn = get32(b, 32);
    p.time2wait = get16(b, 40);
    p.time2retain = get16(b, 42);
    return p;
}

Bhs encode(const AsyncMessage& p) {
    Bhs b = begin(Opcode::AsyncMessage, kFinalBit, p.data_length);
    put64(b, kLunOffset, p.lun);
    put32(b, 16, kReservedTag);
    put32(b, 24, p.statsn);
    put32(b, 28, p.expcmdsn);
    put32(b, 32, p.maxcmdsn);
    put8(b, 36, p.event);
    put8(b, 37, p.vcode);
    put16(b, 38, p.param1);
    put16(b, 40, p.param2);
    put16(b, 42, p.param3);
    return b;
}

Result<AsyncMessage> decode_async_message(const Bhs& b) {
    ISER_TRY(check_opcode(b, Opcode::AsyncMessage));
    AsyncMessage p;
    p.lun = get64(b, kLunOffset);
    p.statsn = get32(b, 24);
    p.expcmdsn = get32(b, 28);
    p.maxcmdsn = get32(b, 32);
    p.event = get8(b, 36);
    p.vcode = get8(b, 37);
    p.param1 = get16(b, 38);
    p.param2 = get16(b, 40);
    p.param3 = get16(b, 42);
    p.data_length = b.data_segment_length();
    return p;
}

Bhs encode(const Reject& p) {
    Bhs b = begin(Opcode::Reject, kFinalBit, p.data_length);
    put8(b, 2, p.reason);
    put32(b, 16, kReservedTag);
    put32(b, 24, p.statsn);
    put32(b, 28, p.expcmdsn);
    put32(b, 32, p.maxcmdsn);
    put32(b, 36, p.datasn);
    return b;
}

Result<Reject> decode_reject(const Bhs& b) {
    constexpr Opcode op = Opcode::Reject;
    ISER_TRY(check_opcode(b, op));
    Reject p;
    p.reason = get8(b, 2);
    p.statsn = get32(b, 24);
    p.expcmdsn = get32(b, 28);
    p.maxcmdsn = get32(b, 32);
    p.datasn = get32(b, 36);
    p.data_length = b.data_segment_length();
    // The session finds the rejected command through the header in the data segment.
    if (p.data_length < kBhsSize)
        return malformed(op, "data segment of " + std::to_string(p.data_length) + " bytes cannot hold the rejected BHS");
    return p;
}

}  // namespace iser::pdu
