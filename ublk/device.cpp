#include "ublk/device.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "ublk/controller.hpp"
#include "ublk/params.hpp"
#include "ublk/sqe_encoding.hpp"

namespace iser::ublk {

Result<int> Device::control(std::uint32_t cmd_op, const char* name, std::uint64_t data, void* buffer,
                            std::uint16_t len) {
    uapi::CtrlCmd cmd{};
    cmd.dev_id = info_.dev_id;
    cmd.queue_id = uapi::kNoQueue;
    cmd.data[0] = data;
    cmd.addr = reinterpret_cast<std::uintptr_t>(buffer);
    cmd.len = len;
    return ring_->run(cmd_op, cmd, name);
}

Result<std::unique_ptr<Device>> Device::create(Controller& controller, DeviceConfig config, Logger& log) {
    auto features = controller.features();
    if (!features) return features.take_error();
    auto info = build_dev_info(config, *features);
    if (!info) return info.take_error();

    std::unique_ptr<Device> dev(new Device(std::move(config), log));
    auto ring = ControlRing::open();
    if (!ring) return ring.take_error();
    dev->ring_ = std::move(ring.value());

    dev->info_ = *info;
    // ADD_DEV reads the device info and writes back what the driver made of it (dev_id, queues).
    auto added = dev->control(uapi::kCmdAddDev, "ADD_DEV", 0, &dev->info_, sizeof dev->info_);
    if (!added) return added.take_error();
    auto fail = [&dev](Error e) -> Error {
        dev->char_.reset();
        (void)dev->control(uapi::kCmdDelDev, "DEL_DEV");
        dev->removed_ = true;
        return e;
    };

    auto params = build_params(dev->config_.geometry, dev->info_.max_io_buf_bytes);
    if (!params) return fail(params.take_error());
    auto set = dev->control(uapi::kCmdSetParams, "SET_PARAMS", 0, &params.value(), sizeof(uapi::Params));
    if (!set) return fail(set.take_error());

    // devtmpfs creates the node during ADD_DEV; a udev rule may still be adjusting it.
    for (int attempt = 0; attempt < 50; ++attempt) {
        dev->char_.reset(::open(dev->char_path().c_str(), O_RDWR | O_CLOEXEC));
        if (dev->char_.valid() || errno != ENOENT) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!dev->char_.valid()) {
        int e = errno;
        return fail(make_error(e, "cannot open " + dev->char_path() + ": " + std::strerror(e)));
    }
    ISER_LOG_INFO(log, "ublk: added device %d (%u queues x %u tags, %u-byte buffers, flags 0x%llx) for %s", dev->id(),
                  unsigned(dev->info_.nr_hw_queues), unsigned(dev->info_.queue_depth), dev->info_.max_io_buf_bytes,
                  static_cast<unsigned long long>(dev->info_.flags), dev->config_.geometry.name.c_str());
    return dev;
}

Device::~Device() {
    if (!removed_) ISER_LOG_DEBUG(log_, "ublk: device %d released without remove()", id());
}

Status Device::start(pid_t daemon_pid) {
    auto r = control(uapi::kCmdStartDev, "START_DEV", std::uint64_t(daemon_pid));
    if (!r) return r.take_error();
    ISER_LOG_INFO(log_, "ublk: %s is live", block_path().c_str());
    return {};
}

Status Device::stop() {
    auto r = control(uapi::kCmdStopDev, "STOP_DEV");
    if (!r) return r.take_error();
    ISER_LOG_INFO(log_, "ublk: stopped %s", block_path().c_str());
    return {};
}

Status Device::remove() {
    if (removed_) return {};
    char_.reset();
    // DEL_DEV_ASYNC, not DEL_DEV: the synchronous one waits until the last opener of
    // /dev/ublkbN lets go, which with a filesystem still mounted (a logout the operator forced)
    // is never while we wait. The device and its nodes are gone at once either way; only the
    // number is freed later, at the last close.
    auto r = control(uapi::kCmdDelDevAsync, "DEL_DEV_ASYNC");
    if (!r) return r.take_error();
    removed_ = true;
    ISER_LOG_INFO(log_, "ublk: deleted device %d", id());
    return {};
}

Status Device::update_size(std::uint64_t size_bytes) {
    auto r = ring_->run(uapi::kCmdUpdateSize, update_size_cmd(info_.dev_id, size_bytes), "UPDATE_SIZE");
    if (!r) return r.take_error();
    config_.geometry.size_bytes = size_bytes / uapi::kSectorBytes * uapi::kSectorBytes;
    ISER_LOG_INFO(log_, "ublk: %s now has %llu bytes", block_path().c_str(), (unsigned long long)size_bytes);
    return {};
}

Status Device::start_recovery() {
    auto r = control(uapi::kCmdStartUserRecovery, "START_USER_RECOVERY");
    if (!r) return r.take_error();
    recovering_ = true;
    return {};
}

Status Device::end_recovery(pid_t daemon_pid) {
    auto r = control(uapi::kCmdEndUserRecovery, "END_USER_RECOVERY", std::uint64_t(daemon_pid));
    if (!r) return r.take_error();
    recovering_ = false;
    info_.state = uapi::kStateLive;
    info_.ublksrv_pid = daemon_pid;
    ISER_LOG_INFO(log_, "ublk: %s recovered, live again (server pid %d)", block_path().c_str(), int(daemon_pid));
    return {};
}

}  // namespace iser::ublk
