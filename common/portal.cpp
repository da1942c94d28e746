#include "common/portal.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace iser {
namespace {

Error bad(std::string_view text, std::string_view why) {
    return make_error(EINVAL, "invalid portal '" + std::string(text) + "': " + std::string(why));
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

Result<std::uint16_t> parse_port(std::string_view text, std::string_view port) {
    if (port.empty()) return bad(text, "missing port number after ':'");
    if (!all_digits(port)) return bad(text, "port '" + std::string(port) + "' is not a number");
    if (port.size() > 5) return bad(text, "port " + std::string(port) + " is out of range 1-65535");
    unsigned value = 0;
    for (char c : port) value = value * 10 + unsigned(c - '0');
    if (value == 0 || value > 65535) return bad(text, "port " + std::string(port) + " is out of range 1-65535");
    return std::uint16_t(value);
}

bool valid_ipv6(std::string_view host) {
    // A zone ("%eth0") is allowed after a link-local address; inet_pton does not take it.
    std::string addr(host.substr(0, host.find('%')));
    if (host.find('%') != std::string_view::npos && host.size() == addr.size() + 1) return false;
    in6_addr out{};
    return inet_pton(AF_INET6, addr.c_str(), &out) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits and hyphens, 1-63 bytes each,
// no hyphen at either end of a label, 253 bytes in all. A trailing dot (FQDN) is accepted.
bool valid_hostname(std::string_view host) {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.empty() || host.size() > 253) return false;
    std::size_t start = 0;
    while (start <= host.size()) {
        std::size_t end = host.find('.', start);
        if (end == std::string_view::npos) end = host.size();
        std::string_view label = host.substr(start, end - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (unsigned char c : label)
            if (!std::isalnum(c) && c != '-') return false;
        start = end + 1;
    }
    return true;
}

bool looks_numeric(std::string_view host) {
    return std::all_of(host.begin(), host.end(), [](unsigned char c) { return std::isdigit(c) || c == '.'; });
}

}  // namespace

Result<Portal> parse_portal(std::string_view text) {
    if (text.empty()) return bad(text, "empty; expected HOST[:PORT]");
    Portal portal;
    std::string_view rest;
    if (text.front() == '[') {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos) return bad(text, "missing ']' after IPv6 address");
        std::string_view host = text.substr(1, close - 1);
        if (host.empty()) return bad(text, "empty IPv6 address in brackets");
        if (!valid_ipv6(host)) return bad(text, "'" + std::string(host) + "' is not an IPv6 address");
        portal.host = std::string(host);
        rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return bad(text, "expected ':PORT' after ']'");
    } else {
        std::size_t colon = text.find(':');
        if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos)
            return bad(text, "an IPv6 address must be in brackets, e.g. [::1]:3260");
        std::string_view host = text.substr(0, colon);
        if (host.empty()) return bad(text, "missing host");
        if (looks_numeric(host)) {
            in_addr out{};
            if (inet_pton(AF_INET, std::string(host).c_str(), &out) != 1)
                return bad(text, "'" + std::string(host) + "' is not an IPv4 address");
        } else if (!valid_hostname(host)) {
            return bad(text, "'" + std::string(host) + "' is not a valid host name");
        }
        portal.host = std::string(host);
        if (colon != std::string_view::npos) rest = text.substr(colon);
    }
    if (!rest.empty()) {
        auto port = parse_port(text, rest.substr(1));
        if (!port) return port.take_error();
        portal.port = *port;
    }
    return portal;
}

std::string format_portal(std::string_view host, std::uint16_t port) {
    std::string out;
    if (host.find(':') != std::string_view::npos) {
        out.append("[").append(host).append("]");
    } else {
        out.append(host);
    }
    return out + ":" + std::to_string(port);
}

}  // namespace iser
