// iserd's control::Handler: owns every Attachment and answers iserctl's requests.
// Requests arrive concurrently, one control worker thread each (control/server.hpp). mutex_
// guards the lists below and is never held across a wait on a target: a login, logout or
// discovery registers itself (pending_ / detaching_), works unlocked, and comes back to file the
// result, so list, stats and other logins answer meanwhile. Never taken on the data path.
#pragma once
#include <memory>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "control/control_api.hpp"
#include "daemon/attachment.hpp"
#include "daemon/resize_worker.hpp"

namespace iser::daemon {

class Manager final : public control::Handler {
public:
    // io_memory_bytes: each lane's I/O memory pool (iserd --io-memory).
    Manager(Logger& log, std::string initiator_name, std::function<void()> request_exit,
            std::size_t io_memory_bytes = kDefaultIoMemoryBytes)
        : log_(log), initiator_name_(std::move(initiator_name)), request_exit_(std::move(request_exit)),
          io_memory_bytes_(io_memory_bytes) {}

    Result<control::DiscoverReply> discover(const control::DiscoverRequest&) override;
    Result<control::LoginReply> login(const control::LoginRequest&) override;
    Result<control::LogoutReply> logout(const control::LogoutRequest&) override;
    Result<control::ListReply> list() override;
    Result<control::StatsReply> stats() override;
    Status shutdown(bool keep_devices) override;
    // True once "iserctl shutdown --keep-devices" asked iserd to exit without detaching.
    bool keep_devices_requested() const { return keep_devices_; }
    Result<control::RescanReply> rescan(const control::RescanRequest&) override;

    ~Manager();
    // At exit: cancels the logins in progress, waits up to `grace` for them and for discoveries
    // to end, then logs everything out. Returns false when some request was still waiting on a
    // target after `grace` (no device of its own yet): the caller must then exit without running
    // destructors, since that request's worker still uses this object.
    bool detach_all(std::chrono::milliseconds grace = std::chrono::seconds(2));
    // At start: takes over the ublk devices a crashed iserd left behind (their records in
    // `record_dir`), in the background; retries each login until its replacement timeout, then
    // deletes the device so waiting I/O fails with EIO instead of hanging.
    void recover_devices(std::string record_dir);

private:
    Logger& log_;
    std::string initiator_name_;
    std::function<void()> request_exit_;
    std::size_t io_memory_bytes_;
    // Declared before attachments_ so it outlives them: a lane still running may post to it
    // (stopped first in ~Manager, after which posts are dropped).
    ResizeWorker resize_worker_;
    std::mutex mutex_;
    std::condition_variable idle_;  // signalled when pending_ or detaching_ shrinks
    std::vector<std::unique_ptr<Attachment>> attachments_;
    // Requests working unlocked. A pending login blocks logins of the same LUNs (and shows in
    // list as "logging-in"); a logout in progress blocks them too. Discoveries have an empty
    // target and only count for shutdown.
    struct InProgress {
        control::LoginRequest request;
        std::shared_ptr<AttachProgress> progress = std::make_shared<AttachProgress>();
    };
    std::vector<std::shared_ptr<InProgress>> pending_;
    std::vector<std::shared_ptr<InProgress>> detaching_;
    std::optional<Error> busy_with(const control::LoginRequest& req) const;  // under mutex_
    void finish(std::vector<std::shared_ptr<InProgress>>& list, const std::shared_ptr<InProgress>& item);
    std::thread recovery_thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> keep_devices_{false};

    // Loop thread of a lane: the target said LUN `lun` of `target` changed size.
    void capacity_changed(const std::string& target, std::uint32_t lun);
    // Devices a restarted iserd is taking over: shown by list(), and their LUNs refused to
    // login() until the takeover ends. Guarded by mutex_.
    struct Takeover {
        std::uint64_t id = 0;
        std::optional<std::uint32_t> lun_filter;
        std::string devices;            // "/dev/ublkb0, /dev/ublkb1"
        control::SessionInfo info;      // state "taking-over"
    };
    std::vector<Takeover> takeovers_;
    std::uint64_t next_takeover_id_ = 0;

    // early_claim: the takeover claimed by recover_devices (0: claim it here).
    void recover_group(const std::string& record_dir, const std::vector<ublk::DeviceRecord>& records,
                       std::uint64_t early_claim);
    static bool overlaps(const std::string& target, const std::optional<std::uint32_t>& lun_filter,
                         const control::LoginRequest& req);
    static Result<std::uint32_t> record_lun(const ublk::DeviceRecord& record);
    std::uint64_t claim_takeover(const AttachOptions& options, const std::string& devices);
    void set_takeover_attempt(std::uint64_t id, int attempt, const std::string& error);
    void release_takeover(std::uint64_t id);
};

}  // namespace iser::daemon
