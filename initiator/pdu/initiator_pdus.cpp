// PDUs an initiator sends, other than Login and Text (RFC 7143 §11.3, §11.5, §11.7, §11.14,
// §11.16, §11.18). Decoders exist for the fake target of the session tests and the fuzzers.
#include <algorithm>
#include <string>

#include "initiator/pdu/pdu.hpp"
#include "initiator/pdu/wire.hpp"

namespace iser::pdu {
using namespace wire;

namespace {

// SCSI Command byte 1: F R W . . ATTR(3).
constexpr std::uint8_t kReadBit = 0x40;
constexpr std::uint8_t kWriteBit = 0x20;
constexpr std::uint8_t kTaskAttrMask = 0x07;
constexpr std::uint8_t kMaxTaskAttr = 4;  // ACA; 5..7 are reserved
constexpr std::size_t kCdbOffset = 32;

// Task Management, Logout and SNACK keep bit 7 of byte 1 at 1 and a code in the rest.
constexpr std::uint8_t kCodeMask7 = 0x7f;
constexpr std::uint8_t kSnackTypeMask = 0x0f;
constexpr std::uint8_t kMaxLogoutReason = 2;  // remove the connection for recovery
constexpr std::uint8_t kMaxSnackType = 3;     // R-Data SNACK

}  // namespace

Bhs encode(const ScsiCommand& p) {
    const auto f = std::uint8_t((p.final ? kFinalBit : 0) | (p.read ? kReadBit : 0) | (p.write ? kWriteBit : 0) |
                                (p.task_attr & kTaskAttrMask));
    Bhs b = begin(Opcode::ScsiCommand, f, p.data_length, p.immediate);
    put64(b, kLunOffset, p.lun);
    put32(b, 16, p.itt);
    put32(b, 20, p.expected_length);
    put32(b, 24, p.cmdsn);
    put32(b, 28, p.expstatsn);
    std::copy(p.cdb.begin(), p.cdb.end(), &b.bytes[kCdbOffset]);
    return b;
}

Result<ScsiCommand> decode_scsi_command(const Bhs& b) {
    constexpr Opcode op = Opcode::ScsiCommand;
    ISER_TRY(check_opcode(b, op));
    ScsiCommand p;
    p.immediate = b.immediate();
    p.final = bit(b, kFinalBit);
    p.read = bit(b, kReadBit);
    p.write = bit(b, kWriteBit);
    p.task_attr = flags(b) & kTaskAttrMask;
    p.lun = get64(b, kLunOffset);
    p.itt = get32(b, 16);
    p.expected_length = get32(b, 20);
    p.cmdsn = get32(b, 24);
    p.expstatsn = get32(b, 28);
    std::copy(&b.bytes[kCdbOffset], &b.bytes[kCdbOffset + 16], p.cdb.begin());
    p.data_length = b.data_segment_length();
    if (p.task_attr > kMaxTaskAttr) return malformed(op, "reserved task attribute " + std::to_string(p.task_attr));
    if (!p.write && p.data_length != 0) return malformed(op, "immediate data without the W bit");
    if (!p.write && !p.final) return malformed(op, "unsolicited data announced (F clear) without the W bit");
    if (!p.read && !p.write && p.expected_length != 0)
        return malformed(op, "Expected Data Transfer Length " + std::to_string(p.expected_length) +
                                 " with neither R nor W set");
    return p;
}

Bhs encode(const DataOut& p) {
    Bhs b = begin(Opcode::DataOut, p.final ? kFinalBit : 0, p.data_length);
    put64(b, kLunOffset, p.lun);
    put32(b, 16, p.itt);
    put32(b, 20, p.ttt);
    put32(b, 28, p.expstatsn);
    put32(b, 36, p.datasn);
    put32(b, 40, p.buffer_offset);
    return b;
}

Result<DataOut> decode_data_out(const Bhs& b) {
    ISER_TRY(check_opcode(b, Opcode::DataOut));
    DataOut p;
    p.final = bit(b, kFinalBit);
    p.lun = get64(b, kLunOffset);
    p.itt = get32(b, 16);
    p.ttt = get32(b, 20);
    p.expstatsn = get32(b, 28);
    p.datasn = get32(b, 36);
    p.buffer_offset = get32(b, 40);
    p.data_length = b.data_segment_length();
    return p;
}

Bhs encode(const NopOut& p) {
    Bhs b = begin(Opcode::NopOut, kFinalBit, p.data_length, p.immediate);
    put64(b, kLunOffset, p.lun);
    put32(b, 16, p.itt);
    put32(b, 20, p.ttt);
    put32(b, 24, p.cmdsn);
    put32(b, 28, p.expstatsn);
    return b;
}

Result<NopOut> decode_nop_out(const Bhs& b) {
    constexpr Opcode op = Opcode::NopOut;
    ISER_TRY(check_opcode(b, op));
    NopOut p;
    p.immediate = b.immediate();
    p.lun = get64(b, kLunOffset);
    p.itt = get32(b, 16);
    p.ttt = get32(b, 20);
    p.cmdsn = get32(b, 24);
    p.expstatsn = get32(b, 28);
    p.data_length = b.data_segment_length();
    // A NOP-Out either pings (valid ITT, no TTT) or answers a NOP-In (no ITT, its TTT);
    // without an ITT it expects no answer and must be immediate (RFC 7143 §11.18).
    if (p.itt != kReservedTag && p.ttt != kReservedTag) return malformed(op, "both ITT and TTT are set");
    if (p.itt == kReservedTag && !p.immediate) return malformed(op, "ITT 0xffffffff without the I bit");
    return p;
}

Bhs encode(const TaskMgmtRequest& p) {
    Bhs b = begin(Opcode::TaskMgmtRequest, std::uint8_t(kFinalBit | (p.function & kCodeMask7)), 0, p.immediate);
    put64(b, kLunOffset, p.lun);
    put32(b, 16, p.itt);
    put32(b, 20, p.referenced_itt);
    put32(b, 24, p.cmdsn);
    put32(b, 28, p.expstatsn);
    put32(b, 32, p.refcmdsn);
    put32(b, 36, p.expdatasn);
    return b;
}

Result<TaskMgmtRequest> decode_task_mgmt_request(const Bhs& b) {
    constexpr Opcode op = Opcode::TaskMgmtRequest;
    ISER_TRY(check_opcode(b, op));
    ISER_TRY(check_no_data(b, op));
    TaskMgmtRequest p;
    p.immediate = b.immediate();
    p.function = flags(b) & kCodeMask7;
    p.lun = get64(b, kLunOffset);
    p.itt = get32(b, 16);
    p.referenced_itt = get32(b, 20);
    p.cmdsn = get32(b, 24);
    p.expstatsn = get32(b, 28);
    p.refcmdsn = get32(b, 32);
    p.expdatasn = get32(b, 36);
    if (p.function == 0) return malformed(op, "function 0 does not exist");
    return p;
}

Bhs encode(const LogoutRequest& p) {
    Bhs b = begin(Opcode::LogoutRequest, std::uint8_t(kFinalBit | (p.reason & kCodeMask7)), 0, p.immediate);
    put32(b, 16, p.itt);
    put16(b, 20, p.cid);
    put32(b, 24, p.cmdsn);
    put32(b, 28, p.expstatsn);
    return b;
}

Result<LogoutRequest> decode_logout_request(const Bhs& b) {
    constexpr Opcode op = Opcode::LogoutRequest;
    ISER_TRY(check_opcode(b, op));
    ISER_TRY(check_no_data(b, op));
    LogoutRequest p;
    p.immediate = b.immediate();
    p.reason = flags(b) & kCodeMask7;
    p.itt = get32(b, 16);
    p.cid = get16(b, 20);
    p.cmdsn = get32(b, 24);
    p.expstatsn = get32(b, 28);
    if (p.reason > kMaxLogoutReason) return malformed(op, "reserved reason code " + std::to_string(p.reason));
    return p;
}

Bhs encode(const SnackRequest& p) {
    Bhs b = begin(Opcode::SnackRequest, std::uint8_t(kFinalBit | (p.type & kSnackTypeMask)));
    put64(b, kLunOffset, p.lun);
    put32(b, 16, p.itt);
    put32(b, 20, p.ttt);
    put32(b, 28, p.expstatsn);
    put32(b, 40, p.begrun);
    put32(b, 44, p.runlength);
    return b;
}

Result<SnackRequest> decode_snack_request(const Bhs& b) {
    constexpr Opcode op = Opcode::SnackRequest;
    ISER_TRY(check_opcode(b, op));
    ISER_TRY(check_no_data(b, op));
    SnackRequest p;
    p.type = flags(b) & kSnackTypeMask;
    p.lun = get64(b, kLunOffset);
    p.itt = get32(b, 16);
    p.ttt = get32(b, 20);
    p.expstatsn = get32(b, 28);
    p.begrun = get32(b, 40);
    p.runlength = get32(b, 44);
    if (p.type > kMaxSnackType) return malformed(op, "reserved type " + std::to_string(p.type));
    return p;
}

}  // namespace iser::pdu
