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
    // With user_recovery: also reissue the requests the dead server held (REISSUE). false asks
    // for USER_RECOVERY alone: those requests then fail with EIO (only new I/O waits).
    bool reissue = true;
    // Ask for UBLK_F_USER_COPY when the driver offers it: tags then need no buffer of their own;
    // each request takes a slice of the backend's io_pool() for its lifetime (ublk/queue.hpp).
    bool user_copy = true;
    // Stored verbatim in the kernel's device info (ublksrv_flags) so a restarted daemon can
    // tell that a /dev/ublkbN is the one its on-disk record describes (0: none).
    std::uint64_t cookie = 0;
};

}  // namespace iser::ublk
