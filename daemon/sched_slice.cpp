#include "daemon/sched_slice.hpp"

#include "common/env_number.hpp"

#include <linux/sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace iser::daemon {
namespace {

// glibc 2.36 has no sched_setattr(); this is the kernel's first version of the struct.
struct SchedAttrV0 {
    std::uint32_t size;
    std::uint32_t sched_policy;
    std::uint64_t sched_flags;
    std::int32_t sched_nice;
    std::uint32_t sched_priority;
    std::uint64_t sched_runtime;
    std::uint64_t sched_deadline;
    std::uint64_t sched_period;
};
static_assert(sizeof(SchedAttrV0) == 48, "SCHED_ATTR_SIZE_VER0");

}  // namespace

Status request_scheduler_slice(std::chrono::microseconds slice) {
    SchedAttrV0 attr{};
    attr.size = sizeof attr;
    attr.sched_policy = SCHED_NORMAL;
    attr.sched_runtime = std::uint64_t(std::chrono::nanoseconds(slice).count());
    if (::syscall(SYS_sched_setattr, 0, &attr, 0) != 0) {
        int e = errno;
        return make_error(e, std::string("sched_setattr: ") + std::strerror(e));
    }
    return {};
}

Result<std::chrono::microseconds> queue_slice_from_env() {
    auto n = env_number("ISER_QUEUE_SLICE_US", std::uint64_t(kDefaultQueueSlice.count()), 100000);
    if (!n) return n.take_error();
    return std::chrono::microseconds(*n);
}

}  // namespace iser::daemon
