#include <doctest/doctest.h>

#include "initiator/login/text.hpp"
#include "test_util.hpp"

using namespace iser::login;
using namespace std::string_view_literals;
using login_test::bytes_of;

TEST_CASE("append_key writes key=value NUL, byte for byte") {
    std::vector<std::uint8_t> out;
    append_key(out, "HeaderDigest", "None");
    append_key(out, "X", "");
    const std::string_view expected = "HeaderDigest=None\0X=\0"sv;
    CHECK(std::string(out.begin(), out.end()) == expected);
}

TEST_CASE("parse_text splits pairs in order and keeps duplicates") {
    auto r = parse_text(bytes_of("TargetName=iqn.a\0TargetAddress=1.2.3.4:3260,1\0TargetName=iqn.b\0"sv));
    REQUIRE(r.ok());
    REQUIRE(r->size() == 3);
    CHECK((*r)[0] == KeyValue{"TargetName", "iqn.a"});
    CHECK((*r)[1] == KeyValue{"TargetAddress", "1.2.3.4:3260,1"});
    CHECK((*r)[2] == KeyValue{"TargetName", "iqn.b"});
}

TEST_CASE("parse_text accepts an empty segment, NUL padding and '=' inside values") {
    CHECK(parse_text({}).value().empty());
    CHECK(parse_text(bytes_of("\0\0\0\0"sv)).value().empty());
    auto r = parse_text(bytes_of("A=b=c\0\0\0"sv));  // tgtd/LIO pad the segment with NULs
    REQUIRE(r.ok());
    CHECK(r->at(0) == KeyValue{"A", "b=c"});
    CHECK(parse_text(bytes_of("Key.with-all+chars@_9=\0"sv)).value().at(0).second.empty());
    CHECK(parse_text(bytes_of("TargetAlias=d\xc3\xa9j\xc3\xa0 vu\0"sv)).ok());  // UTF-8
}

TEST_CASE("parse_text rejects malformed text with EPROTO and a clear message") {
    struct Case {
        std::string_view input;
        const char* message_part;
    };
    const std::string long_key(64, 'K');
    const std::string ok_key(63, 'K');
    const std::string long_value = "V=" + std::string(8193, 'v') + '\0';
    const std::string key64 = long_key + "=1" + '\0';
    const Case cases[] = {
        {"NoEquals\0"sv, "missing '='"},
        {"=value\0"sv, "empty key"},
        {"A=1\0B=2"sv, "not NUL-terminated"},
        {"A=1"sv, "not NUL-terminated"},
        {"A=1\0\0B=2\0"sv, "empty key=value pair"},
        {"Bad Key=1\0"sv, "invalid character"},
        {"K\x01=1\0"sv, "invalid character"},
        {"A=\xff\xfe\0"sv, "not UTF-8"},
        {"A=\xc0\xaf\0"sv, "not UTF-8"},  // overlong '/'
        {"A=\xe2\x82\0"sv, "not UTF-8"},  // truncated sequence
        {key64, "longer than 63"},
        {long_value, "longer than 8192"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.input.substr(0, 20));
        auto r = parse_text(bytes_of(c.input));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == EPROTO);
        CHECK(r.error().message.find(c.message_part) != std::string::npos);
    }
    const std::string ok = ok_key + "=1" + '\0';
    CHECK(parse_text(bytes_of(ok)).ok());
    const std::string max_value = "V=" + std::string(8192, 'v') + '\0';
    CHECK(parse_text(bytes_of(max_value)).ok());
}

TEST_CASE("parse_target_address: host, port, tpgt, IPv6") {
    struct Case {
        std::string_view in;
        std::string address;
        std::uint16_t port, tpgt;
    };
    const Case cases[] = {
        {"192.0.2.10:3261,2", "192.0.2.10", 3261, 2},
        {"192.0.2.10,7", "192.0.2.10", 3260, 7},
        {"192.0.2.10", "192.0.2.10", 3260, 1},
        {"storage.example.com:860,1", "storage.example.com", 860, 1},
        {"[2001:db8::1]:3262,3", "2001:db8::1", 3262, 3},
        {"[2001:db8::1],4", "2001:db8::1", 3260, 4},
        {"[fe80::1%eth0]", "fe80::1%eth0", 3260, 1},
        {"2001:db8::2,5", "2001:db8::2", 3260, 5},  // bare IPv6: no port possible
    };
    for (const auto& c : cases) {
        CAPTURE(c.in);
        auto p = parse_target_address(c.in);
        REQUIRE(p.ok());
        CHECK(p->address == c.address);
        CHECK(p->port == c.port);
        CHECK(p->tpgt == c.tpgt);
    }
    for (auto bad : {"1.2.3.4:99999,1"sv, "1.2.3.4:,1"sv, "1.2.3.4:0"sv, "[::1,1"sv, "[::1]x,1"sv,
                     ":3260,1"sv, "1.2.3.4,70000"sv, "1.2.3.4,"sv, "1.2.3.4:32a0"sv}) {
        CAPTURE(bad);
        auto p = parse_target_address(bad);
        REQUIRE_FALSE(p.ok());
        CHECK(p.error().code == EPROTO);
    }
}

TEST_CASE("parse_send_targets groups portals under their target") {
    const auto data =
        "TargetName=iqn.2003-01.org.linux-iscsi:t1\0"
        "TargetAddress=192.0.2.10:3260,1\0"
        "TargetAddress=[2001:db8::10]:3260,1\0"
        "TargetAlias=ignored\0"
        "TargetName=iqn.2003-01.org.linux-iscsi:t2\0"
        "TargetName=iqn.2003-01.org.linux-iscsi:t3\0"
        "TargetAddress=host3,2\0\0\0"sv;
    auto r = parse_send_targets(bytes_of(data));
    REQUIRE(r.ok());
    REQUIRE(r->size() == 3);
    CHECK((*r)[0].target_name == "iqn.2003-01.org.linux-iscsi:t1");
    REQUIRE((*r)[0].portals.size() == 2);
    CHECK((*r)[0].portals[1].address == "2001:db8::10");
    CHECK((*r)[0].portals[1].port == 3260);
    CHECK((*r)[1].portals.empty());  // reachable through the discovery portal
    REQUIRE((*r)[2].portals.size() == 1);
    CHECK((*r)[2].portals[0].address == "host3");
    CHECK((*r)[2].portals[0].port == 3260);
    CHECK((*r)[2].portals[0].tpgt == 2);
}

TEST_CASE("parse_send_targets rejects orphan addresses and bad text") {
    auto orphan = parse_send_targets(bytes_of("TargetAddress=1.2.3.4:3260,1\0"sv));
    REQUIRE_FALSE(orphan.ok());
    CHECK(orphan.error().message.find("before any TargetName") != std::string::npos);
    CHECK_FALSE(parse_send_targets(bytes_of("TargetName=\0"sv)).ok());
    CHECK_FALSE(parse_send_targets(bytes_of("TargetName=iqn.x\0TargetAddress=[::1\0"sv)).ok());
    CHECK_FALSE(parse_send_targets(bytes_of("TargetName=iqn.x"sv)).ok());
    CHECK(parse_send_targets({}).value().empty());
}

TEST_CASE("parse_send_targets refuses invalid or oversized names and too many targets or portals") {
    std::string huge = "TargetName=iqn.2003-01.org.example:" + std::string(8000, 'a');
    huge.push_back('\0');
    auto r = parse_send_targets(bytes_of(huge));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EPROTO);
    CHECK_FALSE(parse_send_targets(bytes_of("TargetName=not-a-name\0"sv)).ok());

    std::string many;
    for (std::size_t i = 0; i <= kMaxSendTargets; ++i) many += "TargetName=iqn.2003-01.org.example:t" + std::to_string(i) + '\0';
    auto too_many = parse_send_targets(bytes_of(many));
    REQUIRE_FALSE(too_many.ok());
    CHECK(too_many.error().message.find("more than 1024 targets") != std::string::npos);

    std::string portals = std::string("TargetName=iqn.2003-01.org.example:t") + '\0';
    for (std::size_t i = 0; i <= kMaxPortalsPerTarget; ++i) portals += "TargetAddress=192.0.2.1:" + std::to_string(3260 + i) + ",1" + '\0';
    auto too_many_portals = parse_send_targets(bytes_of(portals));
    REQUIRE_FALSE(too_many_portals.ok());
    CHECK(too_many_portals.error().message.find("more than 64 portals") != std::string::npos);
}
