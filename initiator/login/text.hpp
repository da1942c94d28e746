// The iSCSI text format (RFC 7143 §6.1): UTF-8 "key=value" pairs, each terminated by a NUL.
// Used by Login and Text PDUs. Pure functions over byte spans.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace iser::login {

using KeyValue = std::pair<std::string, std::string>;
using KeyValues = std::vector<KeyValue>;

inline constexpr std::size_t kMaxKeyLength = 63;       // RFC 7143 §6.1
inline constexpr std::size_t kMaxValueLength = 8192;   // largest value of any key (binary values)
inline constexpr std::uint16_t kDefaultIscsiPort = 3260;

// Splits a data segment into key=value pairs, in order (duplicates are kept: SendTargets
// answers repeat TargetName/TargetAddress). Trailing NUL padding (tgtd, LIO) is accepted.
// Fails with EPROTO on a missing '=', an empty or over-long key, a key with characters
// outside [A-Za-z0-9.-+@_], an over-long value, invalid UTF-8, an empty pair in the middle
// or a last pair without its NUL.
Result<KeyValues> parse_text(Bytes data);

// Appends "key=value\0".
void append_key(std::vector<std::uint8_t>& out, std::string_view key, std::string_view value);
// Appends every pair of `keys`.
void append_keys(std::vector<std::uint8_t>& out, const KeyValues& keys);

// The first value of `key`, or nullptr.
const std::string* find_key(const KeyValues& keys, std::string_view key);

// One portal of a SendTargets answer: TargetAddress=host[:port][,tpgt].
struct Portal {
    std::string address;   // host name, IPv4 or IPv6 (without brackets)
    std::uint16_t port = kDefaultIscsiPort;
    std::uint16_t tpgt = 1;  // RFC 7143 requires the tag; 1 when a target omits it
};

struct SendTargetsEntry {
    using Portal = login::Portal;
    std::string target_name;
    std::vector<Portal> portals;  // empty: reachable through the portal that answered
};

// Parses "host[:port][,tpgt]"; IPv6 addresses in brackets ("[fe80::1]:3260,1"); a bare IPv6
// address without brackets is taken whole with the default port.
Result<Portal> parse_target_address(std::string_view value);

// Parses the answer to SendTargets=All: each TargetName= starts an entry, the TargetAddress=
// keys that follow belong to it. Other keys (TargetAlias...) are ignored. The answer is the
// target's word: every TargetName must be a valid iSCSI name (223 bytes at most), and an answer
// with more than kMaxSendTargets targets or kMaxPortalsPerTarget portals for one is refused
// (EPROTO), so that a hostile target cannot make us copy kilobytes of names per portal.
inline constexpr std::size_t kMaxSendTargets = 1024;
inline constexpr std::size_t kMaxPortalsPerTarget = 64;
Result<std::vector<SendTargetsEntry>> parse_send_targets(Bytes data);

}  // namespace iser::login
