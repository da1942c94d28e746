// Every decoder refuses a BHS of any other opcode, naming itself and the opcode it saw, and
// the PDUs that carry no data segment refuse one.
#include <cstdio>
#include <functional>
#include <vector>

#include "golden.hpp"

using namespace iser::pdu;

namespace {

struct Decoder {
    Opcode opcode;
    std::function<iser::Status(const Bhs&)> decode;  // the decoded value dropped
};

template <class F>
Decoder wrap(Opcode op, F f) {
    return {op, [f](const Bhs& b) -> iser::Status {
                auto r = f(b);
                if (!r.ok()) return r.take_error();
                return {};
            }};
}

std::vector<Decoder> all_decoders() {
    return {
        wrap(Opcode::LoginRequest, decode_login_request), wrap(Opcode::TextRequest, decode_text_request),
        wrap(Opcode::ScsiCommand, decode_scsi_command), wrap(Opcode::DataOut, decode_data_out),
        wrap(Opcode::NopOut, decode_nop_out), wrap(Opcode::TaskMgmtRequest, decode_task_mgmt_request),
        wrap(Opcode::LogoutRequest, decode_logout_request), wrap(Opcode::SnackRequest, decode_snack_request),
        wrap(Opcode::LoginResponse, decode_login_response), wrap(Opcode::TextResponse, decode_text_response),
        wrap(Opcode::ScsiResponse, decode_scsi_response), wrap(Opcode::DataIn, decode_data_in),
        wrap(Opcode::R2T, decode_r2t), wrap(Opcode::NopIn, decode_nop_in),
        wrap(Opcode::TaskMgmtResponse, decode_task_mgmt_response),
        wrap(Opcode::LogoutResponse, decode_logout_response), wrap(Opcode::AsyncMessage, decode_async_message),
        wrap(Opcode::Reject, decode_reject),
    };
}

}  // namespace

TEST_CASE("every decoder rejects every other opcode") {
    const auto decoders = all_decoders();
    REQUIRE(decoders.size() == 18);
    for (const auto& d : decoders) {
        for (unsigned op = 0; op < 64; ++op) {
            if (Opcode(op) == d.opcode) continue;
            Bhs b;
            b.bytes[0] = std::uint8_t(op);
            auto r = d.decode(b);
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().code == EPROTO);
            char want[96];
            std::snprintf(want, sizeof want, "%s: unexpected opcode 0x%02x", opcode_name(d.opcode), op);
            CHECK(r.error().message == want);
        }
    }
}

TEST_CASE("the I bit and reserved bit 7 of byte 0 do not change the opcode") {
    const Bhs b = encode(ScsiResponse{});
    Bhs flagged = b;
    flagged.bytes[0] |= 0xc0;
    CHECK(decode_scsi_response(flagged).ok());
}

TEST_CASE("PDUs without a data segment refuse one") {
    struct Case { Bhs bhs; std::function<iser::Status(const Bhs&)> decode; const char* name; };
    const auto decoders = all_decoders();
    auto find = [&](Opcode op) {
        for (const auto& d : decoders)
            if (d.opcode == op) return d.decode;
        return decoders[0].decode;
    };
    TaskMgmtRequest tmf;
    tmf.function = 5;
    R2T r2t;
    r2t.desired_length = 1;
    const Case cases[] = {
        {encode(tmf), find(Opcode::TaskMgmtRequest), "Task Management Request"},
        {encode(LogoutRequest{}), find(Opcode::LogoutRequest), "Logout Request"},
        {encode(SnackRequest{}), find(Opcode::SnackRequest), "SNACK Request"},
        {encode(r2t), find(Opcode::R2T), "R2T"},
        {encode(TaskMgmtResponse{}), find(Opcode::TaskMgmtResponse), "Task Management Response"},
        {encode(LogoutResponse{}), find(Opcode::LogoutResponse), "Logout Response"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        CHECK(c.decode(c.bhs).ok());
        Bhs b = c.bhs;
        b.bytes[5] = 0x01;  // DataSegmentLength 65536
        auto r = c.decode(b);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message == std::string(c.name) + ": DataSegmentLength 65536 where none is allowed");
    }
}
