#include "ublk/device_query.hpp"

#include <dirent.h>

#include <algorithm>

#include "ublk/controller.hpp"
#include "ublk/device_state.hpp"

namespace iser::ublk {
namespace {

Result<int> run_for(Controller& controller, int dev_id, std::uint32_t op, const char* name, void* buffer,
                    std::uint16_t len) {
    uapi::CtrlCmd cmd{};
    cmd.dev_id = std::uint32_t(dev_id);
    cmd.queue_id = uapi::kNoQueue;
    cmd.addr = reinterpret_cast<std::uintptr_t>(buffer);
    cmd.len = len;
    auto r = controller.ring().run(op, cmd, name);
    if (!r && r.error().code == ENODEV)
        return make_error(ENODEV, "ublk device " + std::to_string(dev_id) + " does not exist");
    return r;
}

}  // namespace

Result<uapi::DevInfo> query_dev_info(Controller& controller, int dev_id) {
    if (dev_id < 0) return make_error(EINVAL, "ublk device number " + std::to_string(dev_id) + " is invalid");
    uapi::DevInfo info{};
    auto r = run_for(controller, dev_id, uapi::kCmdGetDevInfo, "GET_DEV_INFO", &info, sizeof info);
    if (!r) return r.take_error();
    return info;
}

Result<uapi::Params> query_params(Controller& controller, int dev_id) {
    if (dev_id < 0) return make_error(EINVAL, "ublk device number " + std::to_string(dev_id) + " is invalid");
    uapi::Params params{};
    params.len = sizeof params;  // the driver reads the header to learn how much to copy back
    auto r = run_for(controller, dev_id, uapi::kCmdGetParams, "GET_PARAMS", &params, sizeof params);
    if (!r) return r.take_error();
    return params;
}

Result<ExistingDevice> query_device(Controller& controller, int dev_id) {
    ExistingDevice d;
    auto info = query_dev_info(controller, dev_id);
    if (!info) return info.take_error();
    d.info = *info;
    auto params = query_params(controller, dev_id);
    if (!params) return params.take_error();
    d.params = *params;
    d.server_alive = process_alive(d.info.ublksrv_pid);
    return d;
}

std::vector<int> list_device_ids(const std::string& class_dir) {
    std::vector<int> ids;
    DIR* d = ::opendir(class_dir.c_str());
    if (!d) return ids;
    while (dirent* e = ::readdir(d))
        if (auto id = parse_char_device_name(e->d_name)) ids.push_back(*id);
    ::closedir(d);
    std::sort(ids.begin(), ids.end());
    return ids;
}

Result<std::vector<ExistingDevice>> list_devices(Controller& controller) {
    std::vector<ExistingDevice> out;
    for (int id : list_device_ids()) {
        auto d = query_device(controller, id);
        if (!d) {
            if (d.error().code == ENODEV) continue;  // deleted since the directory was read
            return d.take_error();
        }
        out.push_back(*d);
    }
    return out;
}

}  // namespace iser::ublk
