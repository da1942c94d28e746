// Device::open_for_recovery and Device::delete_stale: taking over, or cleaning up, a device
// whose server died. See device_state.hpp for the driver's side of the story.
#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "ublk/controller.hpp"
#include "ublk/device.hpp"
#include "ublk/device_query.hpp"
#include "ublk/device_state.hpp"

namespace iser::ublk {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPoll = std::chrono::milliseconds(50);

std::string hex(std::uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// Polls GET_DEV_INFO until the device may be recovered (or must be refused, or time is up).
Result<uapi::DevInfo> wait_until_recoverable(Controller& controller, int dev_id, Clock::time_point deadline) {
    for (;;) {
        auto info = query_dev_info(controller, dev_id);
        if (!info) return info.take_error();
        auto check = check_recovery(*info, other_server_alive(*info));
        switch (check.verdict) {
            case RecoveryVerdict::Ready: return info;
            case RecoveryVerdict::Refuse:
                return make_error(info->state == uapi::kStateLive ? EBUSY : EINVAL, check.reason);
            case RecoveryVerdict::WaitForQuiesce:
                if (Clock::now() >= deadline) return make_error(ETIMEDOUT, check.reason + " (gave up waiting)");
                std::this_thread::sleep_for(kPoll);
                break;
        }
    }
}

}  // namespace

Result<std::unique_ptr<Device>> Device::open_for_recovery(Controller& controller, int dev_id,
                                                          const BlockGeometry& backend_geometry, Logger& log,
                                                          RecoveryOptions options) {
    const auto started = Clock::now();
    const auto deadline = started + options.wait;
    auto info = wait_until_recoverable(controller, dev_id, deadline);
    if (!info) return info.take_error();
    if (options.expected_cookie != 0 && info->ublksrv_flags != options.expected_cookie)
        return make_error(EINVAL, "ublk device " + std::to_string(dev_id) + " is not the recorded one (cookie " +
                                      hex(info->ublksrv_flags) + ", record says " + hex(options.expected_cookie) +
                                      ")");
    if (!has_recovery_reissue(*info))
        ISER_LOG_WARN(log, "ublk device %d has USER_RECOVERY without REISSUE: requests its old server held "
                           "have failed with EIO", dev_id);
    auto params = query_params(controller, dev_id);
    if (!params) return params.take_error();
    auto fits = check_geometry(dev_id, *params, backend_geometry);
    if (!fits) return fits.take_error();

    DeviceConfig config;
    config.queues = info->nr_hw_queues;
    config.depth = info->queue_depth;
    config.dev_id = dev_id;
    config.geometry = backend_geometry;
    config.user_recovery = true;
    config.reissue = has_recovery_reissue(*info);
    config.cookie = info->ublksrv_flags;
    std::unique_ptr<Device> dev(new Device(std::move(config), log));
    auto ring = ControlRing::open();
    if (!ring) return ring.take_error();
    dev->ring_ = std::move(ring.value());
    dev->info_ = *info;

    // EBUSY while the dead server's /dev/ublkcN is still open: its io_uring is torn down by a
    // kernel worker shortly after the process exits.
    for (;;) {
        auto st = dev->start_recovery();
        if (st) break;
        if (st.error().code != EBUSY || Clock::now() >= deadline) {
            dev->removed_ = true;  // untouched: not ours to delete
            if (st.error().code == EBUSY)
                return make_error(ETIMEDOUT, "ublk device " + std::to_string(dev_id) +
                                                 ": its old server still holds /dev/ublkc" + std::to_string(dev_id) +
                                                 " (START_USER_RECOVERY busy)");
            if (st.error().code == EINVAL)
                return make_error(EINVAL, "ublk device " + std::to_string(dev_id) +
                                              " cannot be recovered (an earlier recovery was interrupted, or it was "
                                              "never started): delete it");
            return st.take_error();
        }
        std::this_thread::sleep_for(kPoll);
    }
    // START_USER_RECOVERY forgot the old server's mm: the new mmaps (Queue::create) are ours.
    dev->char_.reset(::open(dev->char_path().c_str(), O_RDWR | O_CLOEXEC));
    if (!dev->char_.valid()) {
        int e = errno;
        return make_error(e, "cannot open " + dev->char_path() + " for recovery: " + std::strerror(e) +
                                 " (the device stays quiesced; delete it)");
    }
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    ISER_LOG_INFO(log, "ublk: recovering device %d (%u queues x %u tags, flags 0x%llx, old server pid %d) for %s "
                       "after %lld ms", dev_id, unsigned(info->nr_hw_queues), unsigned(info->queue_depth),
                  static_cast<unsigned long long>(info->flags), int(info->ublksrv_pid), backend_geometry.name.c_str(),
                  static_cast<long long>(waited.count()));
    return dev;
}

Status Device::delete_stale(Controller& controller, int dev_id, Logger& log, bool wait_for_release) {
    auto info = query_dev_info(controller, dev_id);
    if (!info) return info.take_error();
    if (live_elsewhere(*info))
        return make_error(EBUSY, "ublk device " + std::to_string(dev_id) + " is live, served by pid " +
                                     std::to_string(info->ublksrv_pid) + ": stop that server instead");
    uapi::CtrlCmd cmd{};
    cmd.dev_id = std::uint32_t(dev_id);
    cmd.queue_id = uapi::kNoQueue;
    auto r = wait_for_release ? controller.ring().run(uapi::kCmdDelDev, cmd, "DEL_DEV")
                              : controller.ring().run(uapi::kCmdDelDevAsync, cmd, "DEL_DEV_ASYNC");
    if (!r) return r.take_error();
    ISER_LOG_INFO(log, "ublk: deleted stale device %d (was %s, server pid %d)", dev_id, state_name(info->state).c_str(),
                  int(info->ublksrv_pid));
    return {};
}

}  // namespace iser::ublk
