// Creating the listening unix socket safely: a stale socket file is replaced only if it is a
// socket nobody answers on, the file is never accessible to others, not even briefly, and its
// owner and mode are set where no one else can swap the file (then it is renamed into place).
#pragma once
#include <sys/stat.h>
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace iser::nbd {

struct UnixListener {
    UniqueFd fd;  // non-blocking, close-on-exec, listening
    dev_t dev = 0;
    ino_t ino = 0;
};

// Mode 0660 with `group` when given, else 0600, owned by the calling user. `after_bind`, for
// tests only, runs between setting the owner and mode and the rename into place: the window a
// user of the directory would race.
Result<UnixListener> listen_unix(const std::string& path, std::optional<gid_t> group, int backlog,
                                 const std::function<void()>& after_bind = {});

// Unlinks `path` only if it is still the socket file identified by dev/ino.
void unlink_unix_listener(const std::string& path, dev_t dev, ino_t ino);

}  // namespace iser::nbd
