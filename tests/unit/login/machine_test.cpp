// Full login dialogues against a scripted fake target whose Login Responses are written here.
#include <doctest/doctest.h>

#include "initiator/login/chap.hpp"
#include "initiator/login/login.hpp"
#include "initiator/login/negotiation.hpp"
#include "test_util.hpp"

using namespace iser;
using namespace iser::login;
using login_test::text;

namespace {

constexpr pdu::Isid kIsid{0x80, 0x12, 0x34, 0x56, 0x00, 0x01};

LoginConfig base_config() {
    LoginConfig c;
    c.initiator_name = "iqn.2024-01.org.example:host";
    c.target_name = "iqn.2003-01.org.linux-iscsi:t1";
    c.isid = kIsid;
    c.cid = 3;
    c.itt = 0x11;
    c.cmdsn = 500;
    return c;
}

KeyValues keys_of(const LoginPdu& pdu) {
    auto r = parse_text(pdu.data);
    REQUIRE(r.ok());
    return *r;
}

// A Login Response to `req` as a target writes it.
struct Reply {
    pdu::LoginResponse header;
    std::vector<std::uint8_t> data;
};
Reply reply(const LoginPdu& req, bool transit, std::uint8_t nsg, std::uint32_t statsn,
            const KeyValues& keys, std::uint16_t tsih = 0) {
    Reply r;
    r.header.transit = transit;
    r.header.csg = req.header.csg;
    r.header.nsg = transit ? nsg : 0;
    r.header.isid = req.header.isid;
    r.header.itt = req.header.itt;
    r.header.tsih = tsih;
    r.header.statsn = statsn;
    r.header.expcmdsn = req.header.cmdsn;
    r.header.maxcmdsn = req.header.cmdsn + 63;
    r.data = text(keys);
    r.header.data_length = std::uint32_t(r.data.size());
    return r;
}
Reply status_reply(const LoginPdu& req, std::uint8_t cls, std::uint8_t detail, const KeyValues& keys = {}) {
    auto r = reply(req, false, 0, 1, keys);
    r.header.status_class = cls;
    r.header.status_detail = detail;
    return r;
}

Result<LoginStep> feed(LoginMachine& m, const Reply& r) { return m.feed(r.header, r.data); }

const KeyValues kOperationalAnswers = {
    {"HeaderDigest", "None"}, {"DataDigest", "None"}, {"InitialR2T", "No"}, {"ImmediateData", "Yes"},
    {"MaxBurstLength", "262144"}, {"FirstBurstLength", "65536"}, {"MaxRecvDataSegmentLength", "65536"},
};

// Runs the operational stage from the first operational request to the end.
SessionParams finish_operational(LoginMachine& m, const LoginPdu& op, std::uint32_t statsn) {
    REQUIRE(op.header.csg == 1);
    REQUIRE(op.header.transit);
    REQUIRE(op.header.nsg == 3);
    auto done = feed(m, reply(op, true, 3, statsn, kOperationalAnswers, 0x0107));
    REQUIRE(done.ok());
    REQUIRE(done->done);
    CHECK_FALSE(done->next);
    return *done->done;
}

}  // namespace

TEST_CASE("login without authentication over TCP: headers, keys, ExpStatSN, params") {
    LoginMachine m(base_config());
    auto first = m.start();
    REQUIRE(first.ok());
    const auto& h = first->header;
    CHECK(h.csg == 0);
    CHECK(h.transit);
    CHECK(h.nsg == 1);
    CHECK_FALSE(h.cont);
    CHECK(h.version_max == 0);
    CHECK(h.version_min == 0);
    CHECK(h.isid == kIsid);
    CHECK(h.tsih == 0);
    CHECK(h.itt == 0x11);
    CHECK(h.cid == 3);
    CHECK(h.cmdsn == 500);
    CHECK(h.expstatsn == 0);
    CHECK(h.data_length == first->data.size());
    CHECK(keys_of(*first) == KeyValues{{"InitiatorName", "iqn.2024-01.org.example:host"},
                                       {"SessionType", "Normal"},
                                       {"TargetName", "iqn.2003-01.org.linux-iscsi:t1"},
                                       {"AuthMethod", "None"}});

    auto step = feed(m, reply(*first, true, 1, 77, {{"AuthMethod", "None"}, {"TargetPortalGroupTag", "1"}}));
    REQUIRE(step.ok());
    REQUIRE(step->next);
    const auto& op = *step->next;
    CHECK(op.header.expstatsn == 78);
    CHECK(op.header.cmdsn == 500);
    const auto keys = keys_of(op);
    CHECK(*find_key(keys, "MaxRecvDataSegmentLength") == "262144");
    CHECK(find_key(keys, "RDMAExtensions") == nullptr);

    const auto p = finish_operational(m, op, 78);
    CHECK(p.tsih == 0x0107);
    CHECK(p.statsn == 78);
    CHECK(p.expcmdsn == 500);
    CHECK(p.maxcmdsn == 563);
    CHECK(p.target_portal_group_tag == 1);
    CHECK(p.max_xmit_data_segment_length == 65536);
    CHECK(p.max_recv_data_segment_length == 262144);
    CHECK_FALSE(p.initial_r2t);
    // The machine is finished.
    CHECK_FALSE(feed(m, reply(op, true, 3, 79, {}, 1)).ok());
}

TEST_CASE("initiator alias and discovery session keys") {
    auto cfg = base_config();
    cfg.type = SessionType::Discovery;
    cfg.target_name.clear();
    cfg.initiator_alias = "host-a";
    LoginMachine m(cfg);
    auto first = m.start();
    REQUIRE(first.ok());
    CHECK(keys_of(*first) == KeyValues{{"InitiatorName", "iqn.2024-01.org.example:host"},
                                       {"InitiatorAlias", "host-a"},
                                       {"SessionType", "Discovery"},
                                       {"AuthMethod", "None"}});
    auto step = feed(m, reply(*first, true, 1, 1, {{"AuthMethod", "None"}}));
    REQUIRE(step.ok());
    CHECK(keys_of(*step->next) == KeyValues{{"HeaderDigest", "None"}, {"DataDigest", "None"},
                                            {"MaxRecvDataSegmentLength", "262144"}});
    auto done = feed(m, reply(*step->next, true, 3, 2, {{"HeaderDigest", "None"}, {"DataDigest", "None"}}, 9));
    REQUIRE(done.ok());
    CHECK(done->done);
}

TEST_CASE("one-way CHAP dialogue (MD5)") {
    auto cfg = base_config();
    cfg.auth.chap = ChapCredentials{"iqn.2024-01.org.example:host", "abcdefghijkl"};
    cfg.auth.algorithms = {ChapAlgorithm::Sha3_256, ChapAlgorithm::Sha256, ChapAlgorithm::Sha1,
                           ChapAlgorithm::Md5};
    LoginMachine m(cfg);
    auto first = m.start();
    REQUIRE(first.ok());
    CHECK_FALSE(first->header.transit);
    CHECK(*find_key(keys_of(*first), "AuthMethod") == "CHAP,None");

    auto s1 = feed(m, reply(*first, false, 0, 10, {{"AuthMethod", "CHAP"}, {"TargetPortalGroupTag", "1"}}));
    REQUIRE(s1.ok());
    CHECK_FALSE(s1->next->header.transit);
    CHECK(keys_of(*s1->next) == KeyValues{{"CHAP_A", "8,7,6,5"}});
    CHECK(s1->next->header.expstatsn == 11);

    auto s2 = feed(m, reply(*s1->next, false, 0, 11,
                            {{"CHAP_A", "5"}, {"CHAP_I", "42"}, {"CHAP_C", "0x000102030405060708090a0b0c0d0e0f"}}));
    REQUIRE(s2.ok());
    const auto& resp = *s2->next;
    CHECK(resp.header.transit);
    CHECK(resp.header.nsg == 1);
    // md5(0x2a || "abcdefghijkl" || 00..0f), computed with md5sum.
    CHECK(keys_of(resp) == KeyValues{{"CHAP_N", "iqn.2024-01.org.example:host"},
                                     {"CHAP_R", "0xcec6cff406e03600ec3585732fc9de13"}});

    auto s3 = feed(m, reply(resp, true, 1, 12, {}));
    REQUIRE(s3.ok());
    finish_operational(m, *s3->next, 13);
}

TEST_CASE("mutual CHAP dialogue (SHA-256), the fake target proving itself") {
    auto cfg = base_config();
    cfg.auth.chap = ChapCredentials{"initiator-user", "initiator-secret"};
    cfg.auth.mutual = ChapCredentials{"target-user", "target-secret-1"};
    cfg.auth.algorithms = {ChapAlgorithm::Sha256, ChapAlgorithm::Md5};
    LoginMachine m(cfg);
    auto first = m.start();
    REQUIRE(first.ok());
    CHECK(*find_key(keys_of(*first), "AuthMethod") == "CHAP");
    auto s1 = feed(m, reply(*first, false, 0, 1, {{"AuthMethod", "CHAP"}}));
    REQUIRE(s1.ok());
    CHECK(keys_of(*s1->next) == KeyValues{{"CHAP_A", "7,5"}});
    const auto target_challenge = std::vector<std::uint8_t>(32, 0x5a);
    auto s2 = feed(m, reply(*s1->next, false, 0, 2,
                            {{"CHAP_A", "7"}, {"CHAP_I", "200"}, {"CHAP_C", chap::encode_hex(target_challenge)}}));
    REQUIRE(s2.ok());
    const auto keys = keys_of(*s2->next);
    // The target checks the initiator's response...
    auto expect_r = chap::compute_response(ChapAlgorithm::Sha256, 200, "initiator-secret", target_challenge);
    CHECK(*find_key(keys, "CHAP_R") == chap::encode_hex(*expect_r));
    CHECK(*find_key(keys, "CHAP_N") == "initiator-user");
    // ...and answers the initiator's challenge.
    const auto id = parse_number(*find_key(keys, "CHAP_I"));
    auto challenge = chap::decode_binary(*find_key(keys, "CHAP_C"));
    REQUIRE(id);
    REQUIRE(challenge.ok());
    CHECK(challenge->size() == 32);
    auto target_r = chap::compute_response(ChapAlgorithm::Sha256, std::uint8_t(*id), "target-secret-1", *challenge);
    auto s3 = feed(m, reply(*s2->next, true, 1, 3, {{"CHAP_N", "target-user"}, {"CHAP_R", chap::encode_hex(*target_r)}}));
    REQUIRE(s3.ok());
    finish_operational(m, *s3->next, 4);
}

namespace {
// Drives a mutual CHAP login up to the target's last security response.
Result<LoginStep> mutual_until_result(const KeyValues& target_final) {
    auto cfg = base_config();
    cfg.auth.chap = ChapCredentials{"initiator-user", "initiator-secret"};
    cfg.auth.mutual = ChapCredentials{"target-user", "target-secret-1"};
    LoginMachine m(cfg);
    auto first = m.start();
    REQUIRE(first.ok());
    auto s1 = feed(m, reply(*first, false, 0, 1, {{"AuthMethod", "CHAP"}}));
    REQUIRE(s1.ok());
    auto s2 = feed(m, reply(*s1->next, false, 0, 2,
                            {{"CHAP_A", "5"}, {"CHAP_I", "1"}, {"CHAP_C", "0x00112233445566778899aabbccddeeff"}}));
    REQUIRE(s2.ok());
    return feed(m, reply(*s2->next, true, 1, 3, target_final));
}
}  // namespace

TEST_CASE("mutual CHAP: a target that does not prove itself is refused") {
    auto none = mutual_until_result({});
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == EACCES);
    CHECK(none.error().message.find("target did not authenticate itself (mutual CHAP)") != std::string::npos);
    auto wrong = mutual_until_result({{"CHAP_N", "target-user"}, {"CHAP_R", "0x00112233445566778899aabbccddeeff"}});
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().code == EACCES);
    CHECK(wrong.error().message.find("target-secret-1") == std::string::npos);
}

TEST_CASE("wrong secret: the target answers authentication failure") {
    auto cfg = base_config();
    cfg.auth.chap = ChapCredentials{"iqn.2024-01.org.example:host", "wrong-secret-123"};
    LoginMachine m(cfg);
    auto first = m.start();
    auto s1 = feed(m, reply(*first, false, 0, 1, {{"AuthMethod", "CHAP"}}));
    auto s2 = feed(m, reply(*s1->next, false, 0, 2,
                            {{"CHAP_A", "5"}, {"CHAP_I", "42"}, {"CHAP_C", "0x000102030405060708090a0b0c0d0e0f"}}));
    REQUIRE(s2.ok());
    // The fake target compares with the response for the right secret "abcdefghijkl".
    CHECK(*find_key(keys_of(*s2->next), "CHAP_R") != "0xcec6cff406e03600ec3585732fc9de13");
    auto fail = feed(m, status_reply(*s2->next, 2, 1));
    REQUIRE_FALSE(fail.ok());
    CHECK(fail.error().code == EACCES);
    CHECK(fail.error().message == "login failed: authentication failure (status 0x0201)");
    CHECK(fail.error().message.find("wrong-secret") == std::string::npos);
}

TEST_CASE("a target may accept AuthMethod=None when we offered CHAP,None") {
    auto cfg = base_config();
    cfg.auth.chap = ChapCredentials{"u", "abcdefghijkl"};
    LoginMachine m(cfg);
    auto first = m.start();
    auto s1 = feed(m, reply(*first, false, 0, 1, {{"AuthMethod", "None"}}));
    REQUIRE(s1.ok());
    CHECK(s1->next->header.transit);
    CHECK(s1->next->header.csg == 0);
    CHECK(s1->next->data.empty());
    auto s2 = feed(m, reply(*s1->next, true, 1, 2, {}));
    REQUIRE(s2.ok());
    finish_operational(m, *s2->next, 3);
}

TEST_CASE("Continue bit: the text is joined across responses") {
    LoginMachine m(base_config());
    auto first = m.start();
    auto op = feed(m, reply(*first, true, 1, 1, {{"AuthMethod", "None"}}));
    REQUIRE(op.ok());
    auto whole = text(kOperationalAnswers);
    // First part with C=1, split inside a key.
    Reply part1 = reply(*op->next, false, 0, 2, {});
    part1.header.cont = true;
    part1.data.assign(whole.begin(), whole.begin() + 20);
    part1.header.data_length = 20;
    auto s = feed(m, part1);
    REQUIRE(s.ok());
    const auto& more = *s->next;
    CHECK_FALSE(more.header.cont);
    CHECK_FALSE(more.header.transit);
    CHECK(more.header.csg == 1);
    CHECK(more.data.empty());
    CHECK(more.header.expstatsn == 3);
    Reply part2 = reply(more, false, 0, 3, {});
    part2.data.assign(whole.begin() + 20, whole.end());
    part2.header.data_length = std::uint32_t(part2.data.size());
    auto s2 = feed(m, part2);
    REQUIRE(s2.ok());
    // All keys answered; ask again to transit.
    CHECK(s2->next->header.transit);
    CHECK(s2->next->data.empty());
    auto done = feed(m, reply(*s2->next, true, 3, 4, {}, 5));
    REQUIRE(done.ok());
    REQUIRE(done->done);
    CHECK(done->done->max_xmit_data_segment_length == 65536);
    CHECK(done->done->max_burst_length == 262144);
}

TEST_CASE("target offers in the operational stage are answered in the next request") {
    LoginMachine m(base_config());
    auto first = m.start();
    auto op = feed(m, reply(*first, true, 1, 1, {}));
    auto s = feed(m, reply(*op->next, false, 0, 2, {{"IFMarker", "No"}, {"X-vendor.key", "1"}}));
    REQUIRE(s.ok());
    CHECK(keys_of(*s->next) == KeyValues{{"IFMarker", "No"}, {"X-vendor.key", "NotUnderstood"}});
    CHECK(s->next->header.transit);
    auto done = feed(m, reply(*s->next, true, 3, 3, {}, 5));
    REQUIRE(done.ok());
    CHECK(done->done);
}

TEST_CASE("an iSER login with LIO's answers") {
    auto cfg = base_config();
    cfg.offer.iser = true;
    LoginMachine m(cfg);
    auto first = m.start();
    auto op = feed(m, reply(*first, true, 1, 1, {{"AuthMethod", "None"}, {"TargetPortalGroupTag", "1"}}));
    REQUIRE(op.ok());
    const auto offer = keys_of(*op->next);
    CHECK(offer.front() == KeyValue{"RDMAExtensions", "Yes"});
    CHECK(find_key(offer, "MaxRecvDataSegmentLength") == nullptr);
    auto done = feed(m, reply(*op->next, true, 3, 2,
                              {{"RDMAExtensions", "Yes"}, {"HeaderDigest", "None"}, {"DataDigest", "None"},
                               {"InitiatorRecvDataSegmentLength", "262144"}, {"TargetRecvDataSegmentLength", "8192"},
                               {"InitialR2T", "Yes"}, {"ImmediateData", "Yes"}, {"MaxBurstLength", "262144"},
                               {"FirstBurstLength", "65536"}, {"MaxRecvDataSegmentLength", "8192"},
                               {"MaxOutstandingR2T", "1"}, {"ErrorRecoveryLevel", "0"}},
                              0x2a));
    REQUIRE(done.ok());
    REQUIRE(done->done);
    const auto& p = *done->done;
    CHECK(p.rdma_extensions);
    CHECK(p.max_xmit_data_segment_length == 8192);
    CHECK(p.initiator_recv_data_segment_length == 262144);
    CHECK(p.initial_r2t);
    CHECK(p.immediate_data);
    CHECK(p.tsih == 0x2a);
}

TEST_CASE("login status classes map to errno values") {
    struct Case {
        std::uint8_t cls, detail;
        int code;
        const char* text;
    };
    const Case cases[] = {
        {2, 0x00, EPROTO, "initiator error"},
        {2, 0x01, EACCES, "authentication failure"},
        {2, 0x02, EACCES, "authorization failure"},
        {2, 0x03, ENOENT, "target not found"},
        {2, 0x04, ENOENT, "target removed"},
        {2, 0x05, EPROTO, "unsupported iSCSI version"},
        {2, 0x07, EPROTO, "missing parameter"},
        {2, 0x0b, EPROTO, "invalid request during login"},
        {3, 0x00, EIO, "target error"},
        {3, 0x01, EAGAIN, "service unavailable"},
        {3, 0x02, EAGAIN, "out of resources"},
        {3, 0x07, EIO, "unknown login status (class 0x03, detail 0x07)"},
    };
    for (const auto& c : cases) {
        CAPTURE(int(c.cls));
        CAPTURE(int(c.detail));
        LoginMachine m(base_config());
        auto first = m.start();
        auto r = feed(m, status_reply(*first, c.cls, c.detail));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == c.code);
        CHECK(r.error().message.find(c.text) != std::string::npos);
        CHECK(describe_login_status(c.cls, c.detail).find(c.text) != std::string::npos);
    }
}

TEST_CASE("redirect: EAGAIN naming the new address") {
    LoginMachine m(base_config());
    auto first = m.start();
    auto r = feed(m, status_reply(*first, 1, 1, {{"TargetAddress", "192.0.2.20:3260,1"}}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EAGAIN);
    CHECK(r.error().message.find("target moved to 192.0.2.20:3260,1") != std::string::npos);
    CHECK(r.error().message.find("temporarily") != std::string::npos);
    LoginMachine m2(base_config());
    auto first2 = m2.start();
    auto r2 = feed(m2, status_reply(*first2, 1, 2, {}));
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.error().message.find("without a TargetAddress") != std::string::npos);
}

TEST_CASE("protocol violations in Login Response headers") {
    auto run = [](auto mutate) {
        LoginMachine m(base_config());
        auto first = m.start();
        REQUIRE(first.ok());
        auto r = reply(*first, true, 1, 1, {{"AuthMethod", "None"}});
        mutate(r);
        return feed(m, r);
    };
    auto expect_eproto = [](const Result<LoginStep>& r, const char* part) {
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == EPROTO);
        CHECK(r.error().message.find(part) != std::string::npos);
    };
    expect_eproto(run([](Reply& r) { r.header.csg = 1; }), "stage 1");           // skipped security
    expect_eproto(run([](Reply& r) { r.header.itt = 99; }), "ITT");
    expect_eproto(run([](Reply& r) { r.header.isid[0] ^= 1; }), "ISID");
    expect_eproto(run([](Reply& r) { r.header.version_active = 1; }), "Version");
    expect_eproto(run([](Reply& r) { r.header.cont = true; }), "T and C");
    expect_eproto(run([](Reply& r) { r.header.nsg = 3; }), "transit to stage 3");
    expect_eproto(run([](Reply& r) { r.header.data_length = 1000; }), "shorter");
    expect_eproto(run([](Reply& r) { r.data.pop_back(); }), "shorter");
    expect_eproto(run([](Reply& r) { r.data = text({{"AuthMethod", "CHAP"}}); r.header.data_length = std::uint32_t(r.data.size()); }),
                  "AuthMethod");
    expect_eproto(run([](Reply& r) { r.data = text({{"CHAP_A", "5"}}); r.header.data_length = std::uint32_t(r.data.size()); }),
                  "CHAP_A");

    // T bit when we did not ask for it (CHAP in progress).
    auto cfg = base_config();
    cfg.auth.chap = ChapCredentials{"u", "abcdefghijkl"};
    LoginMachine m(cfg);
    auto first = m.start();
    expect_eproto(feed(m, reply(*first, true, 1, 1, {{"AuthMethod", "CHAP"}})), "did not ask");
}

TEST_CASE("the final response may not leave keys unanswered, and must assign a TSIH") {
    {
        LoginMachine m(base_config());
        auto first = m.start();
        auto op = feed(m, reply(*first, true, 1, 1, {}));
        auto r = feed(m, reply(*op->next, true, 3, 2, {{"MaxConnections", "2"}}, 5));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("MaxConnections") != std::string::npos);
    }
    {
        LoginMachine m(base_config());
        auto first = m.start();
        auto op = feed(m, reply(*first, true, 1, 1, {}));
        auto r = feed(m, reply(*op->next, true, 3, 2, {}, 0));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("TSIH 0") != std::string::npos);
    }
}

TEST_CASE("configuration errors are caught by start()") {
    auto no_name = base_config();
    no_name.initiator_name.clear();
    CHECK(LoginMachine(no_name).start().error().code == EINVAL);
    auto no_target = base_config();
    no_target.target_name.clear();
    CHECK(LoginMachine(no_target).start().error().code == EINVAL);
    auto mutual_only = base_config();
    mutual_only.auth.mutual = ChapCredentials{"t", "abcdefghijkl"};
    CHECK(LoginMachine(mutual_only).start().error().code == EINVAL);
    auto same_secret = base_config();
    same_secret.auth.chap = ChapCredentials{"i", "same-secret-12"};
    same_secret.auth.mutual = ChapCredentials{"t", "same-secret-12"};
    auto r = LoginMachine(same_secret).start();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("same-secret") == std::string::npos);
}

TEST_CASE("a reinstatement must get its TSIH back") {
    auto cfg = base_config();
    cfg.tsih = 0x33;
    LoginMachine m(cfg);
    auto first = m.start();
    CHECK(first->header.tsih == 0x33);
    auto op = feed(m, reply(*first, true, 1, 1, {}));
    auto r = feed(m, reply(*op->next, true, 3, 2, {}, 0x34));
    CHECK_FALSE(r.ok());
}

TEST_CASE("the first request encodes to the RFC 7143 §11.12 layout") {
    auto cfg = base_config();
    cfg.auth.chap = ChapCredentials{"u", "abcdefghijkl"};
    LoginMachine m(cfg);
    auto first = m.start();
    REQUIRE(first.ok());
    const auto bhs = pdu::encode(first->header);
    CHECK(bhs.bytes[0] == 0x43);  // immediate, opcode Login Request
    CHECK(bhs.bytes[1] == 0x00);  // T=0 C=0 CSG=0 NSG=0: CHAP is still to come
    CHECK(bhs.data_segment_length() == first->data.size());
    CHECK(std::equal(kIsid.begin(), kIsid.end(), bhs.bytes.begin() + 8));
    CHECK(bhs.itt() == 0x11);
    CHECK(load_be16(&bhs.bytes[20]) == 3);     // CID
    CHECK(load_be32(&bhs.bytes[24]) == 500);   // CmdSN
    auto op = feed(m, reply(*first, false, 0, 9, {{"AuthMethod", "None"}}));
    REQUIRE(op.ok());
    const auto bhs2 = pdu::encode(op->next->header);
    CHECK(bhs2.bytes[1] == 0x81);  // T=1, CSG=0, NSG=1
    CHECK(load_be32(&bhs2.bytes[28]) == 10);   // ExpStatSN
}
