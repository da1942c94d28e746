#include <doctest/doctest.h>

#include "common/portal.hpp"

using iser::format_portal;
using iser::parse_portal;

namespace {
void check(const char* text, const char* host, std::uint16_t port) {
    CAPTURE(text);
    auto p = parse_portal(text);
    REQUIRE(p.ok());
    CHECK(p->host == host);
    CHECK(p->port == port);
}
std::string error_of(const char* text) {
    auto p = parse_portal(text);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().code == EINVAL);
    return p.error().message;
}
}  // namespace

TEST_CASE("portal: IPv4 with and without port") {
    check("192.0.2.10", "192.0.2.10", 3260);
    check("192.0.2.10:3261", "192.0.2.10", 3261);
    check("127.0.0.1:1", "127.0.0.1", 1);
    check("127.0.0.1:65535", "127.0.0.1", 65535);
}

TEST_CASE("portal: host names") {
    check("target", "target", 3260);
    check("storage-1.example.org:860", "storage-1.example.org", 860);
    check("storage.example.org.", "storage.example.org.", 3260);
}

TEST_CASE("portal: IPv6 in brackets") {
    check("[::1]", "::1", 3260);
    check("[::1]:3260", "::1", 3260);
    check("[2001:db8::10]:3262", "2001:db8::10", 3262);
    check("[fe80::1%eth0]:3260", "fe80::1%eth0", 3260);
}

TEST_CASE("portal: bad ports") {
    CHECK(error_of("10.0.0.1:0").find("out of range") != std::string::npos);
    CHECK(error_of("10.0.0.1:65536").find("out of range") != std::string::npos);
    CHECK(error_of("10.0.0.1:999999").find("out of range") != std::string::npos);
    CHECK(error_of("10.0.0.1:").find("missing port") != std::string::npos);
    CHECK(error_of("10.0.0.1:32a").find("not a number") != std::string::npos);
    CHECK(error_of("10.0.0.1:-1").find("not a number") != std::string::npos);
    CHECK(error_of("[::1]:").find("missing port") != std::string::npos);
    CHECK(error_of("[::1]:x").find("not a number") != std::string::npos);
}

TEST_CASE("portal: malformed hosts") {
    CHECK(error_of("").find("empty") != std::string::npos);
    CHECK(error_of("[::1").find("missing ']'") != std::string::npos);
    CHECK(error_of("[::1]3260").find("expected ':PORT'") != std::string::npos);
    CHECK(error_of("[]:3260").find("empty IPv6") != std::string::npos);
    CHECK(error_of("[10.0.0.1]").find("not an IPv6") != std::string::npos);
    CHECK(error_of("::1").find("brackets") != std::string::npos);
    CHECK(error_of("2001:db8::1:3260").find("brackets") != std::string::npos);
    CHECK(error_of(":3260").find("missing host") != std::string::npos);
    CHECK(error_of("300.1.1.1").find("not an IPv4") != std::string::npos);
    CHECK(error_of("1.2.3").find("not an IPv4") != std::string::npos);
    CHECK(error_of("-bad.example").find("not a valid host") != std::string::npos);
    CHECK(error_of("a..b").find("not a valid host") != std::string::npos);
    CHECK(error_of("under_score").find("not a valid host") != std::string::npos);
    CHECK(error_of("sp ace").find("not a valid host") != std::string::npos);
    CHECK(error_of("[fe80::1%]").find("not an IPv6") != std::string::npos);
}

TEST_CASE("portal: format puts IPv6 in brackets") {
    CHECK(format_portal("192.0.2.10", 3260) == "192.0.2.10:3260");
    CHECK(format_portal("::1", 3260) == "[::1]:3260");
    CHECK(format_portal("host", 1) == "host:1");
    auto p = parse_portal("[2001:db8::10]");
    REQUIRE(p.ok());
    CHECK(format_portal(*p) == "[2001:db8::10]:3260");
}
