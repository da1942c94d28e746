// Reading an existing ublk device: what state it is in, whether a restarted server may
// re-attach to it (user recovery), and whether its parameters fit the backend that would serve
// it. Pure functions over the driver's structs (any thread), unit-tested without a kernel.
//
// What the 6.12 driver does when a server with UBLK_F_USER_RECOVERY dies (ublk_drv.c):
//   - its queued FETCH/COMMIT commands are cancelled as the process exits; requests the server
//     held are requeued (with USER_RECOVERY_REISSUE) or failed with EIO (without it);
//   - the disk is quiesced: new I/O waits in the block layer, unbounded (no timeout in 6.12);
//   - state becomes QUIESCED; START_USER_RECOVERY is accepted once the old /dev/ublkcN is closed.
//   If every tag was held by the server at the moment of death, no command is left to cancel
//   and the kernel notices only through the request timeout (30 s): the state stays LIVE until
//   then, with a server pid that no longer runs.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/block_backend.hpp"
#include "common/result.hpp"
#include "ublk/ublk_uapi.hpp"

namespace iser::ublk {

// "DEAD", "LIVE", "QUIESCED", or "UNKNOWN(n)" for a state this code does not know.
std::string state_name(std::uint16_t state);

// Both UBLK_F_USER_RECOVERY and UBLK_F_USER_RECOVERY_REISSUE.
bool has_recovery_reissue(const uapi::DevInfo& info);

enum class RecoveryVerdict : std::uint8_t {
    Ready,           // QUIESCED with recovery flags: START_USER_RECOVERY may proceed
    WaitForQuiesce,  // LIVE but its server is gone: the kernel has not noticed yet, poll again
    Refuse,          // cannot (ever) be recovered by us; `reason` says why and what to do
};
struct RecoveryCheck {
    RecoveryVerdict verdict = RecoveryVerdict::Refuse;
    std::string reason;  // one line, empty for Ready
};
// `server_alive`: whether info.ublksrv_pid still runs (process_alive()).
RecoveryCheck check_recovery(const uapi::DevInfo& info, bool server_alive);

// Whether a backend of geometry `expected` can serve a device created with `params`: same
// size and logical block size, no larger requests than it accepts, no discard/write-zeroes it
// lacks, not writable when it is read-only. Error EINVAL naming the first difference.
Status check_geometry(int dev_id, const uapi::Params& params, const BlockGeometry& expected);

// The geometry the device was created with (size, block sizes, largest I/O, flags).
BlockGeometry geometry_from_params(const uapi::Params& params);

// "ublkc12" -> 12 (the names under /sys/class/ublk-char); nullopt for anything else.
std::optional<int> parse_char_device_name(std::string_view name);

// From the text of /proc/PID/stat: false for a zombie (Z) or dead (X/x) task, or text that is
// not a stat line. The command name may contain spaces and ')' (the state follows the last ')').
bool stat_line_says_running(std::string_view stat);

// Reads /proc/PID/stat; false for pid <= 0 or a process that is gone or a zombie.
bool process_alive(pid_t pid);

// Whether the device's server (info.ublksrv_pid) is a running process other than this one: a
// restarted daemon that got the dead server's pid must not read itself as the live owner.
bool other_server_alive(const uapi::DevInfo& info);
// LIVE and served by another running process (another iserd, or any ublk server): not ours to
// recover or delete.
bool live_elsewhere(const uapi::DevInfo& info);

}  // namespace iser::ublk
