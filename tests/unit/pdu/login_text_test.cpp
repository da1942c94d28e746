// Login and Text PDUs: golden bytes, round trips, flag rules.
#include "golden.hpp"

using namespace iser::pdu;
using pdu_test::Golden;
using pdu_test::to_bhs;

namespace {

void check_same(const LoginRequest& a, const LoginRequest& b) {
    CHECK_FIELD(a, b, transit); CHECK_FIELD(a, b, cont); CHECK_FIELD(a, b, csg); CHECK_FIELD(a, b, nsg);
    CHECK_FIELD(a, b, version_max); CHECK_FIELD(a, b, version_min); CHECK_FIELD(a, b, isid);
    CHECK_FIELD(a, b, tsih); CHECK_FIELD(a, b, itt); CHECK_FIELD(a, b, cid); CHECK_FIELD(a, b, cmdsn);
    CHECK_FIELD(a, b, expstatsn); CHECK_FIELD(a, b, data_length);
}
void check_same(const LoginResponse& a, const LoginResponse& b) {
    CHECK_FIELD(a, b, transit); CHECK_FIELD(a, b, cont); CHECK_FIELD(a, b, csg); CHECK_FIELD(a, b, nsg);
    CHECK_FIELD(a, b, version_max); CHECK_FIELD(a, b, version_active); CHECK_FIELD(a, b, isid);
    CHECK_FIELD(a, b, tsih); CHECK_FIELD(a, b, itt); CHECK_FIELD(a, b, statsn); CHECK_FIELD(a, b, expcmdsn);
    CHECK_FIELD(a, b, maxcmdsn); CHECK_FIELD(a, b, status_class); CHECK_FIELD(a, b, status_detail);
    CHECK_FIELD(a, b, data_length);
}
void check_same(const TextRequest& a, const TextRequest& b) {
    CHECK_FIELD(a, b, final); CHECK_FIELD(a, b, cont); CHECK_FIELD(a, b, lun); CHECK_FIELD(a, b, itt);
    CHECK_FIELD(a, b, ttt); CHECK_FIELD(a, b, cmdsn); CHECK_FIELD(a, b, expstatsn); CHECK_FIELD(a, b, data_length);
}
void check_same(const TextResponse& a, const TextResponse& b) {
    CHECK_FIELD(a, b, final); CHECK_FIELD(a, b, cont); CHECK_FIELD(a, b, lun); CHECK_FIELD(a, b, itt);
    CHECK_FIELD(a, b, ttt); CHECK_FIELD(a, b, statsn); CHECK_FIELD(a, b, expcmdsn); CHECK_FIELD(a, b, maxcmdsn);
    CHECK_FIELD(a, b, data_length);
}

LoginRequest sample_login_request() {
    LoginRequest p;
    p.transit = true;
    p.csg = 1;
    p.nsg = 3;
    p.version_max = 0x02;
    p.version_min = 0x01;
    p.isid = {0x80, 0x12, 0x34, 0x56, 0x78, 0x9a};
    p.tsih = 0x0102;
    p.itt = 0x11223344;
    p.cid = 0x0506;
    p.cmdsn = 0x0a0b0c0d;
    p.expstatsn = 0x1a1b1c1d;
    p.data_length = 0x123;
    return p;
}

LoginResponse sample_login_response() {
    LoginResponse p;
    p.transit = true;
    p.csg = 0;
    p.nsg = 1;
    p.version_max = 0x03;
    p.version_active = 0x04;
    p.isid = {0x80, 0x12, 0x34, 0x56, 0x78, 0x9a};
    p.tsih = 0x0203;
    p.itt = 0x11223344;
    p.statsn = 0x21222324;
    p.expcmdsn = 0x31323334;
    p.maxcmdsn = 0x41424344;
    p.status_class = 0x00;
    p.status_detail = 0x00;
    p.data_length = 0x40;
    return p;
}

}  // namespace

TEST_CASE("Login Request golden bytes") {
    const Golden want = {
        0x43, 0x87, 0x02, 0x01,  // I|0x03; T, CSG 1 (bits 2-3), NSG 3; Version-max, Version-min
        0x00, 0x00, 0x01, 0x23,  // TotalAHSLength; DataSegmentLength
        0x80, 0x12, 0x34, 0x56,  // ISID
        0x78, 0x9a, 0x01, 0x02,  // ISID; TSIH
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x05, 0x06, 0x00, 0x00,  // CID; reserved
        0x0a, 0x0b, 0x0c, 0x0d,  // CmdSN
        0x1a, 0x1b, 0x1c, 0x1d,  // ExpStatSN
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    const auto p = sample_login_request();
    CHECK_BHS(encode(p), want);
    auto d = decode_login_request(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("Login Request with C bit in the security stage") {
    LoginRequest p;
    p.cont = true;
    p.csg = 0;
    p.nsg = 0;
    const Bhs b = encode(p);
    CHECK(b.bytes[0] == 0x43);
    CHECK(b.bytes[1] == 0x40);
    auto d = decode_login_request(b);
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("Login Response golden bytes") {
    LoginResponse p = sample_login_response();
    p.status_class = 0x02;  // initiator error ...
    p.status_detail = 0x01; // ... authentication failure
    const Golden want = {
        0x23, 0x81, 0x03, 0x04,  // 0x23; T, CSG 0, NSG 1; Version-max, Version-active
        0x00, 0x00, 0x00, 0x40,  // DataSegmentLength 64
        0x80, 0x12, 0x34, 0x56,  // ISID
        0x78, 0x9a, 0x02, 0x03,  // ISID; TSIH
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x00, 0x00, 0x00, 0x00,  // reserved
        0x21, 0x22, 0x23, 0x24,  // StatSN
        0x31, 0x32, 0x33, 0x34,  // ExpCmdSN
        0x41, 0x42, 0x43, 0x44,  // MaxCmdSN
        0x02, 0x01, 0x00, 0x00,  // Status-Class, Status-Detail; reserved
        0, 0, 0, 0, 0, 0, 0, 0,
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_login_response(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("Login Response round trip to full feature phase") {
    LoginResponse p = sample_login_response();
    p.csg = 1;
    p.nsg = 3;
    auto d = decode_login_response(encode(p));
    REQUIRE(d.ok());
    check_same(*d, p);
    CHECK(encode(p).bytes[1] == 0x87);
}

TEST_CASE("Login decoders reject impossible stage combinations") {
    struct Case { std::uint8_t flags; const char* message; };
    const Case cases[] = {
        {0xc1, "T and C bits both set"},
        {0x08, "CSG 2 is not a login stage"},
        {0x0c, "CSG 3 is not a login stage"},
        {0x82, "NSG 2 is reserved"},
        {0x84, "transit from CSG 1 back to NSG 0"},
        {0x85, "transit from CSG 1 back to NSG 1"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.message);
        Bhs req = encode(LoginRequest{});
        req.bytes[1] = c.flags;
        auto r = decode_login_request(req);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == EPROTO);
        CHECK(r.error().message == std::string("Login Request: ") + c.message);

        Bhs rsp = encode(LoginResponse{});
        rsp.bytes[1] = c.flags;
        auto s = decode_login_response(rsp);
        REQUIRE_FALSE(s.ok());
        CHECK(s.error().message == std::string("Login Response: ") + c.message);
    }
}

TEST_CASE("a failed Login Response decodes whatever its stage bits say") {
    Bhs rsp = encode(LoginResponse{});
    rsp.bytes[1] = 0x08;    // CSG 2: nonsense, but ...
    rsp.bytes[36] = 0x02;   // ... the status explains the failure
    rsp.bytes[37] = 0x03;
    auto d = decode_login_response(rsp);
    REQUIRE(d.ok());
    CHECK(d->status_class == 2);
    CHECK(d->status_detail == 3);
}

TEST_CASE("Text Request golden bytes") {
    TextRequest p;
    p.final = true;
    p.lun = encode_lun(1);
    p.itt = 0x11223344;
    p.ttt = kReservedTag;
    p.cmdsn = 0x0a0b0c0d;
    p.expstatsn = 0x1a1b1c1d;
    p.data_length = 0x10;
    const Golden want = {
        0x04, 0x80, 0x00, 0x00,  // 0x04; F
        0x00, 0x00, 0x00, 0x10,  // DataSegmentLength 16
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LUN 1
        0x11, 0x22, 0x33, 0x44,  // ITT
        0xff, 0xff, 0xff, 0xff,  // TTT
        0x0a, 0x0b, 0x0c, 0x0d,  // CmdSN
        0x1a, 0x1b, 0x1c, 0x1d,  // ExpStatSN
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_text_request(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("Text Response golden bytes") {
    TextResponse p;
    p.final = false;
    p.cont = true;
    p.itt = 0x11223344;
    p.ttt = 0x55667788;
    p.statsn = 0x21222324;
    p.expcmdsn = 0x31323334;
    p.maxcmdsn = 0x41424344;
    p.data_length = 0x2000;
    const Golden want = {
        0x24, 0x40, 0x00, 0x00,  // 0x24; C
        0x00, 0x00, 0x20, 0x00,  // DataSegmentLength 8192
        0, 0, 0, 0, 0, 0, 0, 0,  // LUN
        0x11, 0x22, 0x33, 0x44,  // ITT
        0x55, 0x66, 0x77, 0x88,  // TTT
        0x21, 0x22, 0x23, 0x24,  // StatSN
        0x31, 0x32, 0x33, 0x34,  // ExpCmdSN
        0x41, 0x42, 0x43, 0x44,  // MaxCmdSN
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    CHECK_BHS(encode(p), want);
    auto d = decode_text_response(to_bhs(want));
    REQUIRE(d.ok());
    check_same(*d, p);
}

TEST_CASE("Text decoders reject F with C") {
    Bhs b = encode(TextRequest{});
    b.bytes[1] = 0xc0;
    auto r = decode_text_request(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "Text Request: F and C bits both set");
    b = encode(TextResponse{});
    b.bytes[1] = 0xc0;
    auto s = decode_text_response(b);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message == "Text Response: F and C bits both set");
}
