// iserd's file descriptors grow with what it serves (sockets, RDMA channels, io_uring rings,
// /dev/ublkcN per device; iserd(8) gives the figures), and the default soft limit of 1024
// stopped attaching in the low hundreds of LUNs with EMFILE. The hard limit is the
// administrator's bound (LimitNOFILE= in the unit): iserd takes all of it at start.
#pragma once
#include <sys/resource.h>

#include "common/result.hpp"

namespace iser::daemon {

struct FdLimit {
    rlim_t before = 0;  // soft limit found
    rlim_t now = 0;     // soft limit after raising it
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit. Never lowers it.
Result<FdLimit> raise_fd_limit();

}  // namespace iser::daemon
