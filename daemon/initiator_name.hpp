// The initiator's iSCSI name: generated once and persisted, or taken from open-iscsi's file.
#pragma once
#include <string>

#include "common/result.hpp"

namespace iser::daemon {

inline constexpr const char* kInitiatorNameFile = "/etc/iser/initiatorname.iser";
inline constexpr const char* kOpenIscsiNameFile = "/etc/iscsi/initiatorname.iscsi";

// Reads InitiatorName= from our file, then from open-iscsi's; otherwise generates
// iqn.2026-11.org.iser-initiator:<hostname>-<8 hex digits> and writes it to our file.
Result<std::string> load_or_create_initiator_name();

// Parses "InitiatorName=..." from a file's text (comments with '#').
std::string parse_initiator_name_file(const std::string& text);

}  // namespace iser::daemon
