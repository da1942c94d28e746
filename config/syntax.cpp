#include "config/syntax.hpp"

#include <algorithm>
#include <cctype>

#include "common/iscsi_name.hpp"
#include "common/portal.hpp"

namespace iser::config {

// The same rules as iserctl's flags and iserd's wire decoder (common/), so a name or portal the
// file accepts is one the daemon accepts too.
Status check_iscsi_name(std::string_view name) { return validate_iscsi_name(name); }

Result<std::string> normalize_portal(std::string_view text) {
    auto portal = parse_portal(text);
    if (!portal) return portal.take_error();
    return format_portal(*portal);
}

bool valid_label(std::string_view label) {
    return !label.empty() && label.size() <= 64 &&
           std::all_of(label.begin(), label.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace iser::config
