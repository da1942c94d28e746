// The local name and portal checks follow control/names.hpp and control/portal.hpp.
#include <doctest/doctest.h>

#include "config/syntax.hpp"

using namespace iser::config;

TEST_CASE("syntax: portals normalize to HOST:PORT") {
    CHECK(*normalize_portal("192.0.2.10") == "192.0.2.10:3260");
    CHECK(*normalize_portal("192.0.2.10:3261") == "192.0.2.10:3261");
    CHECK(*normalize_portal("[2001:db8::1]") == "[2001:db8::1]:3260");
    CHECK(*normalize_portal("[fe80::1%eth0]:3260") == "[fe80::1%eth0]:3260");
    CHECK(*normalize_portal("storage.example.org.:65535") == "storage.example.org.:65535");
    CHECK(normalize_portal("300.1.1.1").error().message == "invalid portal '300.1.1.1': '300.1.1.1' is not an IPv4 address");
    CHECK(normalize_portal("[::1").error().message == "invalid portal '[::1': missing ']' after IPv6 address");
    CHECK(normalize_portal("h:65536").error().message == "invalid portal 'h:65536': port 65536 is out of range 1-65535");
    CHECK(normalize_portal("h:").error().message == "invalid portal 'h:': missing port number after ':'");
    CHECK(normalize_portal("-bad-").error().message == "invalid portal '-bad-': '-bad-' is not a valid host name");
    CHECK(normalize_portal("[::1]x").error().message == "invalid portal '[::1]x': expected ':PORT' after ']'");
}

TEST_CASE("syntax: iSCSI names") {
    CHECK(check_iscsi_name("iqn.2003-01.org.example:disk1").ok());
    CHECK(check_iscsi_name("IQN.2003-01.org.Example").ok());
    CHECK(check_iscsi_name("eui.02004567A425678D").ok());
    CHECK(check_iscsi_name("naa.52004567BA64678D52004567BA64678D").ok());
    CHECK(check_iscsi_name("iqn.2003-13.org.example").error().message ==
          "invalid iSCSI name 'iqn.2003-13.org.example': month 13 is not 01-12");
    CHECK(check_iscsi_name("iqn.2003-01.org.example:").error().message ==
          "invalid iSCSI name 'iqn.2003-01.org.example:': nothing after ':'");
    CHECK(check_iscsi_name("iqn.2003-01.org..example").error().message ==
          "invalid iSCSI name 'iqn.2003-01.org..example': empty label in the reversed domain name 'org..example'");
    CHECK(check_iscsi_name("iqn.2003-01.org.ex ample").error().message ==
          "invalid iSCSI name 'iqn.2003-01.org.ex ample': character ' ' at position 19 is not allowed (letters, digits, '-', '.', ':')");
    CHECK(check_iscsi_name("eui.123").error().message == "invalid iSCSI name 'eui.123': eui. must be followed by 16 hex digits");
    CHECK(check_iscsi_name("").error().message == "invalid iSCSI name: empty");
    CHECK(check_iscsi_name(std::string(224, 'a')).error().message ==
          "invalid iSCSI name '" + std::string(40, 'a') + "': longer than 223 bytes");
}

TEST_CASE("syntax: labels") {
    CHECK(valid_label("fast"));
    CHECK(valid_label("db-01_a.b"));
    CHECK_FALSE(valid_label(""));
    CHECK_FALSE(valid_label("a b"));
    CHECK_FALSE(valid_label(std::string(65, 'a')));
}
