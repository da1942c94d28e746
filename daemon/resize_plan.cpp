#include "daemon/resize_plan.hpp"

#include "control/rescan_text.hpp"

namespace iser::daemon {

ResizeStep plan_resize(const std::string& frontend, std::uint64_t device_bytes, std::uint64_t lun_bytes,
                       bool ublk_can_update_size) {
    if (device_bytes == lun_bytes) return ResizeStep::Unchanged;
    if (frontend == "nbd-server") return ResizeStep::ServerOnly;
    if (frontend == "ublk" && !ublk_can_update_size) return ResizeStep::CannotResize;
    return ResizeStep::ResizeDevice;
}

std::string cannot_resize_message(std::uint64_t lun_bytes, std::uint64_t device_bytes) {
    return "LUN is now " + control::format_size(lun_bytes) +
           " but this kernel's ublk cannot resize a live device (needs Linux 6.16, UBLK_F_UPDATE_SIZE); the device "
           "keeps " +
           control::format_size(device_bytes) + " until logout/login";
}

}  // namespace iser::daemon
