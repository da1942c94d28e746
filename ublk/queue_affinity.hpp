// Which CPUs submit to each hardware queue of a ublk disk (blk-mq's mapping, in
// /sys/block/ublkbN/mq/Q/cpu_list). A queue's requests reach its server thread as task work
// queued by the submitting CPU; a server thread that runs on those CPUs is woken without a
// cross-CPU interrupt and keeps the request's cache lines local, as ublksrv does by pinning its
// queue threads.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace iser::ublk {

// "0-3, 8, 10-11" (also "0,1" or "0 1") -> {0,1,2,3,8,10,11}. EINVAL on anything else.
Result<std::vector<int>> parse_cpu_list(std::string_view text);

// The CPUs blk-mq maps to queue `queue_id` of /dev/ublkb<dev_id>, read under `sysfs_block`
// (/sys/block). Only meaningful once the disk exists (after START_DEV).
Result<std::vector<int>> queue_cpus(int dev_id, std::uint16_t queue_id, const std::string& sysfs_block = "/sys/block");

}  // namespace iser::ublk
