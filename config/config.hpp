// The declarative configuration of /etc/iser/iser.yaml as plain structs (see iser.yaml(5)).
// Everything here is already validated: names and portals have their syntax checked, portals
// are normalized to HOST:PORT, durations are milliseconds, CHAP file paths are absolute.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace iser::config {

inline constexpr const char* kDefaultConfigPath = "/etc/iser/iser.yaml";

struct Chap {
    std::string user, secret_file;                // both or neither
    std::string mutual_user, mutual_secret_file;  // both or neither; needs user
};

// Unset means iserd's default (see iserd(8)).
struct Timeouts {
    std::optional<std::chrono::milliseconds> login, nop_interval, nop_timeout, command, replacement;
};

struct Device {
    std::string frontend = "ublk";          // ublk | nbd (a block device either way)
    std::optional<std::uint32_t> queues;    // ublk only, 1..16
    std::optional<std::uint32_t> depth;     // ublk only, 1..1024
};

struct Target {
    std::string name;                    // label the mounts refer to; unique
    std::string iqn;                     // unique
    std::vector<std::string> portals;    // HOST:PORT (IPv6 in brackets); first is primary
    std::string transport = "iser";      // iser | tcp
    Chap chap;
    bool all_luns = true;                // luns: all
    std::vector<std::uint32_t> luns;     // luns: [..], when !all_luns; no duplicates
    Timeouts timeouts;
    Device device;
    int line = 0;                        // 1-based line of the entry, for messages

    bool selects(std::uint32_t lun) const;
};

struct Mount {
    std::string target;                  // Target::name
    std::uint32_t lun = 0;
    std::string mountpoint;              // absolute, lexically normal, not "/"
    std::string fstype;
    std::vector<std::string> options;    // mount -o, one option per element
    bool mkfs_if_empty = false;
    int line = 0;
};

struct Config {
    std::string source;                          // file name used in messages
    std::optional<std::string> initiator_name;   // initiator: name
    std::vector<Target> targets;
    std::vector<Mount> mounts;

    const Target* find_target(const std::string& name) const;
    const Target* find_target_by_iqn(const std::string& iqn) const;
};

}  // namespace iser::config
