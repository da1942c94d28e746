// One attached target: its session on a loop thread of its own, the LUN backends and the
// frontends that export them. Built completely or not at all: a failure at any step undoes the
// steps before it, so nothing is left half-attached.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "control/control_api.hpp"
#include "daemon/loop_thread.hpp"
#include "initiator/lun/lun_backend.hpp"
#include "initiator/session/session.hpp"
#include "nbd/kernel_nbd.hpp"
#include "nbd/server.hpp"
#include "ublk/controller.hpp"
#include "ublk/device.hpp"
#include "ublk/queue.hpp"

namespace iser::daemon {

struct AttachOptions {
    control::LoginRequest request;
    std::string initiator_name;
    std::string host;
    std::uint16_t port = 3260;
    std::string nbd_socket_dir = "/run/iser/nbd";
};

class Attachment {
public:
    // Blocks until the LUNs are exported (or everything is undone on failure).
    static Result<std::unique_ptr<Attachment>> attach(Logger& log, AttachOptions options, control::LoginReply& reply);
    ~Attachment();

    // Blocks: closes the exports, waits for in-flight I/O, flushes, logs out.
    Status detach();

    const std::string& target() const { return options_.request.target; }
    control::SessionInfo info() const;
    bool owns_device(const std::string& path) const;

private:
    struct Export {
        std::unique_ptr<lun::LunBackend> backend;
        std::unique_ptr<NbdServer> nbd;
        bool wants_ublk = false;
        bool wants_kernel_nbd = false;
        std::unique_ptr<nbd::KernelNbd> kernel_nbd;  // control thread
        std::unique_ptr<ublk::Device> ublk_device;  // control thread
        std::unique_ptr<ublk::Queue> ublk_queue;    // created and destroyed on the loop thread
        control::AttachedLun attached;
    };
    Attachment(Logger& log, AttachOptions options) : log_(log), options_(std::move(options)) {}
    void build(std::function<void(Result<control::LoginReply>)> reply);
    Result<control::AttachedLun> export_lun(const lun::LunInfo& info, std::size_t disk_count);
    void teardown(std::function<void(Status)> done);
    // Control thread, after build(): ublk devices for the exports that want one.
    Status start_ublk_devices(control::LoginReply& reply);
    // Control thread, before teardown(): stop and delete them (flushes the kernel's queue first).
    Status stop_ublk_devices();
    // The same for /dev/nbdN devices (--frontend nbd).
    Status start_kernel_nbd_devices(control::LoginReply& reply);
    Status stop_kernel_nbd_devices();
    void publish_path(Export& ex, const std::string& path, control::LoginReply& reply);

    Logger& log_;
    AttachOptions options_;
    std::unique_ptr<LoopThread> thread_;
    std::unique_ptr<ublk::Controller> ublk_control_;
    std::unique_ptr<session::Session> session_;
    std::vector<Export> exports_;
    mutable std::mutex info_mutex_;  // control plane: info() reads what the loop thread built
    std::string state_ = "logging-in";
    bool detached_ = false;
};

}  // namespace iser::daemon
