// iser.yaml text -> Config. Pure: the only outside look is the optional CHAP secret-file check,
// which the caller injects (load_file.hpp gives the real one; tests and the fuzzer skip it).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "config/config.hpp"

namespace iser::config {

// Looks at one CHAP secret file (absolute path); returns what is wrong with it, starting with
// the path (e.g. "/etc/iser/a.secret is readable by group or others (mode 0644); run 'chmod 600
// /etc/iser/a.secret'"), or nullopt when it is fine. Must never read or return the secret.
using SecretFileCheck = std::function<std::optional<std::string>(const std::string& path)>;

struct LoadOptions {
    SecretFileCheck check_secret_file;  // empty: secret files are not looked at
    std::string base_directory = "/";   // relative secret-file paths are taken from here
};

// At most this many problems are reported for one file.
inline constexpr std::size_t kMaxReportedErrors = 20;

// Parses and validates. On failure the Error (EINVAL) holds one line per problem, in file order,
// joined by '\n', each "SOURCE:LINE: what is wrong" (LINE 1-based). Never throws.
Result<Config> parse_config(std::string_view text, const std::string& source, const LoadOptions& options = {});

}  // namespace iser::config
