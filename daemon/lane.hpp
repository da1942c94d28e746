// One lane of an attachment: an iSCSI session on a loop thread of its own, with a LUN backend
// per exported LUN. With the ublk frontend, lane q serves hardware queue q of every device of the
// target, so each queue has its own session, ITT space and CmdSN window and no state is shared
// between threads (no locks on the data path). The NBD frontends use lane 0 only.
//
// Every method here is called on the control thread and blocks until the loop thread has done
// the work; the objects it owns are created and destroyed on the loop thread.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "control/control_api.hpp"
#include "daemon/loop_thread.hpp"
#include "daemon/metered_backend.hpp"
#include "initiator/lun/lun_backend.hpp"
#include "initiator/lun/lun_probe.hpp"
#include "initiator/session/session.hpp"
#include "nbd/server.hpp"
#include "ublk/device.hpp"
#include "ublk/queue.hpp"

namespace iser::daemon {

class Lane {
public:
    static Result<std::unique_ptr<Lane>> create(Logger& log, std::string name, session::SessionConfig config,
                                                session::DatamoverFactory factory);
    ~Lane();  // stops the thread; call logout() first for an orderly end
    Lane(const Lane&) = delete;
    Lane& operator=(const Lane&) = delete;

    const std::string& name() const { return name_; }
    EventLoop& loop() { return thread_->loop(); }
    LoopThread& thread() { return *thread_; }
    session::Session& session() { return *session_; }

    // Called on the LOOP thread when a backend learned of a new capacity by itself (UNIT
    // ATTENTION 2A/09): export index and new geometry. Must not block: post the resize elsewhere.
    // Set before add_backend().
    using CapacityListener = std::function<void(std::size_t index, const BlockGeometry& geometry)>;
    void on_capacity_change(CapacityListener listener) { capacity_listener_ = std::move(listener); }

    // Blocks until the session is logged in or failed. With `cancel`, setting it ends a login
    // still in progress at once (ECANCELED): iserd is stopping.
    Status login(const std::atomic<bool>* cancel = nullptr);
    Result<lun::ProbeResult> probe(std::optional<std::uint32_t> only_lun);
    // Appends a backend for `info`; its index is the export index.
    Status add_backend(const lun::LunInfo& info, const std::string& name, std::uint32_t depth);
    lun::LunBackend& backend(std::size_t index) { return *backends_[index]; }
    std::size_t backend_count() const { return backends_.size(); }

    // An NBD socket server (or a socketless one for kernel NBD) over backend `index`.
    Result<NbdServer*> add_nbd_server(std::size_t index, const NbdServerConfig& config);
    // ublk hardware queue `queue_id` of `device`, served by backend `index`.
    Status add_ublk_queue(std::size_t index, ublk::Device& device, std::uint16_t queue_id);
    // After the device's STOP_DEV: closes and frees this lane's ublk queues.
    void close_ublk_queues();

    // READ CAPACITY(16) for backend `index` now (iserctl rescan); the backend and its NBD server
    // take the new size. Blocks the caller, not the loop.
    struct CapacityRead {
        scsi::ReadCapacity16 capacity;
        BlockGeometry geometry;
    };
    Result<CapacityRead> refresh_capacity(std::size_t index);
    // What another lane read: backend `index` (and its NBD server) take it without asking.
    void apply_capacity(std::size_t index, const scsi::ReadCapacity16& capacity);

    // Runs this lane's loop thread on `cpus` only (the CPUs that submit to its ublk queue).
    Status pin_to_cpus(const std::vector<int>& cpus);

    // Closes the NBD servers, then waits (up to `limit`) until no I/O is in flight.
    std::uint32_t drain(std::chrono::milliseconds limit);
    // SYNCHRONIZE CACHE on backend `index`; the SCSI result as an errno (0 = done).
    int flush(std::size_t index);
    // Logs out (waits for commands in flight) and frees the backends and servers.
    Status logout();

    // Control thread snapshots (taken on the loop thread).
    session::Session::State state();
    IoStats io_stats(std::size_t index);
    session::SessionStats session_stats();
    control::IoMemoryUse io_memory();
    // The parameters the session negotiated at its last login: a reconnect renegotiates them on
    // the loop thread, so they are copied there.
    login::SessionParams negotiated_params();

private:
    Lane(Logger& log, std::string name) : log_(log), name_(std::move(name)) {}
    void request_short_slice();

    Logger& log_;
    std::string name_;
    std::unique_ptr<LoopThread> thread_;
    std::unique_ptr<session::Session> session_;
    std::vector<std::unique_ptr<lun::LunBackend>> backends_;
    std::vector<std::unique_ptr<MeteredBackend>> metered_;  // what the frontends talk to
    std::vector<std::unique_ptr<NbdServer>> nbd_servers_;
    std::vector<std::unique_ptr<ublk::Queue>> ublk_queues_;
    CapacityListener capacity_listener_;
    bool logged_out_ = false;

    void capacity_changed(std::size_t index);  // loop thread
};

}  // namespace iser::daemon
