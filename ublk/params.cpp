#include "ublk/params.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <string>

namespace iser::ublk {
namespace {

constexpr std::uint32_t kPage = 4096;   // the driver's logical block limit is PAGE_SIZE (x86-64)
constexpr std::uint32_t kSectorShift = 9;

std::uint8_t shift_of(std::uint32_t power_of_two) { return std::uint8_t(std::countr_zero(power_of_two)); }

std::uint32_t clamp_sectors(std::uint64_t bytes) {
    return std::uint32_t(std::min<std::uint64_t>(bytes >> kSectorShift, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace

Result<uapi::DevInfo> build_dev_info(const DeviceConfig& config, std::uint64_t driver_features) {
    if (config.queues == 0) return make_error(EINVAL, "ublk: a device needs at least one queue");
    if (config.depth == 0 || config.depth > uapi::kMaxQueueDepth)
        return make_error(EINVAL, "ublk: queue depth " + std::to_string(config.depth) + " is outside 1..4096");
    if (config.geometry.max_io_bytes < kPage)
        return make_error(EINVAL, "ublk: max_io_bytes " + std::to_string(config.geometry.max_io_bytes) +
                                      " is below one page");
    uapi::DevInfo info{};
    info.nr_hw_queues = config.queues;
    info.queue_depth = config.depth;
    // The driver rounds this down to a page; round down here too so both sides agree.
    info.max_io_buf_bytes = config.geometry.max_io_bytes / kPage * kPage;
    info.dev_id = config.dev_id < 0 ? uapi::kAutoDevId : std::uint32_t(config.dev_id);
    info.ublksrv_pid = -1;
    info.flags = uapi::kFlagCmdIoctlEncode;
    constexpr std::uint64_t recovery = uapi::kFlagUserRecovery | uapi::kFlagUserRecoveryReissue;
    if (config.user_recovery && (driver_features & recovery) == recovery)
        info.flags |= config.reissue ? recovery : uapi::kFlagUserRecovery;
    if (config.user_copy && (driver_features & uapi::kFlagUserCopy) && info.max_io_buf_bytes <= uapi::kUserCopyMaxBytes)
        info.flags |= uapi::kFlagUserCopy;
    info.ublksrv_flags = config.cookie;
    return info;
}

Result<uapi::Params> build_params(const BlockGeometry& g, std::uint32_t max_io_buf_bytes) {
    const std::uint32_t lbs = g.logical_block_size;
    const std::uint32_t pbs = g.physical_block_size ? g.physical_block_size : lbs;
    if (!std::has_single_bit(lbs) || lbs < 512 || lbs > kPage)
        return make_error(EINVAL, "ublk: logical block size " + std::to_string(lbs) + " is not 512..4096, power of two");
    if (!std::has_single_bit(pbs) || pbs < lbs)
        return make_error(EINVAL, "ublk: physical block size " + std::to_string(pbs) + " is invalid");
    if (g.size_bytes == 0 || g.size_bytes % lbs != 0)
        return make_error(EINVAL, "ublk: device size " + std::to_string(g.size_bytes) +
                                      " is not a positive multiple of the block size");
    const std::uint32_t max_io = std::min(g.max_io_bytes, max_io_buf_bytes) / lbs * lbs;
    if (max_io < kPage) return make_error(EINVAL, "ublk: largest I/O " + std::to_string(max_io) + " is below one page");

    uapi::Params p{};
    p.len = sizeof(uapi::Params);
    p.types = uapi::kParamTypeBasic;
    auto& b = p.basic;
    if (g.read_only) b.attrs |= uapi::kAttrReadOnly;
    if (g.volatile_cache) b.attrs |= uapi::kAttrVolatileCache;
    if (g.fua) b.attrs |= uapi::kAttrFua;
    b.logical_bs_shift = shift_of(lbs);
    b.physical_bs_shift = shift_of(pbs);
    b.io_min_shift = shift_of(pbs);
    b.io_opt_shift = shift_of(pbs);
    b.max_sectors = max_io >> kSectorShift;
    b.dev_sectors = g.size_bytes >> kSectorShift;

    if (g.discard || g.write_zeroes) {
        // The driver only reads write-zeroes limits from the discard block, and insists on a
        // non-zero granularity even when only write-zeroes is offered (then max_discard = 0).
        p.types |= uapi::kParamTypeDiscard;
        auto& d = p.discard;
        d.discard_granularity = g.discard_granularity_bytes ? g.discard_granularity_bytes : lbs;
        if (g.discard) {
            d.max_discard_sectors = clamp_sectors(g.max_discard_bytes ? g.max_discard_bytes : g.size_bytes);
            d.max_discard_segments = 1;
        }
        if (g.write_zeroes)
            d.max_write_zeroes_sectors = clamp_sectors(g.max_write_zeroes_bytes ? g.max_write_zeroes_bytes : g.size_bytes);
    }
    return p;
}

}  // namespace iser::ublk
