// The one check of a CHAP secret file, shared by iserctl, the config loader and iserd, so a
// file one of them accepts is never refused by another. The path is opened with O_NOFOLLOW (a
// symlink is refused, never followed) and the checks are made with fstat() on what was opened,
// not on the path a second time: a regular file, owned by root or by the user checking, that
// neither group nor others may read, write or run. Errors are one line that starts with the
// path and says how to fix it, never the file's content; callers say what the file is for.
#pragma once
#include <string>

#include "common/result.hpp"

namespace iser {

// Checks the file without reading it (O_PATH: a user who may not read a root-owned secret can
// still check it).
Status check_secret_file(const std::string& path);
// Checks the file, then reads the secret: its first line, without the line end. At most 255
// bytes; empty is an error.
Result<std::string> read_secret_file(const std::string& path);

}  // namespace iser
