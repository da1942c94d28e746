// The pure planner of `iserctl apply`: the file (Config) and what the system has now
// (SystemState) in, the ordered steps that make the system match out. No I/O: the caller
// gathers the state (iserd's ListReply, /proc/self/mountinfo, blkid) and runs the steps.
//
// Rules (see iser.yaml(5)):
//  - iserd sessions whose target is not in the file, or whose LUNs, transport or frontend no
//    longer match it, are logged out (their devices' mounts are unmounted first).
//  - a session whose login settings differ from the file's (portals, CHAP, queues, depth,
//    timeouts) is logged out and in again with the file's settings, its mounts unmounted
//    before and mounted again after.
//  - apply owns the mounts of iserd's devices: such a mount that the file does not list is
//    unmounted. A mountpoint in the file that holds any other device is a conflict, never a
//    silent unmount.
//  - missing LUNs are logged in (one login per listed LUN; one per target for `luns: all`), then
//    formatted (only with mkfs-if-empty, only when the device has no signature), their
//    mountpoints created, and mounted.
// A state that already matches gives no steps.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/mountinfo.hpp"

namespace iser::config {

struct LunState {
    std::uint32_t lun = 0;
    std::string device;  // /dev/ublkbN, /dev/nbdN
};

struct LoginSpec;

struct SessionState {
    std::string iqn, portal, transport, frontend;
    std::vector<LunState> luns;
    // What iserd says the session was logged in with; unknown (older iserd) counts as matching.
    std::shared_ptr<const LoginSpec> settings;
};

enum class DeviceContent { unknown, empty, has_signature };

struct SystemState {
    std::vector<SessionState> sessions;                    // from iserd (none when it is not running)
    std::vector<MountEntry> mounts;                        // from /proc/self/mountinfo
    std::map<std::string, DeviceContent> device_content;   // probe of unmounted iserd devices
    std::set<std::string> existing_directories;            // mountpoints of the file that exist
    std::optional<std::string> initiator_name;             // what initiatorname.iser says now
};

// The fields of control::LoginRequest, without depending on control/.
struct LoginSpec {
    std::string portal;                        // primary, HOST:PORT
    std::vector<std::string> alternate_portals;
    std::string iqn;
    std::string transport, frontend;
    std::optional<std::uint32_t> lun;          // unset: every disk LUN
    std::string chap_user, chap_secret_file, mutual_user, mutual_secret_file;
    std::optional<std::uint32_t> queues, depth;
    std::optional<std::uint32_t> login_timeout_ms, nop_interval_ms, nop_timeout_ms, command_timeout_ms,
        replacement_timeout_ms;
};

enum class StepKind { unmount, logout, set_initiator_name, login, mkfs, mkdir, mount };

struct Step {
    StepKind kind = StepKind::login;
    std::string target;                 // the file's target name (login, mkfs, mount); iqn for logout
    std::optional<std::uint32_t> lun;
    // The device (unmount, logout, mkfs, mount). Empty for mkfs/mount of a LUN that a login
    // step of this plan attaches: the runner takes it from that login's reply (target, lun).
    std::string device;
    std::string mountpoint;             // unmount, mkdir, mount
    std::string fstype;                 // mkfs, mount
    std::vector<std::string> options;   // mount
    std::string initiator_name;         // set_initiator_name
    LoginSpec login;                    // login
    std::vector<std::size_t> after;     // steps that must have succeeded before this one runs
    std::string reason;                 // logout: why, when the session is replaced, e.g. "portals changed"
};

struct Plan {
    std::vector<Step> steps;
    // Things apply cannot fix by itself, as "SOURCE:LINE: message"; the steps they would need
    // are left out, the rest of the plan still runs.
    std::vector<std::string> conflicts;
};

Plan make_plan(const Config& config, const SystemState& state);

// One line per step for --dry-run and progress, e.g.
//   login iqn.2003-01.org.example:disk lun 0 via 192.0.2.10:3260 (iser, ublk)
//   mount /dev/ublkb0 on /srv/fast (ext4, noatime)
std::string describe(const Step& step);
// "unmount", "logout", "initiator-name", "login", "mkfs", "mkdir", "mount".
const char* step_name(StepKind kind);

}  // namespace iser::config
