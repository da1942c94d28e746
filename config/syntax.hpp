// Syntax checks the loader needs and that the wire layer (control/) also does for iserctl and
// iserd. config/ may not link control/, so these are small local versions of the same rules
// (control/names.hpp, control/portal.hpp); the unit tests pin them to the same examples.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace iser::config {

inline constexpr std::uint16_t kDefaultIscsiPort = 3260;

// iqn.YYYY-MM.reversed.domain[:anything], eui.<16 hex>, naa.<16|32 hex>; at most 223 bytes.
// Errors: "invalid iSCSI name 'X': why".
Status check_iscsi_name(std::string_view name);

// HOST[:PORT] with IPv6 literals in brackets -> "HOST:PORT" (brackets kept for IPv6).
// Errors: "invalid portal 'X': why".
Result<std::string> normalize_portal(std::string_view text);

// Target labels: 1-64 of letters, digits, '-', '_', '.'.
bool valid_label(std::string_view label);

}  // namespace iser::config
