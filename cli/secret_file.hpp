// CHAP secrets stay in files: iserctl checks the file and hands iserd only its absolute path,
// so a secret never appears in argv, in the environment, or on the control socket.
#pragma once
#include <string>

#include "common/result.hpp"

namespace iser::cli {

// The absolute path of `path` when it is a regular file that neither group nor others can read
// or write; else a one-line error saying how to fix it (e.g. "chmod 600 FILE").
Result<std::string> check_secret_file(const std::string& path, const char* option);

}  // namespace iser::cli
