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
#pragma once
#include <sys/types.h>

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
    const BlockGeometry& geometry() const { return config_.geometry; }
    // /dev/ublkcN; the driver allows one open at a time, so every queue shares this fd.
    int char_fd() const { return char_.get(); }

    Status start(pid_t daemon_pid);  // START_DEV: blocks until all queues have fetched
    Status stop();                   // STOP_DEV: blocks until in-flight I/O has completed
    Status remove();                 // closes /dev/ublkcN, then DEL_DEV (waits for the queues' release)
    // User recovery, for a restarted daemon that re-attaches to a quiesced device (later work).
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
};

}  // namespace iser::ublk
