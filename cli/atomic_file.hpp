// Replacing a file so that a reader (node_exporter's textfile collector, every scrape) sees the
// old content or the new, never a half-written file: write a temporary file in the same
// directory (a rename is atomic only within one file system), flush it to disk, then rename it
// over the target.
#pragma once
#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace iser::cli {

// Replaces `path` with `content`, mode `mode` (whatever the umask). The temporary file is
// ".NAME.XXXXXX" beside it (a dot file, so a collector globbing *.prom never reads it) and is
// removed again on any failure. Errors name the path and the step that failed.
Status write_file_atomically(const std::string& path, std::string_view content, mode_t mode);

}  // namespace iser::cli
