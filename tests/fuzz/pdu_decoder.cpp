// libFuzzer target for the PDU codec. The input's first 48 bytes are a BHS: parse_framing
// and the decoder for its opcode run on it, every other decoder must refuse it, and whatever
// decodes must survive encode -> decode -> encode unchanged. The whole input is also fed to
// the iSER header decoder with the same round-trip check. Any broken invariant aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "initiator/pdu/iser_header.hpp"
#include "initiator/pdu/pdu.hpp"

namespace {

using namespace iser::pdu;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "pdu_decoder: %s\n", what);
    std::abort();
}

// Returns true when `decode` accepted the BHS.
template <class Decode>
bool round_trip(const Bhs& in, Decode decode) {
    auto first = decode(in);
    if (!first.ok()) {
        if (first.error().code != EPROTO || first.error().message.empty()) fail("decoder error is not EPROTO");
        return false;
    }
    const Bhs once = encode(*first);
    auto second = decode(once);
    if (!second.ok()) fail("decoder refuses what the encoder produced from its own output");
    const Bhs twice = encode(*second);
    if (once.bytes != twice.bytes) fail("encode(decode(encode(decode(x)))) differs from encode(decode(x))");
    if (once.opcode() != in.opcode()) fail("round trip changed the opcode");
    if (once.data_segment_length() != in.data_segment_length()) fail("round trip changed DataSegmentLength");
    if (once.bytes[4] != 0) fail("encoder wrote a TotalAHSLength");
    return true;
}

bool decode_as(Opcode op, const Bhs& b) {
    switch (op) {
    case Opcode::NopOut: return round_trip(b, decode_nop_out);
    case Opcode::ScsiCommand: return round_trip(b, decode_scsi_command);
    case Opcode::TaskMgmtRequest: return round_trip(b, decode_task_mgmt_request);
    case Opcode::LoginRequest: return round_trip(b, decode_login_request);
    case Opcode::TextRequest: return round_trip(b, decode_text_request);
    case Opcode::DataOut: return round_trip(b, decode_data_out);
    case Opcode::LogoutRequest: return round_trip(b, decode_logout_request);
    case Opcode::SnackRequest: return round_trip(b, decode_snack_request);
    case Opcode::NopIn: return round_trip(b, decode_nop_in);
    case Opcode::ScsiResponse: return round_trip(b, decode_scsi_response);
    case Opcode::TaskMgmtResponse: return round_trip(b, decode_task_mgmt_response);
    case Opcode::LoginResponse: return round_trip(b, decode_login_response);
    case Opcode::TextResponse: return round_trip(b, decode_text_response);
    case Opcode::DataIn: return round_trip(b, decode_data_in);
    case Opcode::LogoutResponse: return round_trip(b, decode_logout_response);
    case Opcode::R2T: return round_trip(b, decode_r2t);
    case Opcode::AsyncMessage: return round_trip(b, decode_async_message);
    case Opcode::Reject: return round_trip(b, decode_reject);
    }
    return false;
}

constexpr Opcode kAllOpcodes[] = {
    Opcode::NopOut, Opcode::ScsiCommand, Opcode::TaskMgmtRequest, Opcode::LoginRequest, Opcode::TextRequest,
    Opcode::DataOut, Opcode::LogoutRequest, Opcode::SnackRequest, Opcode::NopIn, Opcode::ScsiResponse,
    Opcode::TaskMgmtResponse, Opcode::LoginResponse, Opcode::TextResponse, Opcode::DataIn,
    Opcode::LogoutResponse, Opcode::R2T, Opcode::AsyncMessage, Opcode::Reject,
};

void fuzz_bhs(const Bhs& b) {
    for (std::uint32_t limit : {std::uint32_t(8192), kMaxDataSegment}) {
        auto f = parse_framing(b, limit);
        const bool acceptable = is_known_opcode(std::uint8_t(b.opcode())) && b.data_segment_length() <= limit;
        if (f.ok() != acceptable) fail("parse_framing accepts exactly known opcodes within the limit");
        if (f.ok()) {
            if (f->data_bytes > limit) fail("parse_framing let an oversize segment through");
            if (f->padded_data_bytes % 4 != 0 || f->padded_data_bytes < f->data_bytes ||
                f->padded_data_bytes - f->data_bytes > 3)
                fail("bad padding");
            if (f->ahs_bytes != b.total_ahs_bytes()) fail("AHS length mismatch");
        }
    }
    for (Opcode op : kAllOpcodes) {
        const bool accepted = decode_as(op, b);
        if (accepted && op != b.opcode()) fail("a decoder accepted another PDU's opcode");
    }
}

void fuzz_iser_header(const std::uint8_t* data, std::size_t size) {
    auto h = decode_iser_header(iser::Bytes(data, size));
    if (!h.ok()) {
        if (size >= kIserHeaderSize && ((data[0] & 0xf0) == kIserOpcodeControl)) fail("valid iSER opcode refused");
        return;
    }
    std::uint8_t once[kIserHeaderSize], twice[kIserHeaderSize];
    encode_iser_header(*h, once);
    auto again = decode_iser_header(iser::Bytes(once, sizeof once));
    if (!again.ok()) fail("iSER decoder refuses its encoder's output");
    encode_iser_header(*again, twice);
    if (std::memcmp(once, twice, sizeof once) != 0) fail("iSER header round trip unstable");
    // Everything but the reserved bytes 1..3 survives verbatim.
    if (once[0] != data[0] || std::memcmp(once + 4, data + 4, kIserHeaderSize - 4) != 0)
        fail("iSER header round trip lost a field");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz_iser_header(data, size);
    if (size < kBhsSize) return 0;
    Bhs b;
    std::memcpy(b.bytes.data(), data, kBhsSize);
    fuzz_bhs(b);
    return 0;
}
