#include "ublk/control_ring.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "ublk/sqe_encoding.hpp"

namespace iser::ublk {

Result<std::unique_ptr<ControlRing>> ControlRing::open() {
    struct stat st{};
    if (::stat(kControlPath, &st) != 0 && errno == ENOENT)
        return make_error(ENODEV, "ublk is not available: /dev/ublk-control is missing (modprobe ublk_drv)");
    std::unique_ptr<ControlRing> r(new ControlRing());
    r->control_.reset(::open(kControlPath, O_RDWR | O_CLOEXEC));
    if (!r->control_.valid()) {
        int e = errno;
        return make_error(e, std::string("cannot open ") + kControlPath + ": " + std::strerror(e));
    }
    // Control commands carry a 32-byte payload: only a 128-byte SQE has room for it.
    int rc = io_uring_queue_init(4, &r->ring_, IORING_SETUP_SQE128);
    if (rc < 0) return make_error(-rc, std::string("io_uring_queue_init(SQE128) for ublk control: ") + std::strerror(-rc));
    r->ring_ready_ = true;
    return r;
}

ControlRing::~ControlRing() {
    if (ring_ready_) io_uring_queue_exit(&ring_);
}

Result<int> ControlRing::run(std::uint32_t cmd_op, const uapi::CtrlCmd& cmd, const char* name) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) return make_error(EBUSY, std::string("ublk ") + name + ": control ring full");
    encode_ctrl_sqe(sqe, control_.get(), cmd_op, cmd, cmd_op);
    int rc = io_uring_submit(&ring_);
    if (rc < 0) return make_error(-rc, std::string("ublk ") + name + ": io_uring_submit: " + std::strerror(-rc));
    io_uring_cqe* cqe = nullptr;
    do {
        rc = io_uring_wait_cqe(&ring_, &cqe);
    } while (rc == -EINTR);
    if (rc < 0) return make_error(-rc, std::string("ublk ") + name + ": io_uring_wait_cqe: " + std::strerror(-rc));
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    if (res < 0) return make_error(-res, std::string("ublk ") + name + ": " + std::strerror(-res));
    return res;
}

}  // namespace iser::ublk
