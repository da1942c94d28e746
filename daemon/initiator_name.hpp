// The initiator's iSCSI name: ours (/etc/iser/initiatorname.iser), else open-iscsi's, else
// generated once and persisted in ours.
#pragma once
#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace iser::daemon {

inline constexpr const char* kInitiatorNameFile = "/etc/iser/initiatorname.iser";
inline constexpr const char* kOpenIscsiNameFile = "/etc/iscsi/initiatorname.iscsi";

struct InitiatorNameFiles {
    std::string ours = kInitiatorNameFile;
    std::string open_iscsi = kOpenIscsiNameFile;
};

// The InitiatorName= of our file, else of open-iscsi's (read, not copied: an edit there is
// seen at the next start). When neither has one, generates
// iqn.2026-11.org.iser-initiator:<hostname>-<8 hex digits> and writes it to our file
// (folder created 0755, file 0644, written under a temporary name and renamed).
Result<std::string> load_or_create_initiator_name(const InitiatorNameFiles& files = {});

// The value of the first "InitiatorName=" line of a file's text. Lines starting with '#' and
// anything after a '#' are comments (no iSCSI name contains '#'); blanks around the value go.
// Empty when there is none.
std::string parse_initiator_name_file(const std::string& text);

// iqn.2026-11.org.iser-initiator:<host>-<random as 8 hex digits>, the host name lowercased and
// reduced to what an iqn. name may hold (letters, digits, '-', '.'; others become '-').
std::string generated_initiator_name(const std::string& hostname, std::uint32_t random);

}  // namespace iser::daemon
