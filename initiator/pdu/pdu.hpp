// iSCSI PDUs (RFC 7143 §11): the 48-byte Basic Header Segment of every PDU an initiator
// sends or receives, as plain structs with an encoder and a validating decoder each.
// Pure: no I/O, no allocation. Both directions are implemented for every PDU so that the
// fake target of the session unit tests and the fuzzers can use the same codec.
#pragma once
#include <array>
#include <cstdint>
#include <span>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace iser::pdu {

inline constexpr std::size_t kBhsSize = 48;
inline constexpr std::uint32_t kReservedTag = 0xffffffffu;  // ITT/TTT "no tag"
// Largest data segment a decoder accepts from the wire (DataSegmentLength is 24 bits).
inline constexpr std::uint32_t kMaxDataSegment = 0xffffff;

enum class Opcode : std::uint8_t {
    NopOut = 0x00, ScsiCommand = 0x01, TaskMgmtRequest = 0x02, LoginRequest = 0x03,
    TextRequest = 0x04, DataOut = 0x05, LogoutRequest = 0x06, SnackRequest = 0x10,
    NopIn = 0x20, ScsiResponse = 0x21, TaskMgmtResponse = 0x22, LoginResponse = 0x23,
    TextResponse = 0x24, DataIn = 0x25, LogoutResponse = 0x26, R2T = 0x31,
    AsyncMessage = 0x32, Reject = 0x3f,
};

// Raw BHS with accessors for the fields every PDU shares.
struct Bhs {
    std::array<std::uint8_t, kBhsSize> bytes{};

    Opcode opcode() const { return Opcode(bytes[0] & 0x3f); }
    bool immediate() const { return bytes[0] & 0x40; }
    std::uint32_t total_ahs_bytes() const { return std::uint32_t(bytes[4]) * 4; }
    std::uint32_t data_segment_length() const { return load_be24(&bytes[5]); }
    std::uint32_t itt() const { return load_be32(&bytes[16]); }
};
static_assert(sizeof(Bhs) == kBhsSize);

// Lengths that follow a BHS on the wire, validated against a receive limit.
struct Framing {
    std::uint32_t ahs_bytes;           // TotalAHSLength * 4
    std::uint32_t data_bytes;          // DataSegmentLength
    std::uint32_t padded_data_bytes;   // rounded up to 4
};
// Fails (EPROTO) when the opcode is unknown or DataSegmentLength exceeds max_data_segment.
Result<Framing> parse_framing(const Bhs& bhs, std::uint32_t max_data_segment);
// True for the 18 opcodes of the Opcode enum (the 6-bit opcode field, I bit stripped).
bool is_known_opcode(std::uint8_t opcode);

inline std::uint32_t pad4(std::uint32_t n) { return (n + 3u) & ~3u; }

// SAM-5 single-level LUN encoding: peripheral addressing below 256, flat space up to 16383,
// extended flat space up to 0xffffff. The uint64 is the 8-byte LUN field read big-endian (the
// `lun` members of the PDU structs below hold this wire form). decode_lun returns kInvalidLun
// for anything else (hierarchical LUNs, other buses, well-known LUNs); encode_lun returns
// kLunNotSpecified for a number above 0xffffff.
inline constexpr std::uint32_t kInvalidLun = 0xffffffffu;
inline constexpr std::uint64_t kLunNotSpecified = ~std::uint64_t(0);
std::uint64_t encode_lun(std::uint32_t lun);
std::uint32_t decode_lun(std::uint64_t wire);

using Isid = std::array<std::uint8_t, 6>;

// ---- initiator -> target ----------------------------------------------------------------
struct LoginRequest {
    bool transit = false, cont = false;
    std::uint8_t csg = 0, nsg = 0;          // 0 security, 1 operational, 3 full feature
    std::uint8_t version_max = 0, version_min = 0;
    Isid isid{};
    std::uint16_t tsih = 0;
    std::uint32_t itt = 0;
    std::uint16_t cid = 0;
    std::uint32_t cmdsn = 0, expstatsn = 0;
    std::uint32_t data_length = 0;
};
struct TextRequest {
    bool final = true, cont = false;
    std::uint64_t lun = 0;
    std::uint32_t itt = 0, ttt = kReservedTag, cmdsn = 0, expstatsn = 0;
    std::uint32_t data_length = 0;
};
struct ScsiCommand {
    bool immediate = false, final = true, read = false, write = false;
    std::uint8_t task_attr = 1;  // 0 untagged, 1 simple, 2 ordered, 3 head of queue, 4 ACA
    std::uint64_t lun = 0;
    std::uint32_t itt = 0, expected_length = 0, cmdsn = 0, expstatsn = 0;
    std::array<std::uint8_t, 16> cdb{};
    std::uint32_t data_length = 0;  // immediate data in this PDU
};
struct DataOut {
    bool final = true;
    std::uint64_t lun = 0;
    std::uint32_t itt = 0, ttt = kReservedTag, expstatsn = 0, datasn = 0, buffer_offset = 0;
    std::uint32_t data_length = 0;
};
struct NopOut {
    bool immediate = true;
    std::uint64_t lun = 0;
    std::uint32_t itt = 0, ttt = kReservedTag, cmdsn = 0, expstatsn = 0;
    std::uint32_t data_length = 0;
};
struct TaskMgmtRequest {
    bool immediate = true;
    std::uint8_t function = 0;  // 1 ABORT TASK ... 5 LOGICAL UNIT RESET, 6 TARGET WARM RESET ...
    std::uint64_t lun = 0;
    std::uint32_t itt = 0, referenced_itt = kReservedTag, cmdsn = 0, expstatsn = 0;
    std::uint32_t refcmdsn = 0, expdatasn = 0;
};
struct LogoutRequest {
    bool immediate = true;
    std::uint8_t reason = 0;  // 0 close session, 1 close connection, 2 remove for recovery
    std::uint32_t itt = 0;
    std::uint16_t cid = 0;
    std::uint32_t cmdsn = 0, expstatsn = 0;
};
struct SnackRequest {
    std::uint8_t type = 0;
    std::uint64_t lun = 0;
    std::uint32_t itt = 0, ttt = kReservedTag, expstatsn = 0, begrun = 0, runlength = 0;
};

// ---- target -> initiator ----------------------------------------------------------------
struct LoginResponse {
    bool transit = false, cont = false;
    std::uint8_t csg = 0, nsg = 0, version_max = 0, version_active = 0;
    Isid isid{};
    std::uint16_t tsih = 0;
    std::uint32_t itt = 0, statsn = 0, expcmdsn = 0, maxcmdsn = 0;
    std::uint8_t status_class = 0, status_detail = 0;
    std::uint32_t data_length = 0;
};
struct TextResponse {
    bool final = true, cont = false;
    std::uint64_t lun = 0;
    std::uint32_t itt = 0, ttt = kReservedTag, statsn = 0, expcmdsn = 0, maxcmdsn = 0;
    std::uint32_t data_length = 0;
};
struct ScsiResponse {
    bool bidi_overflow = false, bidi_underflow = false, overflow = false, underflow = false;
    std::uint8_t response = 0;  // 0 command completed at target
    std::uint8_t status = 0;    // SCSI status
    std::uint32_t itt = 0, snack_tag = 0, statsn = 0, expcmdsn = 0, maxcmdsn = 0, expdatasn = 0;
    std::uint32_t bidi_residual = 0, residual = 0;
    std::uint32_t data_length = 0;  // sense data segment
};
struct DataIn {
    bool final = false, ack = false, overflow = false, underflow = false, has_status = false;
    std::uint8_t status = 0;
    std::uint64_t lun = 0;
    std::uint32_t itt = 0, ttt = kReservedTag, statsn = 0, expcmdsn = 0, maxcmdsn = 0;
    std::uint32_t datasn = 0, buffer_offset = 0, residual = 0;
    std::uint32_t data_length = 0;
};
struct R2T {
    std::uint64_t lun = 0;
    std::uint32_t itt = 0, ttt = 0, statsn = 0, expcmdsn = 0, maxcmdsn = 0;
    std::uint32_t r2tsn = 0, buffer_offset = 0, desired_length = 0;
};
struct NopIn {
    std::uint64_t lun = 0;
    std::uint32_t itt = kReservedTag, ttt = kReservedTag, statsn = 0, expcmdsn = 0, maxcmdsn = 0;
    std::uint32_t data_length = 0;
};
struct TaskMgmtResponse {
    std::uint8_t response = 0;
    std::uint32_t itt = 0, statsn = 0, expcmdsn = 0, maxcmdsn = 0;
};
struct LogoutResponse {
    std::uint8_t response = 0;
    std::uint32_t itt = 0, statsn = 0, expcmdsn = 0, maxcmdsn = 0;
    std::uint16_t time2wait = 0, time2retain = 0;
};
struct AsyncMessage {
    std::uint64_t lun = 0;
    std::uint32_t statsn = 0, expcmdsn = 0, maxcmdsn = 0;
    std::uint8_t event = 0, vcode = 0;
    std::uint16_t param1 = 0, param2 = 0, param3 = 0;
    std::uint32_t data_length = 0;
};
struct Reject {
    std::uint8_t reason = 0;
    std::uint32_t statsn = 0, expcmdsn = 0, maxcmdsn = 0, datasn = 0;
    std::uint32_t data_length = 0;  // the rejected PDU's header travels in the data segment
};

// Encoders fill every byte of the BHS (reserved fields zero).
Bhs encode(const LoginRequest&);
Bhs encode(const TextRequest&);
Bhs encode(const ScsiCommand&);
Bhs encode(const DataOut&);
Bhs encode(const NopOut&);
Bhs encode(const TaskMgmtRequest&);
Bhs encode(const LogoutRequest&);
Bhs encode(const SnackRequest&);
Bhs encode(const LoginResponse&);
Bhs encode(const TextResponse&);
Bhs encode(const ScsiResponse&);
Bhs encode(const DataIn&);
Bhs encode(const R2T&);
Bhs encode(const NopIn&);
Bhs encode(const TaskMgmtResponse&);
Bhs encode(const LogoutResponse&);
Bhs encode(const AsyncMessage&);
Bhs encode(const Reject&);

// Decoders check the opcode and the fields whose values the codec depends on; a mismatch is
// an EPROTO error naming the PDU and the field.
Result<LoginRequest> decode_login_request(const Bhs&);
Result<TextRequest> decode_text_request(const Bhs&);
Result<ScsiCommand> decode_scsi_command(const Bhs&);
Result<DataOut> decode_data_out(const Bhs&);
Result<NopOut> decode_nop_out(const Bhs&);
Result<TaskMgmtRequest> decode_task_mgmt_request(const Bhs&);
Result<LogoutRequest> decode_logout_request(const Bhs&);
Result<SnackRequest> decode_snack_request(const Bhs&);
Result<LoginResponse> decode_login_response(const Bhs&);
Result<TextResponse> decode_text_response(const Bhs&);
Result<ScsiResponse> decode_scsi_response(const Bhs&);
Result<DataIn> decode_data_in(const Bhs&);
Result<R2T> decode_r2t(const Bhs&);
Result<NopIn> decode_nop_in(const Bhs&);
Result<TaskMgmtResponse> decode_task_mgmt_response(const Bhs&);
Result<LogoutResponse> decode_logout_response(const Bhs&);
Result<AsyncMessage> decode_async_message(const Bhs&);
Result<Reject> decode_reject(const Bhs&);

const char* opcode_name(Opcode);

}  // namespace iser::pdu
