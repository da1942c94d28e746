// Login status texts, RFC 7143 §11.13.5.
#include <array>
#include <cstdio>

#include "initiator/login/login.hpp"

namespace iser::login {
namespace {

struct StatusText {
    std::uint8_t status_class, detail;
    const char* text;
};

constexpr std::array kStatusTexts{
    StatusText{0x00, 0x00, "success"},
    StatusText{0x01, 0x01, "target moved temporarily"},
    StatusText{0x01, 0x02, "target moved permanently"},
    StatusText{0x02, 0x00, "initiator error"},
    StatusText{0x02, 0x01, "authentication failure"},
    StatusText{0x02, 0x02, "authorization failure (initiator not allowed to access this target)"},
    StatusText{0x02, 0x03, "target not found"},
    StatusText{0x02, 0x04, "target removed"},
    StatusText{0x02, 0x05, "unsupported iSCSI version"},
    StatusText{0x02, 0x06, "too many connections"},
    StatusText{0x02, 0x07, "missing parameter"},
    StatusText{0x02, 0x08, "cannot include connection in session"},
    StatusText{0x02, 0x09, "session type not supported"},
    StatusText{0x02, 0x0a, "session does not exist"},
    StatusText{0x02, 0x0b, "invalid request during login"},
    StatusText{0x03, 0x00, "target error"},
    StatusText{0x03, 0x01, "service unavailable"},
    StatusText{0x03, 0x02, "out of resources"},
};

}  // namespace

std::string describe_login_status(std::uint8_t status_class, std::uint8_t status_detail) {
    for (const auto& s : kStatusTexts)
        if (s.status_class == status_class && s.detail == status_detail) return s.text;
    char buf[64];
    std::snprintf(buf, sizeof buf, "unknown login status (class 0x%02x, detail 0x%02x)",
                  status_class, status_detail);
    return buf;
}

}  // namespace iser::login
