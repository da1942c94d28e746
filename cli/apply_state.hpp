// What `iserctl apply` compares the file with: iserd's sessions (none when iserd is not
// running), /proc/self/mountinfo, a blkid probe of each unmounted iserd device, which
// mountpoints exist, and the initiator name file.
#pragma once
#include <string>

#include "common/result.hpp"
#include "config/config.hpp"
#include "config/plan.hpp"
#include "control/client.hpp"

namespace iser::cli {

inline constexpr const char* kInitiatorNameFile = "/etc/iser/initiatorname.iser";

// The login settings iserd reports for a session, as the planner compares them with the file.
config::LoginSpec login_spec(const control::LoginRequest& request);

// Errors: iserd answering with an error, or /proc/self/mountinfo unreadable.
Result<config::SystemState> collect_state(const config::Config& config, const control::ControlClient& client);

// blkid -p: exit 2 means no signature of any kind (file system, RAID/LVM member, partition
// table), 0 (or 8, ambiguous) means something is there. blkid rather than reading the first
// blocks ourselves because signatures also live at the end of a device (GPT backup header, md
// 0.90 superblock) and blkid knows every format mkfs tools write.
Result<config::DeviceContent> probe_device(const std::string& device);

// InitiatorName= of the file, without comments; nullopt when the file or the line is missing.
std::optional<std::string> read_initiator_name(const std::string& path);

// Writes "InitiatorName=NAME" atomically (temporary file + rename), mode 0644.
Status write_initiator_name(const std::string& path, const std::string& name);

}  // namespace iser::cli
