// Initiator Session IDs for the sessions iserd opens.
#pragma once
#include <cstdio>
#include <random>
#include <string>

#include "initiator/pdu/pdu.hpp"

namespace iser::daemon {

// RFC 7143 §11.12.5: type 10b "random" ISID; B and C random, D a random qualifier.
inline pdu::Isid random_isid() {
    std::random_device rd;
    std::uint32_t a = rd(), b = rd();
    return {0x80, std::uint8_t(a), std::uint8_t(a >> 8), std::uint8_t(a >> 16), std::uint8_t(b), std::uint8_t(b >> 8)};
}

// 12 hex digits, as iserctl list shows it.
inline std::string isid_hex(const pdu::Isid& isid) {
    std::string s;
    char b[4];
    for (auto v : isid) {
        std::snprintf(b, sizeof b, "%02x", v);
        s += b;
    }
    return s;
}

}  // namespace iser::daemon
