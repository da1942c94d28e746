// What a rescan does with a device once the LUN's capacity has been read again: nothing, resize
// the block device, only tell the NBD socket server, or report that the frontend cannot resize a
// live device. Pure, so the rules are unit-tested apart from the kernel.
#pragma once
#include <cstdint>
#include <string>

namespace iser::daemon {

enum class ResizeStep {
    Unchanged,     // the device already has the LUN's size
    ResizeDevice,  // kernel NBD (netlink RECONFIGURE) or ublk with UPDATE_SIZE
    ServerOnly,    // nbd-server: no kernel device; the server checks requests against the new size
    CannotResize,  // ublk without UPDATE_SIZE (Linux < 6.16): the device keeps its size
};

// `frontend` as in LoginRequest ("ublk", "nbd", "nbd-server").
ResizeStep plan_resize(const std::string& frontend, std::uint64_t device_bytes, std::uint64_t lun_bytes,
                       bool ublk_can_update_size);

// The one-line error for CannotResize, e.g. "LUN is now 96 MiB but this kernel's ublk cannot
// resize a live device (needs Linux 6.16, UBLK_F_UPDATE_SIZE); the device keeps 64 MiB until
// logout/login".
std::string cannot_resize_message(std::uint64_t lun_bytes, std::uint64_t device_bytes);

}  // namespace iser::daemon
