// The loader with the real file system: reads the YAML file and checks each CHAP secret file's
// type and mode (the secret itself is never read).
#pragma once
#include <optional>
#include <string>

#include "common/result.hpp"
#include "config/config.hpp"

namespace iser::config {

// What is wrong with a CHAP secret file, starting with its path, or nullopt: missing, not a
// regular file, or readable/writable by group or others ("... (mode 0644); run 'chmod 600 PATH'").
std::optional<std::string> check_secret_file_mode(const std::string& path);

// Reads `path` and parses it with check_secret_file_mode; relative secret-file paths are taken
// from the directory of `path`. Errors are parse_config's lines, or "PATH: cannot read: why".
Result<Config> load_config_file(const std::string& path);

}  // namespace iser::config
