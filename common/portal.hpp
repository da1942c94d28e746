// PORTAL syntax shared by iserctl and iserd: HOST[:PORT], default port 3260, IPv6 literals in
// brackets ("[fe80::1%eth0]:3260"). Pure functions: no name resolution happens here.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace iser {

inline constexpr std::uint16_t kDefaultIscsiPort = 3260;

struct Portal {
    std::string host;  // IPv4 literal, hostname, or IPv6 literal without brackets
    std::uint16_t port = kDefaultIscsiPort;
};

// Parses HOST[:PORT]; errors (EINVAL) are one line naming what is wrong with the text.
Result<Portal> parse_portal(std::string_view text);

// HOST:PORT, with the host in brackets when it is an IPv6 literal (contains ':').
std::string format_portal(std::string_view host, std::uint16_t port);
inline std::string format_portal(const Portal& p) { return format_portal(p.host, p.port); }

}  // namespace iser
