// CHAP secrets come from files only (never argv, never logs). A file that anyone but its owner
// can read is refused: the secret may already have leaked.
#pragma once
#include <string>

#include "common/result.hpp"

namespace iser::daemon {

// Reads the secret (first line, trailing newline removed). Errors name the file, never its content.
Result<std::string> read_secret_file(const std::string& path);

}  // namespace iser::daemon
