// A small SQE128 io_uring on /dev/ublk-control that runs one control command at a time and
// waits for its answer. Blocking by design: START_DEV waits for every queue's FETCH_REQs and
// STOP_DEV for in-flight I/O, so control commands run on a control thread, never a queue's
// loop thread. One ControlRing must not be used by two threads at once.
#pragma once
#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "ublk/ublk_uapi.hpp"

namespace iser::ublk {

constexpr const char* kControlPath = "/dev/ublk-control";

class ControlRing {
public:
    // Errors: ENODEV with "ublk is not available: ... (modprobe ublk_drv)" when the driver is
    // not loaded; the open or io_uring_queue_init error otherwise.
    static Result<std::unique_ptr<ControlRing>> open();
    ~ControlRing();
    ControlRing(const ControlRing&) = delete;
    ControlRing& operator=(const ControlRing&) = delete;

    // Runs one command, returns the CQE's non-negative result or Error{-res, "<name>: ..."}.
    Result<int> run(std::uint32_t cmd_op, const uapi::CtrlCmd& cmd, const char* name);

private:
    ControlRing() = default;
    UniqueFd control_;
    io_uring ring_{};
    bool ring_ready_ = false;
};

}  // namespace iser::ublk
