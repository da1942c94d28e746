#include <doctest/doctest.h>

#include <algorithm>

#include "initiator/login/negotiation.hpp"

using namespace iser::login;

namespace {

LoginConfig normal_config(bool iser = false) {
    LoginConfig c;
    c.initiator_name = "iqn.2024-01.org.example:host";
    c.target_name = "iqn.2003-01.org.linux-iscsi:t1";
    c.offer.iser = iser;
    return c;
}

std::vector<std::string> names(const KeyValues& kv) {
    std::vector<std::string> out;
    for (const auto& [k, v] : kv) out.push_back(k);
    return out;
}

bool has(const KeyValues& kv, const std::string& key) { return find_key(kv, key) != nullptr; }

}  // namespace

TEST_CASE("the key table covers RFC 7143 §13 and RFC 7145 §6 with their types and defaults") {
    struct Row {
        const char* name;
        KeyType type;
        const char* def;
        bool leading_only;
    };
    const Row rows[] = {
        {"HeaderDigest", KeyType::List, "None", false},
        {"DataDigest", KeyType::List, "None", false},
        {"MaxConnections", KeyType::NumericalMin, "1", true},
        {"SendTargets", KeyType::String, "", false},
        {"TargetName", KeyType::String, "", false},
        {"InitiatorName", KeyType::String, "", false},
        {"TargetAlias", KeyType::String, "", false},
        {"InitiatorAlias", KeyType::String, "", false},
        {"TargetAddress", KeyType::String, "", false},
        {"TargetPortalGroupTag", KeyType::Declarative, "", false},
        {"InitialR2T", KeyType::BooleanOr, "Yes", true},
        {"ImmediateData", KeyType::BooleanAnd, "Yes", true},
        {"MaxRecvDataSegmentLength", KeyType::Declarative, "8192", false},
        {"MaxBurstLength", KeyType::NumericalMin, "262144", true},
        {"FirstBurstLength", KeyType::NumericalMin, "65536", true},
        {"DefaultTime2Wait", KeyType::NumericalMax, "2", true},
        {"DefaultTime2Retain", KeyType::NumericalMin, "20", true},
        {"MaxOutstandingR2T", KeyType::NumericalMin, "1", true},
        {"DataPDUInOrder", KeyType::BooleanOr, "Yes", true},
        {"DataSequenceInOrder", KeyType::BooleanOr, "Yes", true},
        {"ErrorRecoveryLevel", KeyType::NumericalMin, "0", true},
        {"SessionType", KeyType::String, "Normal", true},
        {"AuthMethod", KeyType::List, "None", false},
        {"IFMarker", KeyType::BooleanAnd, "No", false},
        {"OFMarker", KeyType::BooleanAnd, "No", false},
        {"TaskReporting", KeyType::List, "RFC3720", true},
        {"RDMAExtensions", KeyType::BooleanAnd, "No", true},
        {"TargetRecvDataSegmentLength", KeyType::Declarative, "8192", true},
        {"InitiatorRecvDataSegmentLength", KeyType::Declarative, "8192", true},
        {"MaxOutstandingUnexpectedPDUs", KeyType::NumericalMin, "0", true},
    };
    for (const auto& r : rows) {
        CAPTURE(r.name);
        const auto* k = find_key_spec(r.name);
        REQUIRE(k != nullptr);
        CHECK(k->type == r.type);
        CHECK(k->rfc_default == r.def);
        CHECK(k->leading_only == r.leading_only);
    }
    CHECK(find_key_spec("MaxBurstLength")->min == 512);
    CHECK(find_key_spec("MaxBurstLength")->max == 16777215);
    CHECK(find_key_spec("DefaultTime2Wait")->max == 3600);
    CHECK(find_key_spec("ErrorRecoveryLevel")->max == 2);
    CHECK(find_key_spec("AuthMethod")->stage == KeyStage::Security);
    CHECK(find_key_spec("X-com.example.foo") == nullptr);
}

TEST_CASE("parse_number: decimal and hex, overflow rejected") {
    CHECK(parse_number("8192").value() == 8192);
    CHECK(parse_number("0x2000").value() == 8192);
    CHECK(parse_number("0X2000").value() == 8192);
    CHECK(parse_number("18446744073709551615").value() == UINT64_MAX);
    CHECK_FALSE(parse_number("18446744073709551616"));
    CHECK_FALSE(parse_number(""));
    CHECK_FALSE(parse_number("0x"));
    CHECK_FALSE(parse_number("12a"));
    CHECK_FALSE(parse_number("-1"));
}

TEST_CASE("operational offer over TCP: MaxRecvDataSegmentLength, no iSER or marker keys") {
    auto cfg = normal_config(false);
    cfg.offer.max_recv_data_segment_length = 65536;
    Negotiator n(cfg);
    const auto offer = n.operational_offer();
    CHECK(*find_key(offer, "MaxRecvDataSegmentLength") == "65536");
    CHECK(*find_key(offer, "HeaderDigest") == "None");
    CHECK(*find_key(offer, "InitialR2T") == "No");
    CHECK(*find_key(offer, "ImmediateData") == "Yes");
    CHECK(*find_key(offer, "MaxBurstLength") == "262144");
    CHECK(*find_key(offer, "FirstBurstLength") == "65536");
    for (auto absent : {"RDMAExtensions", "InitiatorRecvDataSegmentLength", "TargetRecvDataSegmentLength",
                        "MaxOutstandingUnexpectedPDUs", "IFMarker", "OFMarker"})
        CHECK_FALSE(has(offer, absent));
}

TEST_CASE("operational offer over iSER: RDMAExtensions first, iSER lengths, no MRDSL/MOUP") {
    auto cfg = normal_config(true);
    cfg.offer.header_digest_crc32c = true;  // digests are meaningless over iSER
    Negotiator n(cfg);
    const auto offer = n.operational_offer();
    REQUIRE(!offer.empty());
    CHECK(offer.front() == KeyValue{"RDMAExtensions", "Yes"});
    CHECK(*find_key(offer, "InitiatorRecvDataSegmentLength") == "262144");
    CHECK(*find_key(offer, "TargetRecvDataSegmentLength") == "8192");
    CHECK(*find_key(offer, "HeaderDigest") == "None");
    for (auto absent : {"MaxRecvDataSegmentLength", "MaxOutstandingUnexpectedPDUs", "IFMarker", "OFMarker"})
        CHECK_FALSE(has(offer, absent));
}

TEST_CASE("discovery sessions send only discovery keys") {
    LoginConfig cfg;
    cfg.type = SessionType::Discovery;
    cfg.initiator_name = "iqn.2024-01.org.example:host";
    cfg.offer.iser = true;  // ignored: RDMAExtensions is irrelevant for discovery
    cfg.offer.header_digest_crc32c = true;
    Negotiator n(cfg);
    const auto login = n.login_offer();
    CHECK(names(login) == std::vector<std::string>{"InitiatorName", "SessionType", "AuthMethod"});
    CHECK(*find_key(login, "SessionType") == "Discovery");
    const auto offer = n.operational_offer();
    CHECK(names(offer) == std::vector<std::string>{"HeaderDigest", "DataDigest", "MaxRecvDataSegmentLength"});
    CHECK(*find_key(offer, "HeaderDigest") == "CRC32C,None");
    // A target raising a normal-session key gets "Irrelevant".
    auto answers = n.receive({{"MaxBurstLength", "65536"}, {"RDMAExtensions", "Yes"}}, false);
    REQUIRE(answers.ok());
    CHECK(*answers == KeyValues{{"MaxBurstLength", "Irrelevant"}, {"RDMAExtensions", "Irrelevant"}});
}

TEST_CASE("FirstBurstLength is not offered when irrelevant and is clamped to MaxBurstLength") {
    auto cfg = normal_config();
    cfg.offer.initial_r2t = true;
    cfg.offer.immediate_data = false;
    CHECK_FALSE(has(Negotiator(cfg).operational_offer(), "FirstBurstLength"));
    auto cfg2 = normal_config();
    cfg2.offer.max_burst_length = 16384;
    cfg2.offer.first_burst_length = 65536;
    CHECK(*find_key(Negotiator(cfg2).operational_offer(), "FirstBurstLength") == "16384");
}

// One row per key type: what we offer, what the target answers, and the outcome.
TEST_CASE("answers to our offers, for every key type") {
    struct Case {
        const char* key;
        const char* answer;
        bool ok;
        const char* result;  // current(key) after the answer
    };
    // Our offer (normal_config + digest CRC32C): InitialR2T=No (or), ImmediateData=Yes (and),
    // MaxBurstLength=262144 (min), DefaultTime2Wait=2 (max), HeaderDigest=CRC32C,None (list),
    // MaxRecvDataSegmentLength (declarative).
    const Case cases[] = {
        {"InitialR2T", "Yes", true, "Yes"},
        {"InitialR2T", "No", true, "No"},
        {"InitialR2T", "maybe", false, ""},
        {"ImmediateData", "No", true, "No"},
        {"ImmediateData", "Yes", true, "Yes"},
        {"MaxBurstLength", "65536", true, "65536"},
        {"MaxBurstLength", "0x10000", true, "65536"},
        {"MaxBurstLength", "262144", true, "262144"},
        {"MaxBurstLength", "524288", false, ""},     // above our offer
        {"MaxBurstLength", "100", false, ""},        // below the RFC range
        {"MaxBurstLength", "lots", false, ""},
        {"DefaultTime2Wait", "5", true, "5"},
        {"DefaultTime2Wait", "1", false, ""},        // numerical-max: below our offer
        {"DefaultTime2Wait", "3601", false, ""},
        {"HeaderDigest", "CRC32C", true, "CRC32C"},
        {"HeaderDigest", "None", true, "None"},
        {"HeaderDigest", "MD5", false, ""},
        {"HeaderDigest", "CRC32C,None", false, ""},  // an answer is one value
        {"ErrorRecoveryLevel", "0", true, "0"},
        {"ErrorRecoveryLevel", "1", false, ""},
        {"MaxOutstandingR2T", "NotUnderstood", true, "1"},  // refusal: RFC default
        {"DataPDUInOrder", "Irrelevant", true, "Yes"},
        {"MaxRecvDataSegmentLength", "16384", true, "262144"},  // the target's own value; ours stays
        {"MaxRecvDataSegmentLength", "100", false, ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.key);
        CAPTURE(c.answer);
        auto cfg = normal_config();
        cfg.offer.header_digest_crc32c = true;
        Negotiator n(cfg);
        (void)n.operational_offer();
        auto r = n.receive({{c.key, c.answer}}, false);
        CHECK(r.ok() == c.ok);
        if (r.ok()) {
            CHECK(r->empty());  // answers need no answer
            CHECK(n.current(c.key) == c.result);
        } else {
            CHECK(r.error().code == EPROTO);
            CHECK(r.error().message.find(c.key) != std::string::npos);
            CHECK(r.error().message.find(c.answer) != std::string::npos);
        }
    }
}

TEST_CASE("boolean answers must not contradict an offer that decides alone") {
    auto cfg = normal_config();
    cfg.offer.immediate_data = false;  // AND with No: the result is No whatever the answer
    cfg.offer.initial_r2t = true;      // OR with Yes: the result is Yes
    Negotiator n(cfg);
    (void)n.operational_offer();
    CHECK(n.current("ImmediateData") == "No");  // no answer needed
    CHECK(n.current("InitialR2T") == "Yes");
    CHECK_FALSE(n.receive({{"ImmediateData", "Yes"}}, false).ok());
    Negotiator m(cfg);
    (void)m.operational_offer();
    CHECK_FALSE(m.receive({{"InitialR2T", "No"}}, false).ok());
}

TEST_CASE("keys the target originates get answers computed from the table") {
    struct Case {
        const char* key;
        const char* offer;
        const char* answer;
    };
    const Case cases[] = {
        {"MaxConnections", "4", "1"},                     // numerical-min against our 1
        {"DataPDUInOrder", "No", "Yes"},                  // boolean-or against our Yes
        {"IFMarker", "Yes", "No"},                        // boolean-and against our No
        {"OFMarker", "No", "No"},
        {"IFMarkInt", "2048~2048", "Reject"},             // obsolete
        {"TaskReporting", "ResponseFence,RFC3720", "RFC3720"},
        {"TaskReporting", "FastAbort", "Reject"},        // nothing we support
        {"MaxBurstLength", "99999999", "Reject"},        // out of range
        {"X-com.example.Vendor", "1", "NotUnderstood"},
        {"SomethingNew", "Yes", "NotUnderstood"},
        {"RDMAExtensions", "Yes", "No"},                  // over TCP we want No
        {"TargetRecvDataSegmentLength", "8192", ""},      // declarative: nothing to answer
        {"TargetPortalGroupTag", "1", ""},
        {"TargetAlias", "LIO target", ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.key);
        Negotiator n(normal_config());
        auto r = n.receive({{c.key, c.offer}}, false);
        REQUIRE(r.ok());
        if (*c.answer == '\0') {
            CHECK(r->empty());
        } else {
            REQUIRE(r->size() == 1);
            CHECK(r->at(0) == KeyValue{c.key, c.answer});
        }
    }
}

TEST_CASE("FirstBurstLength raised by the target is irrelevant with InitialR2T=Yes, ImmediateData=No") {
    auto cfg = normal_config();
    cfg.offer.initial_r2t = true;
    cfg.offer.immediate_data = false;
    Negotiator n(cfg);
    (void)n.operational_offer();
    auto r = n.receive({{"FirstBurstLength", "8192"}}, false);
    REQUIRE(r.ok());
    CHECK(*r == KeyValues{{"FirstBurstLength", "Irrelevant"}});
}

TEST_CASE("protocol violations in the target's keys") {
    Negotiator n(normal_config());
    (void)n.operational_offer();
    auto twice = n.receive({{"MaxBurstLength", "65536"}, {"MaxBurstLength", "65536"}}, false);
    REQUIRE_FALSE(twice.ok());
    CHECK(twice.error().message.find("twice") != std::string::npos);
    for (auto key : {"InitiatorName", "SessionType", "InitiatorAlias", "SendTargets"}) {
        CAPTURE(key);
        Negotiator m(normal_config());
        CHECK_FALSE(m.receive({{key, "x"}}, false).ok());
    }
    Negotiator a(normal_config());
    auto auth = a.receive({{"AuthMethod", "None"}}, false);
    REQUIRE_FALSE(auth.ok());
    CHECK(auth.error().message.find("security") != std::string::npos);
    Negotiator b(normal_config());
    CHECK_FALSE(b.receive({{"MaxBurstLength", "Irrelevant"}}, false).ok());  // refusing what we never sent
}

TEST_CASE("AuthMethod offers follow the configured credentials") {
    auto cfg = normal_config();
    CHECK(*find_key(Negotiator(cfg).login_offer(), "AuthMethod") == "None");
    cfg.auth.chap = ChapCredentials{"user", "secret-one-12"};
    CHECK(*find_key(Negotiator(cfg).login_offer(), "AuthMethod") == "CHAP,None");
    cfg.auth.mutual = ChapCredentials{"target", "secret-two-12"};
    CHECK(*find_key(Negotiator(cfg).login_offer(), "AuthMethod") == "CHAP");
    Negotiator n(cfg);
    (void)n.login_offer();
    CHECK_FALSE(n.receive({{"AuthMethod", "None"}}, true).ok());  // not offered with mutual CHAP
}

TEST_CASE("params: FirstBurstLength above MaxBurstLength is an error") {
    Negotiator n(normal_config());
    (void)n.operational_offer();
    REQUIRE(n.receive({{"MaxBurstLength", "16384"}, {"FirstBurstLength", "65536"}}, false).ok());
    auto p = n.params();
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message.find("FirstBurstLength=65536 exceeds MaxBurstLength=16384") != std::string::npos);
}

TEST_CASE("params: iSER refused by the target") {
    Negotiator n(normal_config(true));
    (void)n.operational_offer();
    REQUIRE(n.receive({{"RDMAExtensions", "No"}}, false).ok());
    auto p = n.params();
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message.find("RDMAExtensions") != std::string::npos);
    Negotiator m(normal_config(true));
    (void)m.operational_offer();
    REQUIRE(m.receive({{"RDMAExtensions", "Reject"}}, false).ok());
    CHECK_FALSE(m.params().ok());
}

TEST_CASE("a LIO-like answer set over iSER") {
    auto cfg = normal_config(true);
    Negotiator n(cfg);
    (void)n.login_offer();
    REQUIRE(n.receive({{"AuthMethod", "None"}, {"TargetPortalGroupTag", "1"}}, true).ok());
    (void)n.operational_offer();
    const KeyValues lio = {
        {"RDMAExtensions", "Yes"},
        {"HeaderDigest", "None"},
        {"DataDigest", "None"},
        {"InitiatorRecvDataSegmentLength", "262144"},
        {"TargetRecvDataSegmentLength", "8192"},
        {"InitialR2T", "Yes"},
        {"ImmediateData", "Yes"},
        {"MaxBurstLength", "262144"},
        {"FirstBurstLength", "65536"},
        {"DefaultTime2Wait", "2"},
        {"DefaultTime2Retain", "20"},
        {"MaxOutstandingR2T", "1"},
        {"ErrorRecoveryLevel", "0"},
        {"MaxConnections", "1"},
        {"DataPDUInOrder", "Yes"},
        {"DataSequenceInOrder", "Yes"},
        {"MaxRecvDataSegmentLength", "8192"},  // LIO declares it even over iSER
        {"TargetAlias", "LIO Target"},
    };
    auto r = n.receive(lio, false);
    REQUIRE(r.ok());
    CHECK(r->empty());
    auto p = n.params();
    REQUIRE(p.ok());
    CHECK(p->rdma_extensions);
    CHECK_FALSE(p->header_digest);
    CHECK(p->initial_r2t);
    CHECK(p->immediate_data);
    CHECK(p->max_burst_length == 262144);
    CHECK(p->first_burst_length == 65536);
    CHECK(p->target_recv_data_segment_length == 8192);
    CHECK(p->max_xmit_data_segment_length == 8192);
    CHECK(p->initiator_recv_data_segment_length == 262144);
    CHECK(p->max_recv_data_segment_length == 262144);
    CHECK(p->target_portal_group_tag == 1);
    CHECK(p->target_alias == "LIO Target");
}

TEST_CASE("iSER: a target claiming we receive more than we declared is refused") {
    auto cfg = normal_config(true);
    cfg.offer.max_recv_data_segment_length = 65536;
    Negotiator n(cfg);
    (void)n.operational_offer();
    REQUIRE(n.receive({{"RDMAExtensions", "Yes"}, {"InitiatorRecvDataSegmentLength", "262144"}}, false).ok());
    CHECK_FALSE(n.params().ok());
}

TEST_CASE("a tgtd-like exchange over TCP: answers, a declaration, an offer of its own") {
    auto cfg = normal_config();
    cfg.offer.max_recv_data_segment_length = 131072;
    Negotiator n(cfg);
    (void)n.operational_offer();
    const KeyValues tgtd = {
        {"HeaderDigest", "None"},
        {"DataDigest", "None"},
        {"InitialR2T", "Yes"},
        {"ImmediateData", "Yes"},
        {"MaxBurstLength", "262144"},
        {"FirstBurstLength", "65536"},
        {"DefaultTime2Wait", "2"},
        {"DefaultTime2Retain", "20"},
        {"MaxOutstandingR2T", "1"},
        {"ErrorRecoveryLevel", "0"},
        {"MaxConnections", "1"},
        {"DataPDUInOrder", "Yes"},
        {"DataSequenceInOrder", "Yes"},
        {"MaxRecvDataSegmentLength", "65536"},  // tgtd's declaration
        {"IFMarker", "No"},                     // tgtd still raises the RFC 3720 markers
        {"OFMarker", "No"},
    };
    auto r = n.receive(tgtd, false);
    REQUIRE(r.ok());
    CHECK(*r == KeyValues{{"IFMarker", "No"}, {"OFMarker", "No"}});
    auto p = n.params();
    REQUIRE(p.ok());
    CHECK_FALSE(p->rdma_extensions);
    CHECK(p->max_recv_data_segment_length == 131072);
    CHECK(p->max_xmit_data_segment_length == 65536);
    CHECK(p->initial_r2t);
}

TEST_CASE("params default to the RFC values when the target touches nothing") {
    Negotiator n(normal_config());
    auto p = n.params();
    REQUIRE(p.ok());
    CHECK(p->max_xmit_data_segment_length == 8192);
    CHECK(p->max_burst_length == 262144);
    CHECK(p->first_burst_length == 65536);
    CHECK(p->initial_r2t);
    CHECK(p->immediate_data);
    CHECK(p->default_time2wait == 2);
    CHECK(p->default_time2retain == 20);
    CHECK(p->max_connections == 1);
    CHECK(p->error_recovery_level == 0);
}
