#include "control/rescan_text.hpp"

#include <cstdio>

namespace iser::control {

std::string format_size(std::uint64_t bytes) {
    static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int unit = 0;
    std::uint64_t whole = bytes;
    while (unit < 6 && whole >= 1024 && whole % 1024 == 0) {
        whole /= 1024;
        ++unit;
    }
    // Not a whole number of the next unit up: show that unit with one decimal once it is >= 1.
    if (whole >= 1024) {
        double value = double(bytes);
        int u = 0;
        while (u < 6 && value >= 1024) {
            value /= 1024;
            ++u;
        }
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f %s", value, kUnits[u]);
        return buf;
    }
    return std::to_string(whole) + " " + kUnits[unit];
}

std::string rescan_line(const RescannedDevice& d) {
    if (d.result == "resized") return d.path + ": " + format_size(d.old_bytes) + " -> " + format_size(d.device_bytes);
    if (d.result == "unchanged") return d.path + ": unchanged (" + format_size(d.device_bytes) + ")";
    return d.path + ": " + (d.error.empty() ? d.result : d.error);
}

}  // namespace iser::control
