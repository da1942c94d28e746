// /dev/ublk-control: the entry point of the ublk frontend. Control thread only.
#pragma once
#include <cstdint>
#include <memory>

#include "common/result.hpp"
#include "ublk/control_ring.hpp"

namespace iser::ublk {

class Controller {
public:
    // Error ENODEV "ublk is not available: /dev/ublk-control is missing (modprobe ublk_drv)"
    // when the driver is not loaded.
    static Result<std::unique_ptr<Controller>> open();

    // UBLK_F_* flags this driver supports (GET_FEATURES); cached after the first call.
    Result<std::uint64_t> features();

    ControlRing& ring() { return *ring_; }

private:
    explicit Controller(std::unique_ptr<ControlRing> ring) : ring_(std::move(ring)) {}
    std::unique_ptr<ControlRing> ring_;
    std::uint64_t features_ = 0;
    bool have_features_ = false;
};

}  // namespace iser::ublk
