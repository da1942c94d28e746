#include <doctest/doctest.h>

#include <string>

#include "common/iscsi_name.hpp"

using iser::validate_iscsi_name;

namespace {
std::string error_of(const std::string& name) {
    auto s = validate_iscsi_name(name);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == EINVAL);
    return s.error().message;
}
}  // namespace

TEST_CASE("iSCSI names: the RFC 3720 examples are valid") {
    // RFC 3720 section 3.2.6.3.1 and 3.2.6.3.2.
    for (const char* name : {"iqn.2001-04.com.example", "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309",
                             "iqn.2001-04.com.example:storage.tape1.sys1.xyz",
                             "iqn.2001-04.com.example:storage.disk2.sys1.xyz",
                             "iqn.2003-01.org.linux-iscsi.host.x8664:sn.1234abcd", "eui.02004567A425678D",
                             "naa.52004567BA64678D", "naa.62004567BA64678D0123456789ABCDEF", "IQN.2001-04.com.example"}) {
        CAPTURE(name);
        CHECK(validate_iscsi_name(name).ok());
    }
}

TEST_CASE("iSCSI names: malformed ones are refused with a reason") {
    CHECK(error_of("").find("empty") != std::string::npos);
    CHECK(error_of("target1").find("iqn., eui. or naa.") != std::string::npos);
    CHECK(error_of("iqn.").find("YYYY-MM") != std::string::npos);
    CHECK(error_of("iqn.2001.com.example").find("YYYY-MM") != std::string::npos);
    CHECK(error_of("iqn.01-04.com.example").find("YYYY-MM") != std::string::npos);
    CHECK(error_of("iqn.2001-13.com.example").find("month 13") != std::string::npos);
    CHECK(error_of("iqn.2001-00.com.example").find("month 00") != std::string::npos);
    CHECK(error_of("iqn.2001-04com.example").find("'.'") != std::string::npos);
    CHECK(error_of("iqn.2001-04.").find("reversed domain") != std::string::npos);
    CHECK(error_of("iqn.2001-04.:disk").find("reversed domain") != std::string::npos);
    CHECK(error_of("iqn.2001-04.com..example").find("empty label") != std::string::npos);
    CHECK(error_of("iqn.2001-04.com.example:").find("nothing after") != std::string::npos);
    CHECK(error_of("iqn.2001-04.com.example:disk one").find("' ' at position 29") != std::string::npos);
    CHECK(error_of("iqn.2001-04.com.example:a_b").find("'_'") != std::string::npos);
    CHECK(error_of("iqn.2001-04.com.example:a\nb").find("byte 10") != std::string::npos);
    CHECK(error_of("eui.02004567A425678").find("16 hex") != std::string::npos);
    CHECK(error_of("eui.02004567A425678G").find("16 hex") != std::string::npos);
    CHECK(error_of("naa.52004567BA64678D00").find("16 or 32") != std::string::npos);
    CHECK(error_of("iqn.2001-04.com.example:" + std::string(200, 'a')).find("longer than 223") != std::string::npos);
}

TEST_CASE("iSCSI names: 223 bytes is the limit") {
    std::string name = "iqn.2001-04.com.example:";
    name += std::string(223 - name.size(), 'x');
    CHECK(validate_iscsi_name(name).ok());
    CHECK_FALSE(validate_iscsi_name(name + "x").ok());
}
