// What every BHS shares: opcode names, framing lengths, and the decoders' error shapes.
#include <cstdio>

#include "initiator/pdu/pdu.hpp"
#include "initiator/pdu/wire.hpp"

namespace iser::pdu {

const char* opcode_name(Opcode op) {
    switch (op) {
    case Opcode::NopOut: return "NOP-Out";
    case Opcode::ScsiCommand: return "SCSI Command";
    case Opcode::TaskMgmtRequest: return "Task Management Request";
    case Opcode::LoginRequest: return "Login Request";
    case Opcode::TextRequest: return "Text Request";
    case Opcode::DataOut: return "SCSI Data-Out";
    case Opcode::LogoutRequest: return "Logout Request";
    case Opcode::SnackRequest: return "SNACK Request";
    case Opcode::NopIn: return "NOP-In";
    case Opcode::ScsiResponse: return "SCSI Response";
    case Opcode::TaskMgmtResponse: return "Task Management Response";
    case Opcode::LoginResponse: return "Login Response";
    case Opcode::TextResponse: return "Text Response";
    case Opcode::DataIn: return "SCSI Data-In";
    case Opcode::LogoutResponse: return "Logout Response";
    case Opcode::R2T: return "R2T";
    case Opcode::AsyncMessage: return "Asynchronous Message";
    case Opcode::Reject: return "Reject";
    }
    return "unknown PDU";
}

bool is_known_opcode(std::uint8_t opcode) {
    switch (Opcode(opcode)) {
    case Opcode::NopOut: case Opcode::ScsiCommand: case Opcode::TaskMgmtRequest:
    case Opcode::LoginRequest: case Opcode::TextRequest: case Opcode::DataOut:
    case Opcode::LogoutRequest: case Opcode::SnackRequest: case Opcode::NopIn:
    case Opcode::ScsiResponse: case Opcode::TaskMgmtResponse: case Opcode::LoginResponse:
    case Opcode::TextResponse: case Opcode::DataIn: case Opcode::LogoutResponse:
    case Opcode::R2T: case Opcode::AsyncMessage: case Opcode::Reject:
        return true;
    }
    return false;
}

Result<Framing> parse_framing(const Bhs& bhs, std::uint32_t max_data_segment) {
    const std::uint8_t op = std::uint8_t(bhs.opcode());
    if (!is_known_opcode(op)) {
        char msg[64];
        std::snprintf(msg, sizeof msg, "iSCSI PDU: unknown opcode 0x%02x", op);
        return make_error(EPROTO, msg);
    }
    const std::uint32_t data = bhs.data_segment_length();
    const std::uint32_t limit = max_data_segment < kMaxDataSegment ? max_data_segment : kMaxDataSegment;
    if (data > limit) {
        char msg[128];
        std::snprintf(msg, sizeof msg, "%s: DataSegmentLength %u exceeds the receive limit %u",
                      opcode_name(bhs.opcode()), data, limit);
        return make_error(EPROTO, msg);
    }
    return Framing{bhs.total_ahs_bytes(), data, pad4(data)};
}

namespace wire {

Error malformed(Opcode pdu, const std::string& what) {
    return make_error(EPROTO, std::string(opcode_name(pdu)) + ": " + what);
}

Status check_opcode(const Bhs& b, Opcode expected) {
    if (b.opcode() == expected) return {};
    char msg[32];
    std::snprintf(msg, sizeof msg, "unexpected opcode 0x%02x", unsigned(b.opcode()));
    return malformed(expected, msg);
}

Status check_no_data(const Bhs& b, Opcode pdu) {
    if (b.data_segment_length() == 0) return {};
    return malformed(pdu, "DataSegmentLength " + std::to_string(b.data_segment_length()) + " where none is allowed");
}

}  // namespace wire
}  // namespace iser::pdu
