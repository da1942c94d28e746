// SCSI Response, Data-In, R2T, NOP-In, Task Management and Logout responses, Async, Reject.
#include "golden.hpp"

using namespace iser::pdu;
using iser::Result;
using pdu_test::Golden;
using pdu_test::to_bhs;

namespace {

void check_same(const ScsiResponse& a, const ScsiResponse& b) {
    CHECK_FIELD(a, b, bidi_overflow); CHECK_FIELD(a, b, bidi_underflow); CHECK_FIELD(a, b, overflow);
    CHECK_FIELD(a, b, underflow); CHECK_FIELD(a, b, response); CHECK_FIELD(a, b, status); CHECK_FIELD(a, b, itt);
    CHECK_FIELD(a, b, snack_tag); CHECK_FIELD(a, b, statsn); CHECK_FIELD(a, b, expcmdsn);
    CHECK_FIELD(a, b, maxcmdsn); CHECK_FIELD(a, b, expdatasn); CHECK_FIELD(a, b, bidi_residual);
    CHECK_FIELD(a, b, residual); CHECK_FIELD(a, b, data_length);
}
void check_same(const DataIn& a, const DataIn& b) {
    CHECK_FIELD(a, b, final); CHECK_FIELD(a, b, ack); CHECK_FIELD(a, b, overflow); CHECK_FIELD(a, b, underflow);
    CHECK_FIELD(a, b, has_status); CHECK_FIELD(a, b, status); CHECK_FIELD(a, b, lun); CHECK_FIELD(a, b, itt);
    CHECK_FIELD(a, b, ttt); CHECK_FIELD(a, b, statsn); CHECK_FIELD(a, b, expcmdsn); CHECK_FIELD(a, b, maxcmdsn);
    CHECK_FIELD(a, b, datasn); CHECK_FIELD(a, b, buffer_offset); CHECK_FIELD(a, b, residual);
    CHECK_FIELD(a, b, data_length);
}
void check_same(const R2T& a, const R2T& b) {
    CHECK_FIELD(a, b, lun); CHECK_FIELD(a, b, itt); CHECK_FIELD(a, b, ttt); CHECK_FIELD(a, b, statsn);
    CHECK_FIELD(a, b, expcmdsn); CHECK_FIELD(a, b, maxcmdsn); CHECK_FIELD(a, b, r2tsn);
    CHECK_FIELD(a, b, buffer_offset); CHECK_FIELD(a, b, desired_length);
}
void check_same(const NopIn& a, const NopIn& b) {
    CHECK_FIELD(a, b, lun); CHECK_FIELD(a, b, itt); CHECK_FIELD(a, b, ttt); CHECK_FIELD(a, b, statsn);
    CHECK_FIELD(a, b, expcmdsn); CHECK_FIELD(a, b, maxcmdsn); CHECK_FIELD(a, b, data_length);
}
void check_same(const TaskMgmtResponse& a, const TaskMgmtResponse& b) {
    CHECK_FIELD(a, b, response); CHECK_FIELD(a, b, itt); CHECK_FIELD(a, b, statsn); CHECK_FIELD(a, b, expcmdsn);
    CHECK_FIELD(a, b, maxcmdsn);
}
void check_same(const LogoutResponse& a, const LogoutResponse& b) {
    CHECK_FIELD(a, b, response); CHECK_FIELD(a, b, itt); CHECK_FIELD(a, b, statsn); CHECK_FIELD(a, b, expcmdsn);
    CHECK_FIELD(a, b, maxcmdsn); CHECK_FIELD(a, b, time2wait); CHECK_FIELD(a, b, time2retain);
}
void check_same(const AsyncMessage& a, const AsyncMessage& b) {
    CHECK_FIELD(a, b, lun); CHECK_FIELD(a, b, statsn); CHECK_FIELD(a, b, expcmdsn); CHECK_FIELD(a, b, maxcmdsn);
    CHECK_FIELD(a, b, event); CHECK_FIELD(a, b, vcode); CHECK_FIELD(a, b, param1); CHECK_FIELD(a, b, param2);
    CHECK_FIELD(a, b, param3); CHECK_FIELD(a, b, data_length);
}
void check_same(const Reject& a, const Reject& b) {
    CHECK_FIELD(a, b, reason); CHECK_FIELD(a, b, statsn); CHECK_FIELD(a, b, expcmdsn);
    CHECK_FIELD(a, b, maxcmdsn); CHECK_FIELD(a, b, datasn); CHECK_FIELD(a, b, data_length);
}

template <class T, class Decode>
void check_rejected(const Bhs& b, Decode decode, const std::string& message) {
    Result<T> r = decode(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EPROTO);
    CHECK(r.error().message == message);
}

}  // namespace

TEST_CASE("SCSI Response golden bytes: CHECK CONDITION with sense and underflow") {
    ScsiResponse p;
    p.underflow = true;
    p.response = 0x00;
    p.status = 0x02;
    p.itt = 0x11223344;
    p.snack_tag = 0x00000000;
    p.statsn = 0x21222324;
    p.expcmdsn = 0x31323334;
    p.maxcmdsn = 0x41424344;
    p.expdatasn = 0x00000005;
    p.bidi_residual = 0x00000000;
    p.residual = 0x00000200;
    p.data_length = 20;  // 2-byte SenseLength + 18 bytes of fixed-format sense
    const Golden want = {
        0x21, 0x82, 0x00, 0x02,  // 0x21; 1|U; Response 0; Status CHECK CONDITION
        0x00, 0x00, 0x00, 0x14,  // DataSegmentLength 20
        0, 0, 0, 0, 0, 0, 0, 0,  // reserved
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x00, 0x00, 0x00, 0x00,  // SNACK Tag
        0x21, 0x22, 0x23, 0x24,  // StatSN
        0x31, 0x32, 0x33, 0x34,  // ExpCmdSN
        0x41, 0x42, 0x43, 0x44,  // MaxCmdSN
        0x00, 0x00, 0x00, 0x05,  // ExpDataSN
        0x00, 0x00, 0x00, 0x00,  // Bidirectional Read Residual Count
        0x00, 0x00, 0x02, 0x00,  // Residual Count
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_scsi_response(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("SCSI Response flag bits: o 0x10, u 0x08, O 0x04, U 0x02") {
    ScsiResponse p;
    p.bidi_overflow = true;
    CHECK(encode(p).bytes[1] == 0x90);
    p = {};
    p.bidi_underflow = true;
    p.overflow = true;
    p.bidi_residual = 7;
    p.residual = 9;
    p.snack_tag = 0x12345678;
    p.response = 1;
    CHECK(encode(p).bytes[1] == 0x8c);
    auto d = decode_scsi_response(encode(p));
    REQUIRE(d.ok());
    check_same(*d, p);

    Bhs b = encode(ScsiResponse{});
    b.bytes[1] = 0x86;
    check_rejected<ScsiResponse>(b, decode_scsi_response, "SCSI Response: O and U bits both set");
    b.bytes[1] = 0x98;
    check_rejected<ScsiResponse>(b, decode_scsi_response, "SCSI Response: o and u bits both set");
}

TEST_CASE("Data-In golden bytes: last PDU with status and underflow") {
    DataIn p;
    p.final = true;
    p.has_status = true;
    p.underflow = true;
    p.status = 0x00;
    p.lun = encode_lun(1);
    p.itt = 0x11223344;
    p.ttt = kReservedTag;
    p.statsn = 0x21222324;
    p.expcmdsn = 0x31323334;
    p.maxcmdsn = 0x41424344;
    p.datasn = 0x00000002;
    p.buffer_offset = 0x00002000;
    p.residual = 0x00000100;
    p.data_length = 0xf00;
    const Golden want = {
        0x25, 0x83, 0x00, 0x00,  // 0x25; F, U, S; reserved; Status GOOD
        0x00, 0x00, 0x0f, 0x00,  // DataSegmentLength 3840
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LUN 1
        0x11, 0x22, 0x33, 0x44,  // ITT
        0xff, 0xff, 0xff, 0xff,  // TTT
        0x21, 0x22, 0x23, 0x24,  // StatSN
        0x31, 0x32, 0x33, 0x34,  // ExpCmdSN
        0x41, 0x42, 0x43, 0x44,  // MaxCmdSN
        0x00, 0x00, 0x00, 0x02,  // DataSN
        0x00, 0x00, 0x20, 0x00,  // Buffer Offset
        0x00, 0x00, 0x01, 0x00,  // Residual Count
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_data_in(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("Data-In golden bytes: middle PDU asking for an acknowledgement") {
    DataIn p;
    p.ack = true;
    p.lun = encode_lun(0);
    p.itt = 0x11223344;
    p.ttt = 0x55667788;
    p.statsn = 0;
    p.expcmdsn = 0x31323334;
    p.maxcmdsn = 0x41424344;
    p.datasn = 0;
    p.buffer_offset = 0;
    p.data_length = 0x2000;
    const Golden want = {
        0x25, 0x40, 0x00, 0x00,  // 0x25; A
        0x00, 0x00, 0x20, 0x00,  // DataSegmentLength 8192
        0, 0, 0, 0, 0, 0, 0, 0,  // LUN 0
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x55, 0x66, 0x77, 0x88,  // TTT
        0x00, 0x00, 0x00, 0x00,  // StatSN (reserved without S)
        0x31, 0x32, 0x33, 0x34,  // ExpCmdSN
        0x41, 0x42, 0x43, 0x44,  // MaxCmdSN
        0, 0, 0, 0,              // DataSN
        0, 0, 0, 0,              // Buffer Offset
        0, 0, 0, 0,              // Residual Count (reserved without S)
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_data_in(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("Data-In without S ignores the status-only fields") {
    DataIn p;
    p.final = true;
    Bhs b = encode(p);
    b.bytes[1] |= 0x02;  // U without S
    b.bytes[3] = 0x02;   // a status byte without S
    b.bytes[47] = 0x10;  // a residual without S
    auto d = decode_data_in(b);
    REQUIRE(d.ok());
    CHECK_FALSE(d->underflow);
    CHECK(d->status == 0);
    CHECK(d->residual == 0);
    // ... and the encoder writes none of them without has_status.
    p.underflow = true;
    p.status = 2;
    p.residual = 16;
    CHECK(encode(p).bytes[1] == 0x80);
    CHECK(encode(p).bytes[3] == 0);
    CHECK(encode(p).bytes[47] == 0);
}

TEST_CASE("Data-In decoder rejects S without F and O with U") {
    Bhs b = encode(DataIn{});
    b.bytes[1] = 0x01;
    check_rejected<DataIn>(b, decode_data_in, "SCSI Data-In: S bit without the F bit");
    b.bytes[1] = 0x87;
    check_rejected<DataIn>(b, decode_data_in, "SCSI Data-In: O and U bits both set");
}

TEST_CASE("R2T golden bytes") {
    R2T p;
    p.lun = encode_lun(6);
    p.itt = 0x11223344;
    p.ttt = 0x55667788;
    p.statsn = 0x21222324;
    p.expcmdsn = 0x31323334;
    p.maxcmdsn = 0x41424344;
    p.r2tsn = 0x00000001;
    p.buffer_offset = 0x00010000;
    p.desired_length = 0x00040000;
    const Golden want = {
        0x31, 0x80, 0x00, 0x00,  // 0x31; bit 7 of byte 1 is always 1
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LUN 6
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x55, 0x66, 0x77, 0x88,  // TTT
        0x21, 0x22, 0x23, 0x24,  // StatSN
        0x31, 0x32, 0x33, 0x34,  // ExpCmdSN
        0x41, 0x42, 0x43, 0x44,  // MaxCmdSN
        0x00, 0x00, 0x00, 0x01,  // R2TSN
        0x00, 0x01, 0x00, 0x00,  // Buffer Offset
        0x00, 0x04, 0x00, 0x00,  // Desired Data Transfer Length
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_r2t(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);

    R2T bad = p;
    bad.desired_length = 0;
    check_rejected<R2T>(encode(bad), decode_r2t, "R2T: Desired Data Transfer Length 0");
    bad = p;
    bad.ttt = kReservedTag;
    check_rejected<R2T>(encode(bad), decode_r2t, "R2T: Target Transfer Tag 0xffffffff");
    Bhs b = encode(p);
    b.bytes[7] = 4;
    check_rejected<R2T>(b, decode_r2t, "R2T: DataSegmentLength 4 where none is allowed");
}

TEST_CASE("NOP-In golden bytes: the target pings us") {
    NopIn p;
    p.lun = encode_lun(0);
    p.itt = kReservedTag;
    p.ttt = 0x55667788;
    p.statsn = 0x21222324;
    p.expcmdsn = 0x31323334;
    p.maxcmdsn = 0x41424344;
    const Golden want = {
        0x20, 0x80, 0x00, 0x00,  // 0x20
        0x00, 0x00, 0x00, 0x00,
        0, 0, 0, 0, 0, 0, 0, 0,  // LUN
        0xff, 0xff, 0xff, 0xff,  // ITT
        0x55, 0x66, 0x77, 0x88,  // TTT
        0x21, 0x22, 0x23, 0x24,  // StatSN
        0x31, 0x32, 0x33, 0x34,  // ExpCmdSN
        0x41, 0x42, 0x43, 0x44,  // MaxCmdSN
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_nop_in(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);

    // The answer to our ping, echoing 4 bytes of ping data.
    NopIn answer;
    answer.itt = 0x11223344;
    answer.data_length = 4;
    d = decode_nop_in(encode(answer));
    REQUIRE(d.ok());
    check_same(*d, answer);

    answer.ttt = 1;
    check_rejected<NopIn>(encode(answer), decode_nop_in, "NOP-In: both ITT and TTT are set");
}

TEST_CASE("Task Management Response golden bytes") {
    TaskMgmtResponse p;
    p.response = 0x05;  // function rejected
    p.itt = 0x11223344;
    p.statsn = 0x21222324;
    p.expcmdsn = 0x31323334;
    p.maxcmdsn = 0x41424344;
    const Golden want = {
        0x22, 0x80, 0x05, 0x00,  // 0x22; 1; Response; reserved
        0x00, 0x00, 0x00, 0x00,
        0, 0, 0, 0, 0, 0, 0, 0,  // reserved
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x00, 0x00, 0x00, 0x00,  // reserved
        0x21, 0x22, 0x23, 0x24,  // StatSN
        0x31, 0x32, 0x33, 0x34,  // ExpCmdSN
        0x41, 0x42, 0x43, 0x44,  // MaxCmdSN
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_task_mgmt_response(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("Logout Response golden bytes") {
    LogoutResponse p;
    p.response = 0x00;
    p.itt = 0x11223344;
    p.statsn = 0x21222324;
    p.expcmdsn = 0x31323334;
    p.maxcmdsn = 0x41424344;
    p.time2wait = 0x0002;
    p.time2retain = 0x0014;
    const Golden want = {
        0x26, 0x80, 0x00, 0x00,  // 0x26; 1; Response; reserved
        0x00, 0x00, 0x00, 0x00,
        0, 0, 0, 0, 0, 0, 0, 0,  // reserved
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x00, 0x00, 0x00, 0x00,  // reserved
        0x21, 0x22, 0x23, 0x24,  // StatSN
        0x31, 0x32, 0x33, 0x34,  // ExpCmdSN
        0x41, 0x42, 0x43, 0x44,  // MaxCmdSN
        0x00, 0x00, 0x00, 0x00,  // reserved
        0x00, 0x02, 0x00, 0x14,  // Time2Wait; Time2Retain
        0x00, 0x00, 0x00, 0x00,  // reserved
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_logout_response(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("Asynchronous Message golden bytes: the target asks for logout") {
    AsyncMessage p;
    p.lun = encode_lun(0);
    p.statsn = 0x21222324;
    p.expcmdsn = 0x31323334;
    p.maxcmdsn = 0x41424344;
    p.event = 1;
    p.vcode = 0x00;
    p.param1 = 0x0102;
    p.param2 = 0x0304;
    p.param3 = 0x0506;
    p.data_length = 0;
    const Golden want = {
        0x32, 0x80, 0x00, 0x00,  // 0x32
        0x00, 0x00, 0x00, 0x00,
        0, 0, 0, 0, 0, 0, 0, 0,  // LUN
        0xff, 0xff, 0xff, 0xff,  // ITT is always 0xffffffff
        0x00, 0x00, 0x00, 0x00,  // reserved
        0x21, 0x22, 0x23, 0x24,  // StatSN
        0x31, 0x32, 0x33, 0x34,  // ExpCmdSN
        0x41, 0x42, 0x43, 0x44,  // MaxCmdSN
        0x01, 0x00, 0x01, 0x02,  // AsyncEvent; AsyncVCode; Parameter1
        0x03, 0x04, 0x05, 0x06,  // Parameter2; Parameter3
        0x00, 0x00, 0x00, 0x00,  // reserved
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_async_message(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);

    p.event = 0;  // SCSI async event: sense data follows
    p.lun = encode_lun(3);
    p.data_length = 20;
    d = decode_async_message(encode(p));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("Reject golden bytes: protocol error") {
    Reject p;
    p.reason = 0x04;
    p.statsn = 0x21222324;
    p.expcmdsn = 0x31323334;
    p.maxcmdsn = 0x41424344;
    p.datasn = 0x00000009;
    p.data_length = 48;
    const Golden want = {
        0x3f, 0x80, 0x04, 0x00,  // 0x3f; 1; Reason; reserved
        0x00, 0x00, 0x00, 0x30,  // DataSegmentLength 48: the rejected BHS
        0, 0, 0, 0, 0, 0, 0, 0,  // reserved
        0xff, 0xff, 0xff, 0xff,  // ITT is always 0xffffffff
        0x00, 0x00, 0x00, 0x00,  // reserved
        0x21, 0x22, 0x23, 0x24,  // StatSN
        0x31, 0x32, 0x33, 0x34,  // ExpCmdSN
        0x41, 0x42, 0x43, 0x44,  // MaxCmdSN
        0x00, 0x00, 0x00, 0x09,  // DataSN/R2TSN
        0, 0, 0, 0, 0, 0, 0, 0,
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_reject(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);

    p.data_length = 47;
    check_rejected<Reject>(encode(p), decode_reject,
                           "Reject: data segment of 47 bytes cannot hold the rejected BHS");
}
