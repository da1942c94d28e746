// One attached target (or one LUN of it): its lanes (sessions, one per ublk queue), the LUN
// backends and the frontends that export them. Built completely or not at all: a failure at any
// step undoes the steps before it, so nothing is left half-attached.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "control/control_api.hpp"
#include "daemon/lane.hpp"
#include "nbd/kernel_nbd.hpp"
#include "ublk/controller.hpp"
#include "ublk/device.hpp"
#include "ublk/device_record.hpp"

namespace iser::daemon {

inline constexpr std::size_t kDefaultIoMemoryBytes = std::size_t(32) << 20;
inline constexpr std::size_t kMinIoMemoryBytes = std::size_t(1) << 20;  // one largest request at least

struct AttachOptions {
    control::LoginRequest request;
    std::string initiator_name;
    std::string host;
    std::uint16_t port = 3260;
    // Each session's (lane's) I/O memory pool: the cap shared by every LUN and frontend of the lane.
    std::size_t io_memory_bytes = kDefaultIoMemoryBytes;
    std::string nbd_socket_dir = "/run/iser/nbd";
    std::string record_dir = ublk::kRecordDir;
    // After a crash of iserd: the ublk devices to take over again (by LUN), and the ISIDs of the
    // dead daemon's sessions, reused so the target reinstates them (ending their tasks) rather
    // than keeping both (RFC 7143 §6.3.5).
    std::map<std::uint32_t, ublk::DeviceRecord> recover;
    std::vector<pdu::Isid> isids;
    // Called on a lane's LOOP thread when the target reported a new capacity for `lun` (UNIT
    // ATTENTION 2A/09): post a rescan of that LUN to the control side; must not block.
    std::function<void(std::uint32_t lun)> capacity_changed;
    // Shared with the owner, which may cancel the attach when iserd stops (AttachProgress).
    std::shared_ptr<class AttachProgress> progress;
};

// An attach in progress, as its owner sees it. While it only talks to the target it can be
// cancelled: a login in progress then ends at once (ECANCELED) and the attach undoes what it
// built. Once it makes devices it cannot: it runs to its end (bounded by the kernel's ublk/NBD
// commands), so that no device is ever left half made.
class AttachProgress {
public:
    // Owner: true when the attach will make no device (cancelled now or before); false when it
    // is already making them.
    bool cancel() {
        int s = kTarget;
        if (state_.compare_exchange_strong(s, kCancelled)) cancelled_ = true;
        return state_ == kCancelled;
    }
    // The attach, before its first device: false when cancelled.
    bool enter_devices() {
        int s = kTarget;
        return state_.compare_exchange_strong(s, kDevices);
    }
    const std::atomic<bool>* cancelled_flag() const { return &cancelled_; }
    bool cancelled() const { return cancelled_; }

private:
    static constexpr int kTarget = 0, kDevices = 1, kCancelled = 2;
    std::atomic<int> state_{kTarget};
    std::atomic<bool> cancelled_{false};
};

// Whether `path` names this export: its device path, or for an NBD socket export its URI or
// the socket path alone.
bool export_matches(const control::AttachedLun& attached, const std::string& path);

// What a device record remembers of its attachment; the inverse rebuilds the login.
std::map<std::string, std::string> record_identity(const control::LoginRequest& request, std::uint32_t lun,
                                                   const std::vector<pdu::Isid>& isids);
Result<AttachOptions> options_from_record(const ublk::DeviceRecord& record, const std::string& initiator_name);

// Where an attach failed: at the target (login, LUN probe: worth retrying while the target may
// come back) or at the local devices (ublk/NBD: retrying would fail the same way).
enum class AttachStage { target, devices };

class Attachment {
public:
    // Blocks until the LUNs are exported (or everything is undone on failure). On failure,
    // `failed_at` (when given) tells which stage failed.
    static Result<std::unique_ptr<Attachment>> attach(Logger& log, AttachOptions options, control::LoginReply& reply,
                                                      AttachStage* failed_at = nullptr);
    ~Attachment();

    // Blocks: stops the devices, waits for in-flight I/O, flushes, logs every lane out.
    Status detach();

    const std::string& target() const { return options_.request.target; }
    const std::optional<std::uint32_t>& lun_filter() const { return options_.request.lun; }
    control::SessionInfo info() const;
    // "HOST:PORT" (an IPv6 host in brackets), as list and stats show it.
    std::string portal() const;
    // Control thread; gathers each lane's counters on its loop thread.
    std::vector<control::DeviceStats> stats();
    bool owns_device(const std::string& path) const;
    // attachment_resize.cpp. Control thread (the caller serialises it with info() and
    // detach()): re-reads the capacity of the LUNs whose device path is `device` (every LUN when
    // empty; only `lun` when given), makes every lane agree, and resizes the block devices.
    std::vector<control::RescannedDevice> rescan(const std::string& device, std::optional<std::uint32_t> lun = {});

private:
    struct Export {
        lun::LunInfo info;
        std::string name;                 // "lun3"
        NbdServer* nbd = nullptr;         // on lane 0
        bool wants_ublk = false;
        bool wants_kernel_nbd = false;
        std::unique_ptr<nbd::KernelNbd> kernel_nbd;
        std::unique_ptr<ublk::Device> ublk_device;
        control::AttachedLun attached;
        std::uint64_t warned_lun_bytes = 0;  // a device that cannot follow: warned once per size
    };
    Attachment(Logger& log, AttachOptions options) : log_(log), options_(std::move(options)) {}

    Status build(control::LoginReply& reply);
    Status start_lanes(std::size_t count);
    Status export_lun(const lun::LunInfo& info, std::size_t disk_count);
    Status start_ublk_devices(control::LoginReply& reply);
    void pin_lanes_to_queue_cpus(int dev_id);
    Result<std::unique_ptr<ublk::Device>> make_ublk_device(const ublk::DeviceConfig& config, std::uint32_t lun);
    Status stop_ublk_devices();
    Status start_kernel_nbd_devices(control::LoginReply& reply);
    Status stop_kernel_nbd_devices();
    Status teardown();
    void publish_path(Export& ex, const std::string& path, control::LoginReply& reply);
    void set_state(std::string state);
    void recovery_event(session::RecoveryEvent event);
    std::string state_detail(std::chrono::milliseconds replacement_timeout) const;
    control::RescannedDevice rescan_export(std::size_t index);
    Status resize_device(Export& ex, std::uint64_t size_bytes);

    Logger& log_;
    AttachOptions options_;
    std::unique_ptr<ublk::Controller> ublk_control_;
    std::vector<std::unique_ptr<Lane>> lanes_;
    std::vector<pdu::Isid> isids_;  // one per lane, in lane order
    std::vector<Export> exports_;
    mutable std::mutex info_mutex_;  // control plane: info() reads what the lanes report
    std::string state_ = "logging-in";
    std::uint32_t lanes_down_ = 0, lanes_failing_ = 0;  // guarded by info_mutex_
    std::chrono::steady_clock::time_point down_since_, failing_since_;  // guarded by info_mutex_
    std::chrono::steady_clock::time_point attached_at_ = std::chrono::steady_clock::now();
    bool detached_ = false;
    bool lanes_pinned_ = false;  // once per attachment: every device has the same queue map
};

}  // namespace iser::daemon
