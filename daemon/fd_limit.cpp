#include "daemon/fd_limit.hpp"

#include <cerrno>
#include <cstring>
#include <string>

namespace iser::daemon {

Result<FdLimit> raise_fd_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return make_error(errno, std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
    FdLimit out{r.rlim_cur, r.rlim_cur};
    if (r.rlim_cur == RLIM_INFINITY || (r.rlim_max != RLIM_INFINITY && r.rlim_cur >= r.rlim_max)) return out;
    r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &r) != 0)
        return make_error(errno, "raising the open-file limit from " + std::to_string(out.before) + " to " +
                                     std::to_string(r.rlim_max) + " failed: " + std::strerror(errno));
    out.now = r.rlim_cur;
    return out;
}

}  // namespace iser::daemon
