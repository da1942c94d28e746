// Stable names for attached LUNs: /dev/disk/by-iser/<IQN>-lun<N> -> ../../ublkbN (or nbdN),
// the way udev names disks under /dev/disk/by-id. iserd makes them itself: ublk and NBD devices
// carry no iSCSI identity a udev rule could match on.
#pragma once
#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace iser::daemon {

inline constexpr const char* kDeviceLinkDir = "/dev/disk/by-iser";

// "<iqn>-lun<N>". IQNs hold ':' and '.', both fine in file names; a name with '/' or NUL (no
// valid iSCSI name has one) or "."/".." is refused by create_device_link.
std::string device_link_name(const std::string& iqn, std::uint32_t lun);

// Makes base_dir/<iqn>-lun<N> a relative symlink to device_path (absolute), replacing an
// existing link atomically (a new link under a temporary name, renamed over the old one), so
// the name never disappears or dangles on the way. Creates base_dir and its missing parents
// with mode 0755 whatever the umask.
Status create_device_link(const std::string& iqn, std::uint32_t lun, const std::string& device_path,
                          const std::string& base_dir = kDeviceLinkDir);

// Removes base_dir/<iqn>-lun<N> only while it still points at device_path: a link that a newer
// attachment of the same LUN made to another device stays. Missing links are fine; failures
// are not reported (a stale link is harmless and replaced by the next attach).
void remove_device_link(const std::string& iqn, std::uint32_t lun, const std::string& device_path,
                        const std::string& base_dir = kDeviceLinkDir);

}  // namespace iser::daemon
