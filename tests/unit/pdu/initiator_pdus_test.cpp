// SCSI Command, Data-Out, NOP-Out, Task Management, Logout and SNACK requests.
#include "golden.hpp"

using namespace iser::pdu;
using iser::Result;
using pdu_test::Golden;
using pdu_test::to_bhs;

namespace {

void check_same(const ScsiCommand& a, const ScsiCommand& b) {
    CHECK_FIELD(a, b, immediate); CHECK_FIELD(a, b, final); CHECK_FIELD(a, b, read); CHECK_FIELD(a, b, write);
    CHECK_FIELD(a, b, task_attr); CHECK_FIELD(a, b, lun); CHECK_FIELD(a, b, itt);
    CHECK_FIELD(a, b, expected_length); CHECK_FIELD(a, b, cmdsn); CHECK_FIELD(a, b, expstatsn);
    CHECK_FIELD(a, b, cdb); CHECK_FIELD(a, b, data_length);
}
void check_same(const DataOut& a, const DataOut& b) {
    CHECK_FIELD(a, b, final); CHECK_FIELD(a, b, lun); CHECK_FIELD(a, b, itt); CHECK_FIELD(a, b, ttt);
    CHECK_FIELD(a, b, expstatsn); CHECK_FIELD(a, b, datasn); CHECK_FIELD(a, b, buffer_offset);
    CHECK_FIELD(a, b, data_length);
}
void check_same(const NopOut& a, const NopOut& b) {
    CHECK_FIELD(a, b, immediate); CHECK_FIELD(a, b, lun); CHECK_FIELD(a, b, itt); CHECK_FIELD(a, b, ttt);
    CHECK_FIELD(a, b, cmdsn); CHECK_FIELD(a, b, expstatsn); CHECK_FIELD(a, b, data_length);
}
void check_same(const TaskMgmtRequest& a, const TaskMgmtRequest& b) {
    CHECK_FIELD(a, b, immediate); CHECK_FIELD(a, b, function); CHECK_FIELD(a, b, lun); CHECK_FIELD(a, b, itt);
    CHECK_FIELD(a, b, referenced_itt); CHECK_FIELD(a, b, cmdsn); CHECK_FIELD(a, b, expstatsn);
    CHECK_FIELD(a, b, refcmdsn); CHECK_FIELD(a, b, expdatasn);
}
void check_same(const LogoutRequest& a, const LogoutRequest& b) {
    CHECK_FIELD(a, b, immediate); CHECK_FIELD(a, b, reason); CHECK_FIELD(a, b, itt); CHECK_FIELD(a, b, cid);
    CHECK_FIELD(a, b, cmdsn); CHECK_FIELD(a, b, expstatsn);
}
void check_same(const SnackRequest& a, const SnackRequest& b) {
    CHECK_FIELD(a, b, type); CHECK_FIELD(a, b, lun); CHECK_FIELD(a, b, itt); CHECK_FIELD(a, b, ttt);
    CHECK_FIELD(a, b, expstatsn); CHECK_FIELD(a, b, begrun); CHECK_FIELD(a, b, runlength);
}

template <class T, class Decode>
void check_rejected(const Bhs& b, Decode decode, const std::string& message) {
    Result<T> r = decode(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EPROTO);
    CHECK(r.error().message == message);
}

}  // namespace

TEST_CASE("SCSI Command encodes the RFC 3720 B.4 Read(10) PDU") {
    // RFC 3720 Appendix B.4: a SCSI Read(10) of 2 blocks at LBA 0, untagged, F and R set.
    const Golden want = {
        0x01, 0xc0, 0x00, 0x00,  // 0x01; F, R, ATTR 0
        0x00, 0x00, 0x00, 0x00,  // no AHS, no data
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LUN 0
        0x14, 0x00, 0x00, 0x00,  // ITT
        0x00, 0x00, 0x04, 0x00,  // Expected Data Transfer Length 1024
        0x00, 0x00, 0x00, 0x14,  // CmdSN
        0x00, 0x00, 0x00, 0x18,  // ExpStatSN
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // CDB: READ(10) ...
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // ... transfer length 2
    };
    ScsiCommand p;
    p.final = true;
    p.read = true;
    p.task_attr = 0;
    p.itt = 0x14000000;
    p.expected_length = 1024;
    p.cmdsn = 0x14;
    p.expstatsn = 0x18;
    p.cdb = {0x28, 0, 0, 0, 0, 0, 0, 0, 0x02};
    CHECK_BHS(encode(p), want);
    auto d = decode_scsi_command(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("SCSI Command golden bytes: immediate write with data, simple task, LUN 300") {
    ScsiCommand p;
    p.immediate = true;
    p.final = false;
    p.write = true;
    p.task_attr = 1;
    p.lun = encode_lun(300);
    p.itt = 0x11223344;
    p.expected_length = 0x00020000;
    p.cmdsn = 0x0a0b0c0d;
    p.expstatsn = 0x1a1b1c1d;
    p.cdb = {0x8a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    p.data_length = 0x2000;
    const Golden want = {
        0x41, 0x21, 0x00, 0x00,  // I|0x01; W, ATTR 1 (F clear: Data-Out follows)
        0x00, 0x00, 0x20, 0x00,  // DataSegmentLength 8192
        0x41, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LUN 300, flat space
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x00, 0x02, 0x00, 0x00,  // Expected Data Transfer Length
        0x0a, 0x0b, 0x0c, 0x0d,  // CmdSN
        0x1a, 0x1b, 0x1c, 0x1d,  // ExpStatSN
        0x8a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,  // CDB
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_scsi_command(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("SCSI Command round trips every task attribute and direction") {
    for (std::uint8_t attr = 0; attr <= 4; ++attr) {
        for (int dir = 0; dir < 4; ++dir) {
            ScsiCommand p;
            p.task_attr = attr;
            p.read = dir & 1;
            p.write = dir & 2;
            p.expected_length = dir ? 4096 : 0;
            p.lun = encode_lun(attr);
            auto d = decode_scsi_command(encode(p));
            REQUIRE(d.ok());
            check_same(*d, p);
        }
    }
}

TEST_CASE("SCSI Command decoder rejects impossible flag combinations") {
    ScsiCommand base;
    base.read = true;
    base.expected_length = 512;
    Bhs b = encode(base);
    b.bytes[1] = 0xc5;  // task attribute 5
    check_rejected<ScsiCommand>(b, decode_scsi_command, "SCSI Command: reserved task attribute 5");

    b = encode(base);
    b.bytes[7] = 4;  // immediate data on a read
    check_rejected<ScsiCommand>(b, decode_scsi_command, "SCSI Command: immediate data without the W bit");

    b = encode(base);
    b.bytes[1] &= 0x7f;  // F clear on a read
    check_rejected<ScsiCommand>(b, decode_scsi_command,
                                "SCSI Command: unsolicited data announced (F clear) without the W bit");

    b = encode(base);
    b.bytes[1] &= ~0x40;  // neither R nor W but a transfer length
    check_rejected<ScsiCommand>(b, decode_scsi_command,
                                "SCSI Command: Expected Data Transfer Length 512 with neither R nor W set");
}

TEST_CASE("Data-Out golden bytes") {
    DataOut p;
    p.final = true;
    p.lun = encode_lun(2);
    p.itt = 0x11223344;
    p.ttt = 0x55667788;
    p.expstatsn = 0x1a1b1c1d;
    p.datasn = 0x00000003;
    p.buffer_offset = 0x00010000;
    p.data_length = 0x1000;
    const Golden want = {
        0x05, 0x80, 0x00, 0x00,  // 0x05; F
        0x00, 0x00, 0x10, 0x00,  // DataSegmentLength 4096
        0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LUN 2
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x55, 0x66, 0x77, 0x88,  // TTT
        0x00, 0x00, 0x00, 0x00,  // reserved
        0x1a, 0x1b, 0x1c, 0x1d,  // ExpStatSN
        0x00, 0x00, 0x00, 0x00,  // reserved
        0x00, 0x00, 0x00, 0x03,  // DataSN
        0x00, 0x01, 0x00, 0x00,  // Buffer Offset
        0x00, 0x00, 0x00, 0x00,  // reserved
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_data_out(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
    p.final = false;
    d = decode_data_out(encode(p));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("NOP-Out golden bytes: a ping") {
    NopOut p;
    p.immediate = true;
    p.itt = 0x11223344;
    p.ttt = kReservedTag;
    p.cmdsn = 0x0a0b0c0d;
    p.expstatsn = 0x1a1b1c1d;
    p.data_length = 4;
    const Golden want = {
        0x40, 0x80, 0x00, 0x00,  // I|0x00; bit 7 of byte 1 is always 1
        0x00, 0x00, 0x00, 0x04,  // DataSegmentLength 4 (ping data)
        0, 0, 0, 0, 0, 0, 0, 0,  // LUN
        0x11, 0x22, 0x33, 0x44,  // ITT
        0xff, 0xff, 0xff, 0xff,  // TTT
        0x0a, 0x0b, 0x0c, 0x0d,  // CmdSN
        0x1a, 0x1b, 0x1c, 0x1d,  // ExpStatSN
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_nop_out(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("NOP-Out answering a target ping round trips; bad tag pairs are rejected") {
    NopOut p;
    p.itt = kReservedTag;
    p.ttt = 0x55667788;
    p.lun = encode_lun(3);
    auto d = decode_nop_out(encode(p));
    REQUIRE(d.ok());
    check_same(*d, p);

    Bhs b = encode(p);
    b.bytes[0] = 0x00;  // not immediate, yet no ITT
    check_rejected<NopOut>(b, decode_nop_out, "NOP-Out: ITT 0xffffffff without the I bit");
    p.itt = 1;
    check_rejected<NopOut>(encode(p), decode_nop_out, "NOP-Out: both ITT and TTT are set");
}

TEST_CASE("Task Management Request golden bytes: ABORT TASK") {
    TaskMgmtRequest p;
    p.immediate = true;
    p.function = 1;
    p.lun = encode_lun(4);
    p.itt = 0x11223344;
    p.referenced_itt = 0x99aabbcc;
    p.cmdsn = 0x0a0b0c0d;
    p.expstatsn = 0x1a1b1c1d;
    p.refcmdsn = 0x2a2b2c2d;
    p.expdatasn = 0x00000007;
    const Golden want = {
        0x42, 0x81, 0x00, 0x00,  // I|0x02; 1|function 1
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LUN 4
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x99, 0xaa, 0xbb, 0xcc,  // Referenced Task Tag
        0x0a, 0x0b, 0x0c, 0x0d,  // CmdSN
        0x1a, 0x1b, 0x1c, 0x1d,  // ExpStatSN
        0x2a, 0x2b, 0x2c, 0x2d,  // RefCmdSN
        0x00, 0x00, 0x00, 0x07,  // ExpDataSN
        0, 0, 0, 0, 0, 0, 0, 0,
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_task_mgmt_request(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);

    Bhs b = encode(p);
    b.bytes[1] = 0x80;
    check_rejected<TaskMgmtRequest>(b, decode_task_mgmt_request, "Task Management Request: function 0 does not exist");
    b = encode(p);
    b.bytes[7] = 8;
    check_rejected<TaskMgmtRequest>(b, decode_task_mgmt_request,
                                    "Task Management Request: DataSegmentLength 8 where none is allowed");
}

TEST_CASE("Logout Request golden bytes: close the connection") {
    LogoutRequest p;
    p.immediate = true;
    p.reason = 1;
    p.itt = 0x11223344;
    p.cid = 0x0506;
    p.cmdsn = 0x0a0b0c0d;
    p.expstatsn = 0x1a1b1c1d;
    const Golden want = {
        0x46, 0x81, 0x00, 0x00,  // I|0x06; 1|reason 1
        0x00, 0x00, 0x00, 0x00,
        0, 0, 0, 0, 0, 0, 0, 0,  // reserved
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x05, 0x06, 0x00, 0x00,  // CID; reserved
        0x0a, 0x0b, 0x0c, 0x0d,  // CmdSN
        0x1a, 0x1b, 0x1c, 0x1d,  // ExpStatSN
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_logout_request(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);

    Bhs b = encode(p);
    b.bytes[1] = 0x83;
    check_rejected<LogoutRequest>(b, decode_logout_request, "Logout Request: reserved reason code 3");
}

TEST_CASE("SNACK Request golden bytes: status SNACK") {
    SnackRequest p;
    p.type = 1;
    p.lun = encode_lun(5);
    p.itt = 0x11223344;
    p.ttt = kReservedTag;
    p.expstatsn = 0x1a1b1c1d;
    p.begrun = 0x00000010;
    p.runlength = 0x00000002;
    const Golden want = {
        0x10, 0x81, 0x00, 0x00,  // 0x10; 1|type 1
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LUN 5
        0x11, 0x22, 0x33, 0x44,  // ITT
        0xff, 0xff, 0xff, 0xff,  // TTT / SNACK Tag
        0x00, 0x00, 0x00, 0x00,  // reserved
        0x1a, 0x1b, 0x1c, 0x1d,  // ExpStatSN
        0, 0, 0, 0, 0, 0, 0, 0,  // reserved
        0x00, 0x00, 0x00, 0x10,  // BegRun
        0x00, 0x00, 0x00, 0x02,  // RunLength
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_snack_request(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);

    Bhs b = encode(p);
    b.bytes[1] = 0x84;
    check_rejected<SnackRequest>(b, decode_snack_request, "SNACK Request: reserved type 4");
}
