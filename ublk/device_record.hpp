// Which /dev/ublkbN serves what, kept outside the kernel so a restarted daemon can re-attach
// each quiesced device to the same LUN. One small JSON file per device, written by the daemon
// (the ublk layer knows nothing of iSCSI: the target's identity is a flat string map):
//
//   /run/iser/ublk/3.json
//   {"dev_id":3,"cookie":"9f2c6a0e5d4b1a77","size_bytes":1073741824,"logical_block_size":512,
//    "queues":2,"depth":128,"pid":1234,"identity":{"lun":"1","portal":"10.77.0.1:3260",
//    "target":"iqn.2024-01.lab.iser:t1"}}
//
// The cookie is also stored in the kernel's device info (DeviceConfig::cookie, read back as
// Device::cookie() / DevInfo::ublksrv_flags): a record matches a device only when both agree,
// which catches a stale record whose number the kernel has since given to another device.
// /run is a tmpfs, so records vanish with a reboot, exactly like the ublk devices.
//
// Encode/decode are pure (any thread); the file helpers do blocking I/O (control thread).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace iser::ublk {

constexpr const char* kRecordDir = "/run/iser/ublk";

struct DeviceRecord {
    int dev_id = -1;
    std::uint64_t cookie = 0;
    std::uint64_t size_bytes = 0;
    std::uint32_t logical_block_size = 512;
    std::uint32_t queues = 0;
    std::uint32_t depth = 0;
    std::int64_t pid = 0;                          // the server that wrote it (informative)
    std::map<std::string, std::string> identity;   // e.g. target, portal, lun

    bool operator==(const DeviceRecord&) const = default;
};

// Keys in a fixed order, identity keys sorted, strings escaped per RFC 8259; no newline.
std::string encode_record(const DeviceRecord& record);
// Accepts any key order and whitespace, ignores unknown keys (numbers, strings, objects of
// strings); requires dev_id >= 0 and a cookie. Error EINVAL "device record: ..." otherwise.
Result<DeviceRecord> decode_record(std::string_view json);

// A fresh random non-zero cookie (getrandom).
std::uint64_t new_device_cookie();

// DIR/<dev_id>.json, written to a temporary file, fsynced and renamed (a reader never sees half
// a record). Creates DIR (and its parent) when missing.
Status write_record(const std::string& dir, const DeviceRecord& record);
// Error ENOENT "no record for ublk device N in DIR" when absent.
Result<DeviceRecord> read_record(const std::string& dir, int dev_id);
// Missing is fine.
Status remove_record(const std::string& dir, int dev_id);
// Every readable record in DIR, by dev_id; unreadable files are skipped (a missing DIR is empty).
std::vector<DeviceRecord> list_records(const std::string& dir);

}  // namespace iser::ublk
