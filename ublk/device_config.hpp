// What a ublk device should look like; plain data, any thread.
#pragma once
#include <cstdint>

#include "common/block_backend.hpp"

namespace iser::ublk {

struct DeviceConfig {
    std::uint16_t queues = 1;
    std::uint16_t depth = 128;      // tags per queue (1..4096)
    int dev_id = -1;                // -1: the driver picks the number
    BlockGeometry geometry;         // size, block sizes, max_io_bytes (also the per-tag buffer size)
    // Ask for UBLK_F_USER_RECOVERY|USER_RECOVERY_REISSUE when the driver offers both: a daemon
    // that dies leaves the disk quiesced (I/O waits, then is reissued) instead of failing it.
    bool user_recovery = true;
};

}  // namespace iser::ublk
