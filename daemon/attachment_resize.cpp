// A LUN resized at the target: READ CAPACITY(16) through lane 0, the same capacity given to
// every other lane's backend (so all queues check requests against one size), then the block
// device follows: kernel NBD through netlink RECONFIGURE, ublk through UPDATE_SIZE when the
// kernel has it (6.16+). Growing: backends first, then the device, so the kernel never sends
// past what the backends accept. Shrinking: the same order; requests past the new end fail at
// the backends (and at the target) in between, as they would with sd.
#include <cstring>

#include "control/rescan_text.hpp"
#include "daemon/attachment.hpp"
#include "daemon/resize_plan.hpp"
#include "ublk/sqe_encoding.hpp"

namespace iser::daemon {

std::vector<control::RescannedDevice> Attachment::rescan(const std::string& device, std::optional<std::uint32_t> lun) {
    std::vector<control::RescannedDevice> out;
    if (lanes_.empty()) return out;
    for (std::size_t i = 0; i < exports_.size(); ++i) {
        const auto& attached = exports_[i].attached;
        if (lun && attached.lun != *lun) continue;
        if (!device.empty() && !export_matches(attached, device)) continue;
        out.push_back(rescan_export(i));
    }
    return out;
}

control::RescannedDevice Attachment::rescan_export(std::size_t index) {
    Export& ex = exports_[index];
    control::RescannedDevice d;
    d.target = target();
    d.lun = ex.attached.lun;
    d.path = ex.attached.path;
    d.old_bytes = d.device_bytes = ex.attached.size_bytes;
    auto fail = [&](const std::string& why) {
        d.result = "failed";
        d.error = why;
        ISER_LOG_ERROR(log_, "%s: LUN %u (%s): rescan: %s", target().c_str(), d.lun, d.path.c_str(), why.c_str());
        return d;
    };
    auto read = lanes_[0]->refresh_capacity(index);
    if (!read) return fail("reading the capacity: " + read.error().message);
    d.lun_bytes = read->geometry.size_bytes;  // a new block size came back as an error above
    for (std::size_t l = 1; l < lanes_.size(); ++l) lanes_[l]->apply_capacity(index, read->capacity);

    bool ublk_can_update = false;
    if (ex.ublk_device && ublk_control_) {
        auto features = ublk_control_->features();
        ublk_can_update = features && ublk::can_update_size(*features);
    }
    switch (plan_resize(options_.request.frontend, ex.attached.size_bytes, d.lun_bytes, ublk_can_update)) {
        case ResizeStep::Unchanged:
            d.result = "unchanged";
            break;
        case ResizeStep::ServerOnly:
            ex.attached.size_bytes = d.device_bytes = d.lun_bytes;
            d.result = "resized";
            break;
        case ResizeStep::CannotResize:
            d.result = "not-resizable";
            d.error = cannot_resize_message(d.lun_bytes, d.device_bytes);
            // Every lane's session reports the change: one warning per new size is enough.
            if (ex.warned_lun_bytes != d.lun_bytes)
                ISER_LOG_WARN(log_, "%s: LUN %u: %s: %s", target().c_str(), d.lun, d.path.c_str(), d.error.c_str());
            ex.warned_lun_bytes = d.lun_bytes;
            break;
        case ResizeStep::ResizeDevice:
            if (Status st = resize_device(ex, d.lun_bytes); !st) return fail(st.error().message);
            ex.attached.size_bytes = d.device_bytes = d.lun_bytes;
            d.result = "resized";
            break;
    }
    if (d.result == "resized")
        ISER_LOG_INFO(log_, "%s: LUN %u: %s: %s", target().c_str(), d.lun, d.path.c_str(),
                      control::rescan_line(d).c_str());
    return d;
}

Status Attachment::resize_device(Export& ex, std::uint64_t size_bytes) {
    if (ex.kernel_nbd) return ex.kernel_nbd->resize(size_bytes);
    if (ex.ublk_device) return ex.ublk_device->update_size(size_bytes);
    return make_error(ENODEV, "no block device to resize");
}

}  // namespace iser::daemon
