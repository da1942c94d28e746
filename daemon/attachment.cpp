#include "daemon/attachment.hpp"

#include <sys/stat.h>

#include <cstring>
#include <thread>

#include "daemon/isid.hpp"
#include "daemon/secret_file.hpp"
#include "daemon/transport.hpp"
#include "initiator/lun/lun_probe.hpp"

namespace iser::daemon {
namespace {

constexpr std::uint32_t kQueueDepth = 128;
// Each ublk tag owns a buffer of the largest I/O, registered for RDMA once: cap it so one queue
// of 128 tags pins 64 MiB rather than 128 MiB (the kernel's ib_iser caps I/O at 512 KiB too).
constexpr std::uint32_t kUblkMaxIoBytes = 512 * 1024;
constexpr auto kDeviceNodeWait = std::chrono::seconds(5);
constexpr auto kDrainPoll = std::chrono::milliseconds(10);
constexpr int kDrainPolls = 3000;  // 30 s for in-flight I/O to finish at logout

// Flushes one backend's volatile cache at detach.
class FlushWaiter final : public BlockCompletion {
public:
    explicit FlushWaiter(std::function<void(int)> done) : done_(std::move(done)) {}
    void complete(BlockRequest&, int result) override { done_(result); }
    BlockRequest request;

private:
    std::function<void(int)> done_;
};

}  // namespace

Result<std::unique_ptr<Attachment>> Attachment::attach(Logger& log, AttachOptions options, control::LoginReply& reply) {
    auto factory = datamover_factory(options.request.transport);
    if (!factory) return factory.take_error();
    std::unique_ptr<Attachment> a(new Attachment(log, std::move(options)));
    if (a->options_.request.frontend == "ublk") {
        // Before logging in: without ublk there is nothing to attach to.
        auto ctl = ublk::Controller::open();
        if (!ctl) return ctl.take_error();
        a->ublk_control_ = std::move(*ctl);
    }
    auto thread = LoopThread::start();
    if (!thread) return thread.take_error();
    a->thread_ = std::move(*thread);

    session::SessionConfig cfg;
    cfg.host = a->options_.host;
    cfg.port = a->options_.port;
    cfg.max_tasks = kQueueDepth;
    login::LoginConfig& lc = cfg.login;
    lc.type = login::SessionType::Normal;
    lc.initiator_name = a->options_.initiator_name;
    lc.target_name = a->options_.request.target;
    lc.isid = random_isid();
    lc.cmdsn = 1;
    lc.offer.iser = a->options_.request.transport == "iser";
    // On iSER, SCSI data moves by RDMA: received PDUs are only responses, so small receive
    // buffers suffice (and every posted receive costs registered memory).
    if (lc.offer.iser) lc.offer.max_recv_data_segment_length = 8192;
    const auto& rq = a->options_.request;
    if (!rq.chap_user.empty()) {
        auto secret = read_secret_file(rq.chap_secret_file);
        if (!secret) return secret.take_error();
        lc.auth.chap = login::ChapCredentials{rq.chap_user, std::move(*secret)};
    }
    if (!rq.mutual_user.empty()) {
        if (!lc.auth.chap) return make_error(EINVAL, "mutual CHAP needs --chap-user as well");
        auto secret = read_secret_file(rq.mutual_secret_file);
        if (!secret) return secret.take_error();
        lc.auth.mutual = login::ChapCredentials{rq.mutual_user, std::move(*secret)};
    }
    a->session_ = std::make_unique<session::Session>(a->thread_->loop(), log, std::move(cfg), std::move(*factory));

    Attachment* raw = a.get();
    auto result = a->thread_->call<Result<control::LoginReply>>([raw](auto done) { raw->build(std::move(done)); });
    if (!result) {
        // Everything built on the loop thread was undone there; stop the thread before the
        // session object goes away.
        a->thread_->stop();
        a->exports_.clear();
        a->session_.reset();
        a->detached_ = true;
        return result.take_error();
    }
    reply = std::move(*result);
    Status devices = a->start_ublk_devices(reply);
    if (devices) devices = a->start_kernel_nbd_devices(reply);
    if (!devices) {
        (void)a->detach();
        return devices.take_error();
    }
    return a;
}

void Attachment::publish_path(Export& ex, const std::string& path, control::LoginReply& reply) {
    ex.attached.path = path;
    for (auto& a : reply.attached)
        if (a.lun == ex.attached.lun) a.path = path;
    ISER_LOG_INFO(log_, "%s: LUN %u is %s", target().c_str(), ex.attached.lun, path.c_str());
}

Status Attachment::start_kernel_nbd_devices(control::LoginReply& reply) {
    for (auto& ex : exports_) {
        if (!ex.wants_kernel_nbd) continue;
        const nbd::ExportInfo& info = ex.nbd->export_info();
        nbd::KernelNbdConfig cfg;
        cfg.connections = 1;
        cfg.size_bytes = ex.backend->geometry().size_bytes;
        cfg.block_size = ex.backend->geometry().logical_block_size;
        cfg.server_flags = info.transmission_flags;
        cfg.max_io_bytes = info.block_sizes.maximum;
        cfg.backend_identifier = target() + ":lun" + std::to_string(ex.attached.lun);
        NbdServer& server = *ex.nbd;
        auto serve = [this, &server](std::vector<UniqueFd> fds) {
            auto shared = std::make_shared<std::vector<UniqueFd>>(std::move(fds));
            return thread_->call<Status>([&server, shared](auto done) {
                for (auto& fd : *shared) {
                    Status st = server.serve_connected(std::move(fd), true);
                    if (!st) return done(st);
                }
                done(Status{});
            });
        };
        auto dev = nbd::KernelNbd::connect(cfg, serve, log_);
        if (!dev) return dev.take_error();
        ex.kernel_nbd = std::move(*dev);
        publish_path(ex, ex.kernel_nbd->device_path(), reply);
    }
    return {};
}

Status Attachment::stop_kernel_nbd_devices() {
    Status first;
    for (auto& ex : exports_) {
        if (!ex.kernel_nbd) continue;
        // On the control thread while the loop keeps serving: the kernel writes its disconnect
        // request into the sockets the loop reads.
        Status st = ex.kernel_nbd->disconnect();
        if (!st && first.ok()) first = st;
        ex.kernel_nbd.reset();
    }
    return first;
}

Status Attachment::start_ublk_devices(control::LoginReply& reply) {
    for (std::size_t i = 0; i < exports_.size(); ++i) {
        Export& ex = exports_[i];
        if (!ex.wants_ublk) continue;
        ublk::DeviceConfig cfg;
        cfg.queues = 1;
        cfg.geometry = ex.backend->geometry();
        cfg.geometry.max_io_bytes = std::min(cfg.geometry.max_io_bytes, kUblkMaxIoBytes);
        cfg.depth = std::uint16_t(std::min<std::uint32_t>(kQueueDepth, ex.backend->queue_depth()));
        cfg.user_recovery = false;
        auto dev = ublk::Device::create(*ublk_control_, cfg, log_);
        if (!dev) return dev.take_error();
        ublk::Device& device = **dev;
        ex.ublk_device = std::move(*dev);
        Status queued = thread_->call<Status>([this, &ex, &device](auto done) {
            auto q = ublk::Queue::create(device, 0, thread_->loop(), *ex.backend, log_);
            if (!q) return done(q.take_error());
            ex.ublk_queue = std::move(*q);
            done(Status{});
        });
        if (!queued) return queued;
        ISER_TRY(device.start(getpid()));
        std::string path = device.block_path();
        auto deadline = std::chrono::steady_clock::now() + kDeviceNodeWait;
        struct stat st{};
        while (stat(path.c_str(), &st) != 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (stat(path.c_str(), &st) != 0) return make_error(ENODEV, path + " did not appear after START_DEV");
        publish_path(ex, path, reply);
    }
    return {};
}

Status Attachment::stop_ublk_devices() {
    Status first;
    for (auto& ex : exports_) {
        if (!ex.ublk_device) continue;
        // STOP_DEV waits for in-flight I/O, which the loop thread keeps serving meanwhile.
        Status st = ex.ublk_device->stop();
        if (!st && first.ok()) first = st;
        thread_->call<bool>([&ex](auto done) {
            if (!ex.ublk_queue) return done(true);
            ex.ublk_queue->shutdown([done] {
                // Destroyed on its loop thread once closed, and not from inside its own callback.
                done(true);
            });
        });
        thread_->call<bool>([&ex](auto done) {
            ex.ublk_queue.reset();
            done(true);
        });
        st = ex.ublk_device->remove();
        if (!st && first.ok()) first = st;
        ex.ublk_device.reset();
    }
    return first;
}

Attachment::~Attachment() {
    if (!detached_) (void)detach();
}

void Attachment::build(std::function<void(Result<control::LoginReply>)> reply) {
    session_->on_failure([this](const Error& e) {
        ISER_LOG_ERROR(log_, "%s: session lost: %s", target().c_str(), e.message.c_str());
        std::lock_guard<std::mutex> lock(info_mutex_);
        state_ = "failed";
    });
    session_->start([this, reply](Status st) {
        if (!st) return reply(make_error(st.error().code, st.error().message));
        std::optional<std::uint32_t> only = options_.request.lun;
        lun::probe_luns(thread_->loop(), log_, *session_, only, [this, reply](Result<lun::ProbeResult> probe) {
            auto undo = [this, reply](Error e) {
                teardown([reply, e](Status) { reply(e); });
            };
            if (!probe) return undo(make_error(probe.error().code, "probing LUNs: " + probe.error().message));
            control::LoginReply out;
            for (auto& [lun, reason] : probe->skipped) out.skipped.push_back({lun, reason});
            if (probe->disks.empty()) {
                std::string why = "target " + target() + " has no disk LUNs to attach";
                for (auto& s : out.skipped) why += "; LUN " + std::to_string(s.lun) + ": " + s.reason;
                return undo(make_error(ENODEV, why));
            }
            for (const auto& info : probe->disks) {
                auto attached = export_lun(info, probe->disks.size());
                if (!attached) return undo(attached.take_error());
                out.attached.push_back(*attached);
            }
            {
                std::lock_guard<std::mutex> lock(info_mutex_);
                state_ = "logged-in";
            }
            reply(std::move(out));
        });
    });
}

Result<control::AttachedLun> Attachment::export_lun(const lun::LunInfo& info, std::size_t disk_count) {
    const auto& rq = options_.request;
    std::string name = "lun" + std::to_string(info.lun);
    auto backend = lun::LunBackend::create(thread_->loop(), log_, *session_, info, target() + ":" + name, kQueueDepth);
    if (!backend) return backend.take_error();

    const BlockGeometry& g = (*backend)->geometry();
    ISER_LOG_INFO(log_,
                  "%s: LUN %u: %s %s, %llu bytes, %u-byte blocks (physical %u), max I/O %u, cache %s%s, "
                  "discard %s (granularity %u, max %llu), write zeroes max %llu, VPD B0 %s, B2 %s",
                  target().c_str(), info.lun, info.inquiry.vendor.c_str(), info.inquiry.product.c_str(),
                  (unsigned long long)g.size_bytes, g.logical_block_size, g.physical_block_size, g.max_io_bytes,
                  g.volatile_cache ? "write-back" : "write-through", g.fua ? " with FUA" : "",
                  g.discard ? "yes" : "no", g.discard_granularity_bytes, (unsigned long long)g.max_discard_bytes,
                  (unsigned long long)g.max_write_zeroes_bytes, info.limits ? "yes" : "no",
                  info.provisioning ? "yes" : "no");
    Export ex;
    ex.attached.lun = info.lun;
    ex.attached.size_bytes = (*backend)->geometry().size_bytes;
    ex.attached.block_size = (*backend)->geometry().logical_block_size;
    if (rq.frontend == "nbd-server") {
        std::string path;
        struct stat st{};
        if (!rq.nbd_socket.empty() && stat(rq.nbd_socket.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            path = rq.nbd_socket + "/" + name + ".sock";
        } else if (!rq.nbd_socket.empty()) {
            if (disk_count > 1)
                return make_error(EINVAL, "--nbd-socket " + rq.nbd_socket + " names one socket but the target has " +
                                              std::to_string(disk_count) + " LUNs; give a directory or --lun");
            path = rq.nbd_socket;
        } else {
            mkdir("/run/iser", 0700);
            mkdir(options_.nbd_socket_dir.c_str(), 0700);
            std::string safe = target();
            for (char& c : safe)
                if (c == '/' || c == ':') c = '_';
            path = options_.nbd_socket_dir + "/" + safe + "-" + name + ".sock";
        }
        NbdServerConfig cfg;
        cfg.socket_path = path;
        cfg.export_name = name;
        if (rq.nbd_group) cfg.group = gid_t(*rq.nbd_group);
        auto server = NbdServer::create(thread_->loop(), **backend, log_, cfg);
        if (!server) return server.take_error();
        ex.nbd = std::move(*server);
        ex.attached.path = "nbd+unix:///" + name + "?socket=" + path;
    } else if (rq.frontend == "ublk") {
        ex.wants_ublk = true;  // the device is made on the control thread after build()
    } else if (rq.frontend == "nbd") {
        // An NBD server with no socket: the kernel's sockets are handed to it after build().
        NbdServerConfig cfg;
        cfg.export_name = name;
        auto server = NbdServer::create(thread_->loop(), **backend, log_, cfg);
        if (!server) return server.take_error();
        ex.nbd = std::move(*server);
        ex.wants_kernel_nbd = true;
    } else {
        return make_error(EINVAL, "unknown frontend '" + rq.frontend + "' (use ublk, nbd or nbd-server)");
    }
    ex.backend = std::move(*backend);
    exports_.push_back(std::move(ex));
    return exports_.back().attached;
}

void Attachment::teardown(std::function<void(Status)> done) {
    for (auto& ex : exports_)
        if (ex.nbd) ex.nbd->close();
    // Wait for in-flight I/O, then flush volatile caches, then log out.
    auto polls = std::make_shared<int>(0);
    auto step = std::make_shared<std::function<void()>>();
    *step = [this, polls, step, done]() {
        std::uint32_t busy = 0;
        for (auto& ex : exports_) busy += ex.backend->in_flight();
        if (busy && ++*polls < kDrainPolls) {
            thread_->loop().add_timer(kDrainPoll, [step] { (*step)(); });
            return;
        }
        // Break the self-reference once this step has run (not from inside it).
        thread_->loop().defer([step] { *step = nullptr; });
        auto pending = std::make_shared<std::size_t>(0);
        auto errors = std::make_shared<int>(0);
        auto waiters = std::make_shared<std::vector<std::unique_ptr<FlushWaiter>>>();
        auto logout = [this, done, errors]() {
            session_->logout([this, done, errors](Status st) {
                exports_.clear();
                std::lock_guard<std::mutex> lock(info_mutex_);
                state_ = "logged-out";
                if (*errors) return done(make_error(EIO, "flushing the target's cache failed at logout"));
                done(std::move(st));
            });
        };
        for (auto& ex : exports_) {
            if (!ex.backend->geometry().volatile_cache || session_->state() != session::Session::State::FullFeature) continue;
            ++*pending;
            auto w = std::make_unique<FlushWaiter>([this, pending, errors, logout, waiters](int r) {
                if (r) ++*errors;
                if (--*pending == 0) {
                    // The waiters own this very callback: free them after it returns.
                    thread_->loop().defer([waiters] { waiters->clear(); });
                    logout();
                }
            });
            w->request.op = BlockOp::Flush;
            w->request.owner = w.get();
            ex.backend->submit(w->request);
            waiters->push_back(std::move(w));
        }
        if (*pending == 0) logout();
    };
    (*step)();
}

Status Attachment::detach() {
    if (detached_) return {};
    detached_ = true;
    if (!thread_ || !session_) return {};  // failed before anything was built
    Status ublk = stop_ublk_devices();
    Status knbd = stop_kernel_nbd_devices();
    Status st = thread_->call<Status>([this](auto done) { teardown(std::move(done)); });
    if (st && !ublk) st = ublk;
    if (st && !knbd) st = knbd;
    thread_->stop();
    session_.reset();
    return st;
}

control::SessionInfo Attachment::info() const {
    control::SessionInfo s;
    s.target = target();
    s.portal = (options_.host.find(':') != std::string::npos ? "[" + options_.host + "]" : options_.host) + ":" +
               std::to_string(options_.port);
    s.transport = options_.request.transport;
    s.frontend = options_.request.frontend;
    {
        std::lock_guard<std::mutex> lock(info_mutex_);
        s.state = state_;
    }
    const auto& p = session_->params();
    s.tsih = p.tsih;
    s.isid = isid_hex(session_->config().login.isid);
    auto yn = [](bool b) { return std::string(b ? "Yes" : "No"); };
    s.negotiated = {
        {"HeaderDigest", p.header_digest ? "CRC32C" : "None"},
        {"DataDigest", p.data_digest ? "CRC32C" : "None"},
        {"MaxRecvDataSegmentLength", std::to_string(p.max_recv_data_segment_length)},
        {"TargetMaxRecvDataSegmentLength", std::to_string(p.max_xmit_data_segment_length)},
        {"MaxBurstLength", std::to_string(p.max_burst_length)},
        {"FirstBurstLength", std::to_string(p.first_burst_length)},
        {"InitialR2T", yn(p.initial_r2t)},
        {"ImmediateData", yn(p.immediate_data)},
        {"MaxOutstandingR2T", std::to_string(p.max_outstanding_r2t)},
        {"ErrorRecoveryLevel", std::to_string(p.error_recovery_level)},
        {"RDMAExtensions", yn(p.rdma_extensions)},
    };
    if (p.rdma_extensions) {
        s.negotiated.push_back({"InitiatorRecvDataSegmentLength", std::to_string(p.initiator_recv_data_segment_length)});
        s.negotiated.push_back({"TargetRecvDataSegmentLength", std::to_string(p.target_recv_data_segment_length)});
    }
    for (const auto& ex : exports_) s.luns.push_back(ex.attached);
    return s;
}

bool Attachment::owns_device(const std::string& path) const {
    for (const auto& ex : exports_) {
        if (ex.attached.path == path) return true;
        auto pos = ex.attached.path.find("?socket=");
        if (pos != std::string::npos && ex.attached.path.substr(pos + 8) == path) return true;
    }
    return false;
}

}  // namespace iser::daemon
