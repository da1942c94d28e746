// Looking at ublk devices that already exist (made by this process, an earlier incarnation of
// it, or another server): GET_DEV_INFO and GET_PARAMS by number, and the list of numbers.
// Control thread only (blocking control commands on the Controller's ring).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ublk/ublk_uapi.hpp"

namespace iser::ublk {

class Controller;

constexpr const char* kCharClassDir = "/sys/class/ublk-char";

struct ExistingDevice {
    uapi::DevInfo info{};        // state, ublksrv_pid, flags, queues, depth, cookie (ublksrv_flags)
    uapi::Params params{};       // as set by its creator (plus the read-only devt block)
    bool server_alive = false;   // info.ublksrv_pid still runs
    int id() const { return int(info.dev_id); }
    std::uint64_t cookie() const { return info.ublksrv_flags; }
};

// Error ENODEV "ublk device N does not exist" when the number is free.
Result<uapi::DevInfo> query_dev_info(Controller& controller, int dev_id);
Result<uapi::Params> query_params(Controller& controller, int dev_id);
Result<ExistingDevice> query_device(Controller& controller, int dev_id);

// Device numbers from kCharClassDir (ublkcN entries), ascending; empty when none / no driver.
std::vector<int> list_device_ids(const std::string& class_dir = kCharClassDir);
// query_device() for each listed number; a device deleted meanwhile is skipped.
Result<std::vector<ExistingDevice>> list_devices(Controller& controller);

}  // namespace iser::ublk
