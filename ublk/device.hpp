// One ublk device: ADD_DEV/SET_PARAMS at creation, START/STOP/DEL later. Control thread only
// (never a queue's loop thread: start() and stop() block on the queues' progress).
//
// Lifecycle, in order:
//   1. Device::create()                      control thread
//   2. Queue::create() for each queue        on that queue's loop thread (posts FETCH_REQs)
//   3. Device::start(getpid())               control thread; returns once every tag is fetched
//      ... /dev/ublkbN serves I/O ...
//   4. Device::stop()                        control thread; returns once in-flight I/O is done,
//                                            so the queue loops must keep running meanwhile
//   5. Queue::shutdown() for each queue      loop threads; wait for each on_closed callback
//   6. Device::remove()                      control thread; DEL_DEV waits until every queue
//                                            released /dev/ublkcN, so only after step 5
//
// Re-attaching after the server died (user recovery; see device_state.hpp for what the kernel
// does meanwhile), in a new process:
//   1. Device::open_for_recovery()           control thread; waits for QUIESCED, checks the
//                                            geometry, START_USER_RECOVERY, opens /dev/ublkcN
//   2. Queue::create() for each queue        exactly as for a new device
//   3. Device::end_recovery(getpid())        control thread; returns once the disk is LIVE again
//                                            and the requeued requests are being reissued
//   then as steps 4-6 above. If step 2 fails, call remove() (see open_for_recovery).
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/log.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "ublk/control_ring.hpp"
#include "ublk/device_config.hpp"
#include "ublk/ublk_uapi.hpp"

namespace iser::ublk {

class Controller;

class Device {
public:
    // ADD_DEV + SET_PARAMS + open /dev/ublkcN. On failure after ADD_DEV the device is deleted.
    static Result<std::unique_ptr<Device>> create(Controller& controller, DeviceConfig config, Logger& log);

    struct RecoveryOptions {
        // How long to wait for the kernel to quiesce a device whose server is gone (up to the
        // 30 s request timeout when the dead server held every tag) and for the old process's
        // /dev/ublkcN to be released. 0: do not wait.
        std::chrono::milliseconds wait{40000};
        // Non-zero: the device's cookie (DeviceConfig::cookie at creation) must equal this.
        std::uint64_t expected_cookie = 0;
    };
    // For a restarted server: takes over existing device `dev_id`, which must have
    // UBLK_F_USER_RECOVERY and be QUIESCED (its old server dead), and whose parameters must fit
    // `backend_geometry` (check_geometry). Then START_USER_RECOVERY and opens /dev/ublkcN. The
    // caller creates the Queues as for a new device, then end_recovery(getpid()).
    // Errors, one line each: ENODEV (no such device), EBUSY ("ublk device 3 is live (state LIVE,
    // served by pid 812), not waiting for recovery"), EINVAL (no recovery flags, state DEAD,
    // geometry or cookie mismatch), ETIMEDOUT (still LIVE/busy after options.wait).
    // Nothing is changed on the device unless this succeeds. After it succeeded, a failure to
    // set up the queues cannot be retried by another open_for_recovery (the 6.12 driver refuses,
    // or worse, a second START_USER_RECOVERY after a partial one): remove() the device instead.
    static Result<std::unique_ptr<Device>> open_for_recovery(Controller& controller, int dev_id,
                                                             const BlockGeometry& backend_geometry, Logger& log,
                                                             RecoveryOptions options);
    static Result<std::unique_ptr<Device>> open_for_recovery(Controller& controller, int dev_id,
                                                             const BlockGeometry& backend_geometry, Logger& log) {
        return open_for_recovery(controller, dev_id, backend_geometry, log, RecoveryOptions{});
    }

    // Operator clean-up of a device whose server died and will not come back: refuses a device
    // whose server still runs (EBUSY); otherwise deletes it. I/O waiting on it fails with EIO,
    // a mounted filesystem sees errors. With wait_for_release = false (DEL_DEV_ASYNC) it returns
    // at once; the number is freed when the last opener (a mount) lets go. With true, DEL_DEV
    // blocks until then (do not use with a filesystem still mounted).
    static Status delete_stale(Controller& controller, int dev_id, Logger& log, bool wait_for_release = false);
    ~Device();  // closes its fds; does not stop or delete the device (call stop()/remove())
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    int id() const { return int(info_.dev_id); }
    std::string block_path() const { return "/dev/ublkb" + std::to_string(id()); }
    std::string char_path() const { return "/dev/ublkc" + std::to_string(id()); }
    // What the driver accepted (queues may be clamped to the CPU count, sizes page-rounded).
    const uapi::DevInfo& info() const { return info_; }
    std::uint16_t queues() const { return info_.nr_hw_queues; }
    std::uint16_t depth() const { return info_.queue_depth; }
    std::uint32_t max_io_buf_bytes() const { return info_.max_io_buf_bytes; }
    // Request data moves by read/write on /dev/ublkcN (no per-tag buffers; ublk/queue.hpp).
    bool user_copy() const { return (info_.flags & uapi::kFlagUserCopy) != 0; }
    std::uint64_t cookie() const { return info_.ublksrv_flags; }
    bool recovering() const { return recovering_; }
    const BlockGeometry& geometry() const { return config_.geometry; }
    // /dev/ublkcN; the driver allows one open at a time, so every queue shares this fd.
    int char_fd() const { return char_.get(); }

    Status start(pid_t daemon_pid);  // START_DEV: blocks until all queues have fetched
    Status stop();                   // STOP_DEV: blocks until in-flight I/O has completed
    Status remove();                 // closes /dev/ublkcN, then DEL_DEV (waits for the queues' release)
    // UPDATE_SIZE (Linux 6.16+, check can_update_size(Controller::features()) first): the disk
    // takes `size_bytes` while I/O goes on. On success geometry() has the new size.
    Status update_size(std::uint64_t size_bytes);
    // User recovery. start_recovery() is run by open_for_recovery(); end_recovery() blocks until
    // every queue has posted its FETCH_REQs, then the driver unquiesces the disk (LIVE again).
    Status start_recovery();
    Status end_recovery(pid_t daemon_pid);

private:
    Device(DeviceConfig config, Logger& log) : config_(std::move(config)), log_(log) {}
    Result<int> control(std::uint32_t cmd_op, const char* name, std::uint64_t data = 0, void* buffer = nullptr,
                        std::uint16_t len = 0);

    DeviceConfig config_;
    Logger& log_;
    std::unique_ptr<ControlRing> ring_;  // its own ring: devices do not share blocking commands
    uapi::DevInfo info_{};
    UniqueFd char_;
    bool removed_ = false;
    bool recovering_ = false;  // between START_USER_RECOVERY and END_USER_RECOVERY
};

}  // namespace iser::ublk
