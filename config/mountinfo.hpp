// /proc/self/mountinfo as the planner needs it: which device is mounted where, with what type.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace iser::config {

struct MountEntry {
    std::string device;      // mount source, e.g. /dev/ublkb0
    std::string mountpoint;  // octal escapes (\040 for a space) decoded
    std::string fstype;
};

// One entry per well-formed line, in file order; malformed lines are skipped.
std::vector<MountEntry> parse_mountinfo(std::string_view text);

}  // namespace iser::config
