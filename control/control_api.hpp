// The control plane between iserctl and iserd: plain request/reply structs and the handler
// interface iserd implements. The wire format (one JSON object per line over the root-only unix
// socket) lives in control/wire.{hpp,cpp}; nothing here touches sockets.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/io_stats.hpp"
#include "common/result.hpp"

namespace iser::control {

inline constexpr const char* kDefaultSocketPath = "/run/iser/iserd.sock";

struct DiscoverRequest {
    std::string portal;             // HOST[:PORT], IPv6 in brackets
    std::string transport = "iser"; // "iser" or "tcp"
};
struct DiscoveredPortal {
    std::string address;  // as the target reported it (IPv6 without brackets)
    std::uint16_t port = 3260;
    std::uint16_t tpgt = 1;
    std::string target;   // IQN
};
struct DiscoverReply {
    std::vector<DiscoveredPortal> portals;
};

struct LoginRequest {
    std::string portal;
    std::string target;
    std::string transport = "iser";       // iser | tcp
    std::optional<std::uint32_t> lun;     // only this LUN, else every disk LUN
    std::string frontend = "ublk";        // ublk | nbd | nbd-server
    std::string nbd_socket;               // nbd-server: socket path (one LUN) or directory
    std::optional<std::uint32_t> nbd_group; // nbd-server: gid allowed on the socket
    std::string chap_user, chap_secret_file;      // secrets travel as file paths, never values
    std::string mutual_user, mutual_secret_file;
    std::vector<std::string> alternate_portals;    // failover: tried in order after `portal`
    std::optional<std::uint32_t> queues;          // ublk queues (default min(CPUs, 4)), 1..16
    std::optional<std::uint32_t> depth;           // requests per queue (default 128), 1..1024
    // Per-target timers in milliseconds; unset means iserd's default (see iserd(8)), 0 disables
    // where that makes sense (keepalive, command timeout).
    std::optional<std::uint32_t> login_timeout_ms, nop_interval_ms, nop_timeout_ms;
    std::optional<std::uint32_t> command_timeout_ms, replacement_timeout_ms;
};
struct AttachedLun {
    std::uint32_t lun = 0;
    std::string path;      // /dev/ublkbN, /dev/nbdN, or nbd+unix:///NAME?socket=PATH
    std::uint64_t size_bytes = 0;
    std::uint32_t block_size = 512;
};
struct SkippedLun {
    std::uint32_t lun = 0;
    std::string reason;    // e.g. "peripheral device type 0x0c (storage array controller)"
};
struct LoginReply {
    std::vector<AttachedLun> attached;
    std::vector<SkippedLun> skipped;
};

struct LogoutRequest {
    std::string target;   // exactly one of target, device, all
    std::string device;
    bool all = false;
};
struct LogoutReply {
    std::vector<std::string> detached;  // device paths / URIs that went away
};

struct SessionInfo {
    // state: "logged-in", "reconnecting", "failed", "taking-over" (after an iserd restart)
    std::string target, portal, transport, state;
    std::uint16_t tsih = 0;
    std::string isid;                              // 12 hex digits
    std::vector<std::pair<std::string, std::string>> negotiated;  // key, value
    std::vector<AttachedLun> luns;
    std::string frontend;
    // While reconnecting or taking over: for how long, and when held I/O fails, in words.
    std::string detail;
    // The settings the session was logged in with (secret file paths, never secrets), so that
    // `iserctl apply` sees a changed portal list, CHAP or timer. Absent from older daemons.
    std::optional<LoginRequest> login;
};
struct ListReply {
    std::vector<SessionInfo> sessions;
};

// The I/O memory pools of the sessions serving a device (iserd --io-memory each), summed over
// those sessions; shared by every device of the same login.
struct IoMemoryUse {
    std::uint64_t in_use_bytes = 0;     // slices handed out now
    std::uint64_t committed_bytes = 0;  // chunks made (and pinned for RDMA) so far
    std::uint64_t limit_bytes = 0;      // what the chunks may grow to
};

// One attached device: cumulative counters since it was attached (the CLI subtracts two
// snapshots for rates and interval percentiles).
struct DeviceStats {
    std::string target, path, state;
    std::uint32_t lun = 0;
    std::uint32_t sessions = 0;           // lanes: one session per ublk queue
    std::uint64_t uptime_ms = 0;          // since the device was attached
    IoStats io;                           // every queue of the device together
    // Session recovery, summed over the device's sessions (shared by the LUNs of a target).
    std::uint64_t reconnects = 0, command_timeouts = 0, aborts = 0, lun_resets = 0, retries = 0;
    // The path to the target, as `iserctl list` shows it ("192.0.2.10:3260", "iser"|"tcp").
    // Empty from an older iserd, which does not send them.
    std::string portal, transport;
    // False when an older iserd sent no latency sum (io.latency.sum_micros() is then 0, not true).
    bool latency_sum_known = true;
    // Absent from an older iserd.
    std::optional<IoMemoryUse> io_memory;
};
struct StatsReply {
    std::vector<DeviceStats> devices;
};

// Re-reads the capacity of the LUNs behind one device, one target's devices or all of them, and
// resizes the block devices to match (iserctl rescan).
struct RescanRequest {
    std::string target;   // exactly one of target, device, all
    std::string device;
    bool all = false;
};
struct RescannedDevice {
    std::string target, path;
    std::uint32_t lun = 0;
    std::uint64_t old_bytes = 0;     // the device's size before
    std::uint64_t device_bytes = 0;  // the device's size now
    std::uint64_t lun_bytes = 0;     // what READ CAPACITY(16) said
    // "resized", "unchanged", "not-resizable" (the frontend cannot resize a live device; it
    // keeps device_bytes) or "failed" (error says why).
    std::string result;
    std::string error;
};
struct RescanReply {
    std::vector<RescannedDevice> devices;
};

// iserd implements this. Calls arrive on the control thread and may block (control plane only).
// Errors carry one line for the user, e.g. "cannot reach 10.0.0.1:3260: connection refused".
class Handler {
public:
    virtual ~Handler() = default;
    virtual Result<DiscoverReply> discover(const DiscoverRequest&) = 0;
    virtual Result<LoginReply> login(const LoginRequest&) = 0;
    virtual Result<LogoutReply> logout(const LogoutRequest&) = 0;
    virtual Result<ListReply> list() = 0;
    virtual Result<StatsReply> stats() = 0;
    // Asks iserd to exit once every session is logged out; with keep_devices, to exit without
    // detaching anything (the devices stay quiesced for the next iserd to take over).
    virtual Status shutdown(bool keep_devices) = 0;
    virtual Result<RescanReply> rescan(const RescanRequest&) {
        return make_error(EOPNOTSUPP, "this iserd cannot rescan LUNs");
    }
};

}  // namespace iser::control
