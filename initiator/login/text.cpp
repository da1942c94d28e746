#include "initiator/login/text.hpp"

#include "common/iscsi_name.hpp"

#include <charconv>

namespace iser::login {
namespace {

bool is_key_char(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '+' || c == '@' || c == '_';
}

// Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        std::uint32_t cp;
        if (c < 0x80) { ++i; continue; }
        if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
        else return false;
        if (i + n >= s.size()) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = cp << 6 | (cc & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

Error text_error(std::string what) { return make_error(EPROTO, "malformed iSCSI text: " + what); }

// Shortens a peer-supplied string for an error message.
std::string excerpt(std::string_view s) {
    constexpr std::size_t kMax = 40;
    std::string out;
    for (char c : s.substr(0, kMax)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (s.size() > kMax) out += "...";
    return out;
}

Result<KeyValue> parse_pair(std::string_view pair) {
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) return text_error("missing '=' in \"" + excerpt(pair) + "\"");
    const auto key = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (key.empty()) return text_error("empty key in \"" + excerpt(pair) + "\"");
    if (key.size() > kMaxKeyLength)
        return text_error("key longer than 63 bytes: \"" + excerpt(key) + "\"");
    for (char c : key)
        if (!is_key_char(static_cast<unsigned char>(c)))
            return text_error("invalid character in key \"" + excerpt(key) + "\"");
    if (value.size() > kMaxValueLength)
        return text_error("value of " + std::string(key) + " longer than 8192 bytes");
    if (!is_valid_utf8(value)) return text_error("value of " + std::string(key) + " is not UTF-8");
    return KeyValue{std::string(key), std::string(value)};
}

Result<std::uint16_t> parse_u16(std::string_view s, const char* what, std::string_view whole) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > 0xffff)
        return make_error(EPROTO, std::string("bad ") + what + " in TargetAddress=" + excerpt(whole));
    return std::uint16_t(v);
}

}  // namespace

Result<KeyValues> parse_text(Bytes data) {
    KeyValues out;
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    // Trailing NULs beyond the last terminator are padding.
    auto end = text.size();
    while (end > 0 && text[end - 1] == '\0') --end;
    if (end == 0) return out;
    if (end == text.size()) return text_error("last key=value pair is not NUL-terminated");
    std::size_t pos = 0;
    while (pos < end) {
        const auto nul = text.find('\0', pos);  // exists: text[end] is a NUL
        if (nul == pos) return text_error("empty key=value pair");
        auto pair = parse_pair(text.substr(pos, nul - pos));
        if (!pair) return pair.take_error();
        out.push_back(std::move(*pair));
        pos = nul + 1;
    }
    return out;
}

void append_key(std::vector<std::uint8_t>& out, std::string_view key, std::string_view value) {
    out.insert(out.end(), key.begin(), key.end());
    out.push_back('=');
    out.insert(out.end(), value.begin(), value.end());
    out.push_back(0);
}

void append_keys(std::vector<std::uint8_t>& out, const KeyValues& keys) {
    for (const auto& [k, v] : keys) append_key(out, k, v);
}

const std::string* find_key(const KeyValues& keys, std::string_view key) {
    for (const auto& kv : keys)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

Result<Portal> parse_target_address(std::string_view value) {
    Portal portal;
    std::string_view rest = value;
    if (const auto comma = rest.rfind(','); comma != std::string_view::npos) {
        auto tpgt = parse_u16(rest.substr(comma + 1), "portal group tag", value);
        if (!tpgt) return tpgt.take_error();
        portal.tpgt = *tpgt;
        rest = rest.substr(0, comma);
    }
    std::string_view host = rest, port;
    bool has_port = false;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string_view::npos)
            return make_error(EPROTO, "unterminated '[' in TargetAddress=" + excerpt(value));
        host = rest.substr(1, close - 1);
        const auto after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                return make_error(EPROTO, "junk after ']' in TargetAddress=" + excerpt(value));
            port = after.substr(1);
            has_port = true;
        }
    } else if (const auto colon = rest.find(':');
               colon != std::string_view::npos && rest.find(':', colon + 1) == std::string_view::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        has_port = true;
    }  // else: no colon, or a bare IPv6 address: all host, default port
    if (host.empty()) return make_error(EPROTO, "empty host in TargetAddress=" + excerpt(value));
    if (has_port) {
        auto p = parse_u16(port, "port", value);
        if (!p) return p.take_error();
        if (*p == 0) return make_error(EPROTO, "port 0 in TargetAddress=" + excerpt(value));
        portal.port = *p;
    }
    portal.address = std::string(host);
    return portal;
}

Result<std::vector<SendTargetsEntry>> parse_send_targets(Bytes data) {
    auto keys = parse_text(data);
    if (!keys) return keys.take_error();
    std::vector<SendTargetsEntry> out;
    for (const auto& [key, value] : *keys) {
        if (key == "TargetName") {
            if (value.empty()) return make_error(EPROTO, "SendTargets answer has an empty TargetName");
            if (auto valid = validate_iscsi_name(value); !valid)
                return make_error(EPROTO, "SendTargets answer: " + valid.error().message);
            if (out.size() == kMaxSendTargets)
                return make_error(EPROTO, "SendTargets answer lists more than " + std::to_string(kMaxSendTargets) + " targets");
            out.push_back(SendTargetsEntry{value, {}});
        } else if (key == "TargetAddress") {
            if (out.empty())
                return make_error(EPROTO, "SendTargets answer has TargetAddress before any TargetName");
            if (out.back().portals.size() == kMaxPortalsPerTarget)
                return make_error(EPROTO, "SendTargets answer lists more than " + std::to_string(kMaxPortalsPerTarget) +
                                              " portals for " + out.back().target_name);
            auto portal = parse_target_address(value);
            if (!portal) return portal.take_error();
            out.back().portals.push_back(std::move(*portal));
        }
    }
    return out;
}

}  // namespace iser::login
