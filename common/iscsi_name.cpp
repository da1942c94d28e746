#include "common/iscsi_name.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace iser {
namespace {

Error bad(std::string_view name, std::string_view why) {
    return make_error(EINVAL, "invalid iSCSI name '" + std::string(name) + "': " + std::string(why));
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), s.begin(),
                      [](char a, char b) { return std::tolower((unsigned char)a) == std::tolower((unsigned char)b); });
}

bool all_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

bool allowed_iqn_char(unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == ':' || c >= 0x80;
}

Status validate_iqn(std::string_view name) {
    // iqn.YYYY-MM.naming-authority[:unique]
    std::string_view rest = name.substr(4);
    if (rest.size() < 8 || !std::isdigit((unsigned char)rest[0]) || !std::isdigit((unsigned char)rest[1]) ||
        !std::isdigit((unsigned char)rest[2]) || !std::isdigit((unsigned char)rest[3]) || rest[4] != '-' ||
        !std::isdigit((unsigned char)rest[5]) || !std::isdigit((unsigned char)rest[6]))
        return bad(name, "expected iqn.YYYY-MM.reversed.domain[:name], e.g. iqn.2003-01.org.example:disk1");
    int month = (rest[5] - '0') * 10 + (rest[6] - '0');
    if (month < 1 || month > 12) return bad(name, "month " + std::string(rest.substr(5, 2)) + " is not 01-12");
    if (rest[7] != '.') return bad(name, "expected '.' and a reversed domain name after the date");
    for (std::size_t i = 0; i < name.size(); ++i) {
        unsigned char c = name[i];
        if (!allowed_iqn_char(c)) {
            std::string shown = std::isprint(c) ? std::string("'") + char(c) + "'" : "byte " + std::to_string(unsigned(c));
            return bad(name, "character " + shown + " at position " + std::to_string(i + 1) +
                                 " is not allowed (letters, digits, '-', '.', ':')");
        }
    }
    std::string_view tail = rest.substr(8);
    std::string_view authority = tail.substr(0, tail.find(':'));
    if (authority.empty()) return bad(name, "missing reversed domain name after the date");
    // Labels of the reversed domain: non-empty, no ':' (already split off).
    if (authority.front() == '.' || authority.back() == '.' || authority.find("..") != std::string_view::npos)
        return bad(name, "empty label in the reversed domain name '" + std::string(authority) + "'");
    if (tail.size() > authority.size() && tail.size() == authority.size() + 1)
        return bad(name, "nothing after ':'");
    return {};
}

}  // namespace

Status validate_iscsi_name(std::string_view name) {
    if (name.empty()) return make_error(EINVAL, "invalid iSCSI name: empty");
    if (name.size() > kMaxIscsiNameBytes)
        return bad(name.substr(0, 40), "longer than " + std::to_string(kMaxIscsiNameBytes) + " bytes");
    if (starts_with_nocase(name, "iqn.")) return validate_iqn(name);
    if (starts_with_nocase(name, "eui.")) {
        std::string_view hex = name.substr(4);
        if (hex.size() != 16 || !all_hex(hex)) return bad(name, "eui. must be followed by 16 hex digits");
        return {};
    }
    if (starts_with_nocase(name, "naa.")) {
        std::string_view hex = name.substr(4);
        if ((hex.size() != 16 && hex.size() != 32) || !all_hex(hex))
            return bad(name, "naa. must be followed by 16 or 32 hex digits");
        return {};
    }
    return bad(name, "must start with iqn., eui. or naa.");
}

}  // namespace iser
