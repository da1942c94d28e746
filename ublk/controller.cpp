#include "ublk/controller.hpp"

namespace iser::ublk {

Result<std::unique_ptr<Controller>> Controller::open() {
    auto ring = ControlRing::open();
    if (!ring) return ring.take_error();
    return std::unique_ptr<Controller>(new Controller(std::move(ring.value())));
}

Result<std::uint64_t> Controller::features() {
    if (have_features_) return features_;
    std::uint64_t value = 0;
    uapi::CtrlCmd cmd{};
    cmd.dev_id = uapi::kAutoDevId;
    cmd.queue_id = uapi::kNoQueue;
    cmd.addr = reinterpret_cast<std::uintptr_t>(&value);
    cmd.len = uapi::kFeaturesLen;
    auto r = ring_->run(uapi::kCmdGetFeatures, cmd, "GET_FEATURES");
    if (!r) return r.take_error();
    features_ = value;
    have_features_ = true;
    return value;
}

}  // namespace iser::ublk
