// What iserctl rescan prints, one line per device, and the sizes in it. Shared by iserd (whose
// error texts carry sizes) and iserctl, so both write them the same way.
#pragma once
#include <cstdint>
#include <string>

#include "control/control_api.hpp"

namespace iser::control {

// Binary units, exact when the size is a whole number of them ("64 MiB", "512 B"), else one
// decimal ("1.5 GiB", "64.1 MiB").
std::string format_size(std::uint64_t bytes);

// "/dev/nbd0: 64 MiB -> 96 MiB", "/dev/ublkb0: unchanged (64 MiB)", or "PATH: ERROR".
std::string rescan_line(const RescannedDevice& device);

// A device whose size matches its LUN now ("resized" or "unchanged"); anything else makes
// iserctl rescan exit non-zero.
inline bool rescan_succeeded(const RescannedDevice& device) {
    return device.result == "resized" || device.result == "unchanged";
}

}  // namespace iser::control
