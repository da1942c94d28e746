// Syntax checks the loader needs: iSCSI names and portals by the rules iserctl and iserd use
// (common/iscsi_name.hpp, common/portal.hpp), and target labels, which only the file has.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "common/portal.hpp"
#include "common/result.hpp"

namespace iser::config {

using iser::kDefaultIscsiPort;

// iqn.YYYY-MM.reversed.domain[:anything], eui.<16 hex>, naa.<16|32 hex>; at most 223 bytes.
// Errors: "invalid iSCSI name 'X': why".
Status check_iscsi_name(std::string_view name);

// HOST[:PORT] with IPv6 literals in brackets -> "HOST:PORT" (brackets kept for IPv6).
// Errors: "invalid portal 'X': why".
Result<std::string> normalize_portal(std::string_view text);

// Target labels: 1-64 of letters, digits, '-', '_', '.'.
bool valid_label(std::string_view label);

}  // namespace iser::config
