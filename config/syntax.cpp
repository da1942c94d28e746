#include "config/syntax.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace iser::config {
namespace {

constexpr std::size_t kMaxIscsiNameBytes = 223;

Error bad_name(std::string_view name, std::string_view why) {
    return make_error(EINVAL, "invalid iSCSI name '" + std::string(name) + "': " + std::string(why));
}

Error bad_portal(std::string_view text, std::string_view why) {
    return make_error(EINVAL, "invalid portal '" + std::string(text) + "': " + std::string(why));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool has_prefix_nocase(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower((unsigned char)s[i]) != prefix[i]) return false;
    return true;
}

bool hex_digits(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

Status check_iqn(std::string_view name) {
    std::string_view rest = name.substr(4);  // after "iqn."
    bool dated = rest.size() >= 8 && is_digit(rest[0]) && is_digit(rest[1]) && is_digit(rest[2]) &&
                 is_digit(rest[3]) && rest[4] == '-' && is_digit(rest[5]) && is_digit(rest[6]);
    if (!dated) return bad_name(name, "expected iqn.YYYY-MM.reversed.domain[:name], e.g. iqn.2003-01.org.example:disk1");
    int month = (rest[5] - '0') * 10 + (rest[6] - '0');
    if (month < 1 || month > 12) return bad_name(name, "month " + std::string(rest.substr(5, 2)) + " is not 01-12");
    if (rest[7] != '.') return bad_name(name, "expected '.' and a reversed domain name after the date");
    for (std::size_t i = 0; i < name.size(); ++i) {
        unsigned char c = name[i];
        if (std::isalnum(c) || c == '-' || c == '.' || c == ':' || c >= 0x80) continue;
        std::string shown = std::isprint(c) ? std::string("'") + char(c) + "'" : "byte " + std::to_string(unsigned(c));
        return bad_name(name, "character " + shown + " at position " + std::to_string(i + 1) +
                                  " is not allowed (letters, digits, '-', '.', ':')");
    }
    std::string_view tail = rest.substr(8);
    std::string_view authority = tail.substr(0, tail.find(':'));
    if (authority.empty()) return bad_name(name, "missing reversed domain name after the date");
    if (authority.front() == '.' || authority.back() == '.' || authority.find("..") != std::string_view::npos)
        return bad_name(name, "empty label in the reversed domain name '" + std::string(authority) + "'");
    if (tail.size() == authority.size() + 1) return bad_name(name, "nothing after ':'");
    return {};
}

bool valid_ipv6(std::string_view host) {
    std::size_t percent = host.find('%');  // link-local zone, e.g. fe80::1%eth0
    if (percent != std::string_view::npos && percent + 1 == host.size()) return false;
    std::string address(host.substr(0, percent));
    in6_addr out{};
    return inet_pton(AF_INET6, address.c_str(), &out) == 1;
}

// RFC 1123 names: labels of letters, digits, '-' (not at either end), 1-63 bytes, 253 in all.
bool valid_hostname(std::string_view host) {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.empty() || host.size() > 253) return false;
    std::size_t start = 0;
    while (start <= host.size()) {
        std::size_t end = std::min(host.find('.', start), host.size());
        std::string_view label = host.substr(start, end - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        if (!std::all_of(label.begin(), label.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; }))
            return false;
        start = end + 1;
    }
    return true;
}

}  // namespace

Status check_iscsi_name(std::string_view name) {
    if (name.empty()) return make_error(EINVAL, "invalid iSCSI name: empty");
    if (name.size() > kMaxIscsiNameBytes)
        return bad_name(name.substr(0, 40), "longer than " + std::to_string(kMaxIscsiNameBytes) + " bytes");
    if (has_prefix_nocase(name, "iqn.")) return check_iqn(name);
    std::string_view hex = name.substr(std::min<std::size_t>(4, name.size()));
    if (has_prefix_nocase(name, "eui.")) {
        if (hex.size() != 16 || !hex_digits(hex)) return bad_name(name, "eui. must be followed by 16 hex digits");
        return {};
    }
    if (has_prefix_nocase(name, "naa.")) {
        if ((hex.size() != 16 && hex.size() != 32) || !hex_digits(hex))
            return bad_name(name, "naa. must be followed by 16 or 32 hex digits");
        return {};
    }
    return bad_name(name, "must start with iqn., eui. or naa.");
}

Result<std::string> normalize_portal(std::string_view text) {
    if (text.empty()) return bad_portal(text, "empty; expected HOST[:PORT]");
    std::string host;
    std::string_view port_text;
    bool has_port = false;
    if (text.front() == '[') {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos) return bad_portal(text, "missing ']' after IPv6 address");
        std::string_view inside = text.substr(1, close - 1);
        if (inside.empty()) return bad_portal(text, "empty IPv6 address in brackets");
        if (!valid_ipv6(inside)) return bad_portal(text, "'" + std::string(inside) + "' is not an IPv6 address");
        host = "[" + std::string(inside) + "]";
        std::string_view after = text.substr(close + 1);
        if (!after.empty() && after.front() != ':') return bad_portal(text, "expected ':PORT' after ']'");
        has_port = !after.empty();
        if (has_port) port_text = after.substr(1);
    } else {
        std::size_t colon = text.find(':');
        if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos)
            return bad_portal(text, "an IPv6 address must be in brackets, e.g. [::1]:3260");
        std::string_view name = text.substr(0, colon);
        if (name.empty()) return bad_portal(text, "missing host");
        bool numeric = std::all_of(name.begin(), name.end(), [](char c) { return is_digit(c) || c == '.'; });
        if (numeric) {
            in_addr out{};
            if (inet_pton(AF_INET, std::string(name).c_str(), &out) != 1)
                return bad_portal(text, "'" + std::string(name) + "' is not an IPv4 address");
        } else if (!valid_hostname(name)) {
            return bad_portal(text, "'" + std::string(name) + "' is not a valid host name");
        }
        host = std::string(name);
        has_port = colon != std::string_view::npos;
        if (has_port) port_text = text.substr(colon + 1);
    }
    unsigned port = kDefaultIscsiPort;
    if (has_port) {
        if (port_text.empty()) return bad_portal(text, "missing port number after ':'");
        if (!std::all_of(port_text.begin(), port_text.end(), is_digit))
            return bad_portal(text, "port '" + std::string(port_text) + "' is not a number");
        port = 0;
        for (char c : port_text.substr(0, 6)) port = port * 10 + unsigned(c - '0');
        if (port_text.size() > 5 || port == 0 || port > 65535)
            return bad_portal(text, "port " + std::string(port_text) + " is out of range 1-65535");
    }
    return host + ":" + std::to_string(port);
}

bool valid_label(std::string_view label) {
    return !label.empty() && label.size() <= 64 &&
           std::all_of(label.begin(), label.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace iser::config
