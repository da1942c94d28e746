// iSCSI name syntax (RFC 3720 section 3.2.6.3, RFC 3980 for naa.): checked in iserctl so that a
// typo is one clear line before any network traffic, and again by the wire decoder in iserd.
#pragma once
#include <cstddef>
#include <string_view>

#include "common/result.hpp"

namespace iser {

inline constexpr std::size_t kMaxIscsiNameBytes = 223;

// Accepts the three forms:
//   iqn.YYYY-MM.reversed.domain[:anything]   e.g. iqn.2003-01.org.example:disk1
//   eui.<16 hex digits>                      e.g. eui.02004567A425678D
//   naa.<16 or 32 hex digits>                e.g. naa.52004567BA64678D
// The type prefix is case-insensitive. Characters allowed in iqn. names are letters, digits,
// '-', '.', ':' and non-ASCII UTF-8 bytes; upper-case letters are accepted because some targets
// are configured with mixed-case names and compare them byte for byte.
// Errors (EINVAL) say what is wrong, e.g. "invalid iSCSI name 'iqn.2003.x': date must be YYYY-MM".
Status validate_iscsi_name(std::string_view name);

}  // namespace iser
