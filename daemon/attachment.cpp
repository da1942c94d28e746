#include "daemon/attachment.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "daemon/device_links.hpp"
#include "daemon/isid.hpp"
#include "daemon/session_config.hpp"
#include "daemon/transport.hpp"
#include "common/env_number.hpp"
#include "common/portal.hpp"
#include "control/wire.hpp"
#include "ublk/queue_affinity.hpp"

namespace iser::daemon {
namespace {

constexpr std::uint32_t kDefaultDepth = 128;
constexpr std::uint32_t kDefaultMaxQueues = 4;
// Each ublk tag owns a buffer of the largest I/O, registered for RDMA once: cap it so one queue
// of 128 tags pins 64 MiB rather than 128 MiB (the kernel's ib_iser caps I/O at 512 KiB too).
constexpr std::uint32_t kUblkMaxIoBytes = 512 * 1024;
constexpr auto kDeviceNodeWait = std::chrono::seconds(5);
constexpr auto kDrainLimit = std::chrono::seconds(30);  // in-flight I/O at logout

// ublk queues (and so lanes): what was asked, else min(CPUs, 4); never more than the CPUs,
// which is what the driver would clamp nr_hw_queues to anyway.
std::uint32_t lane_count(const AttachOptions& options, Logger& log) {
    const control::LoginRequest& rq = options.request;
    if (rq.frontend != "ublk") return 1;
    // Taking devices over after a crash: as many sessions as they have queues.
    if (!options.recover.empty()) return std::max<std::uint32_t>(1, options.recover.begin()->second.queues);
    std::uint32_t cpus = std::max(1u, std::thread::hardware_concurrency());
    std::uint32_t wanted = rq.queues.value_or(std::min(cpus, kDefaultMaxQueues));
    if (wanted > cpus) {
        ISER_LOG_WARN(log, "%s: %u queues asked for but this machine has %u CPUs; using %u", rq.target.c_str(), wanted,
                      cpus, cpus);
        wanted = cpus;
    }
    return wanted;
}

}  // namespace

Result<std::unique_ptr<Attachment>> Attachment::attach(Logger& log, AttachOptions options, control::LoginReply& reply,
                                                      AttachStage* failed_at) {
    std::unique_ptr<Attachment> a(new Attachment(log, std::move(options)));
    AttachStage stage = AttachStage::devices;
    if (failed_at) *failed_at = stage;
    if (a->options_.request.frontend == "ublk") {
        // Before logging in: without ublk there is nothing to attach to.
        auto ctl = ublk::Controller::open();
        if (!ctl) return ctl.take_error();
        a->ublk_control_ = std::move(*ctl);
    }
    stage = AttachStage::target;
    Status built = a->build(reply);
    if (built && a->options_.progress && !a->options_.progress->enter_devices())
        built = make_error(ECANCELED, "login cancelled: iserd is stopping");
    if (built) {
        stage = AttachStage::devices;
        built = a->start_ublk_devices(reply);
    }
    if (built) built = a->start_kernel_nbd_devices(reply);
    if (!built) {
        if (failed_at) *failed_at = stage;
        (void)a->detach();
        return built.take_error();
    }
    a->set_state("logged-in");
    return a;
}

Attachment::~Attachment() {
    if (!detached_) (void)detach();
}

// Loop threads: the attachment's state is the worst of its lanes' (any reconnecting lane holds
// the I/O of its queue; after the replacement timeout that lane fails I/O until it is back).
void Attachment::recovery_event(session::RecoveryEvent event) {
    std::lock_guard<std::mutex> lock(info_mutex_);
    const auto now = std::chrono::steady_clock::now();
    switch (event) {
        case session::RecoveryEvent::Reconnecting:
            if (lanes_down_++ == 0) down_since_ = now;
            break;
        case session::RecoveryEvent::Reconnected:
            if (lanes_down_) --lanes_down_;
            if (lanes_failing_) --lanes_failing_;
            break;
        case session::RecoveryEvent::ReplacementTimeout:
            if (lanes_failing_++ == 0) failing_since_ = now;
            break;
    }
    if (state_ == "logging-in" || state_ == "logged-out") return;
    state_ = lanes_failing_ ? "failed" : lanes_down_ ? "reconnecting" : "logged-in";
}

void Attachment::set_state(std::string state) {
    std::lock_guard<std::mutex> lock(info_mutex_);
    state_ = std::move(state);
}

Status Attachment::build(control::LoginReply& reply) {
    ISER_TRY(start_lanes(1));
    auto probe = lanes_[0]->probe(options_.request.lun);
    if (!probe) return make_error(probe.error().code, "probing LUNs: " + probe.error().message);
    for (auto& [lun, reason] : probe->skipped) reply.skipped.push_back({lun, reason});
    if (probe->disks.empty()) {
        std::string why = "target " + target() + " has no disk LUNs to attach";
        for (auto& s : reply.skipped) why += "; LUN " + std::to_string(s.lun) + ": " + s.reason;
        return make_error(ENODEV, why);
    }
    for (const auto& info : probe->disks) ISER_TRY(export_lun(info, probe->disks.size()));
    // The other lanes serve the same LUNs; they need no probe of their own.
    ISER_TRY(start_lanes(lane_count(options_, log_)));
    for (const auto& ex : exports_) reply.attached.push_back(ex.attached);
    return {};
}

Status Attachment::start_lanes(std::size_t count) {
    auto factory = datamover_factory(options_.request.transport);
    if (!factory) return factory.take_error();
    const std::uint32_t depth = options_.request.depth.value_or(kDefaultDepth);
    while (lanes_.size() < count) {
        const std::size_t index = lanes_.size();
        SessionTarget where{options_.request, options_.initiator_name, options_.host, options_.port,
                            options_.io_memory_bytes};
        auto cfg = make_session_config(where, depth);
        if (!cfg) return cfg.take_error();
        if (index < options_.isids.size()) cfg->login.isid = options_.isids[index];
        isids_.push_back(cfg->login.isid);
        std::string isid = isid_hex(cfg->login.isid);
        auto lane = Lane::create(log_, target() + "#" + std::to_string(index), std::move(*cfg), *factory);
        if (!lane) return lane.take_error();
        Lane& l = **lane;
        lanes_.push_back(std::move(*lane));
        l.session().on_failure([this, name = l.name()](const Error& e) {
            ISER_LOG_ERROR(log_, "%s: %s", name.c_str(), e.message.c_str());
        });
        l.session().on_recovery([this, name = l.name()](session::RecoveryEvent event, const Error* e) {
            const char* what = session::recovery_event_name(event);
            if (e)
                ISER_LOG_WARN(log_, "%s: %s: %s", name.c_str(), what, e->message.c_str());
            else
                ISER_LOG_INFO(log_, "%s: %s", name.c_str(), what);
            recovery_event(event);
        });
        l.on_capacity_change([this](std::size_t index, const BlockGeometry&) {
            // exports_ is complete before any lane serves I/O, so the index names its LUN.
            if (options_.capacity_changed && index < exports_.size())
                options_.capacity_changed(exports_[index].attached.lun);
        });
        if (options_.progress && options_.progress->cancelled())
            return make_error(ECANCELED, "login cancelled: iserd is stopping");
        ISER_TRY(l.login(options_.progress ? options_.progress->cancelled_flag() : nullptr));
        for (const auto& ex : exports_) ISER_TRY(l.add_backend(ex.info, target() + ":" + ex.name, depth));
        ISER_LOG_INFO(log_, "%s: session %zu logged in (ISID %s)", target().c_str(), index, isid.c_str());
    }
    return {};
}

Status Attachment::export_lun(const lun::LunInfo& info, std::size_t disk_count) {
    const auto& rq = options_.request;
    Lane& lane = *lanes_[0];
    Export ex;
    ex.info = info;
    ex.name = "lun" + std::to_string(info.lun);
    ISER_TRY(lane.add_backend(info, target() + ":" + ex.name, rq.depth.value_or(kDefaultDepth)));
    const std::size_t index = lane.backend_count() - 1;
    const BlockGeometry& g = lane.backend(index).geometry();
    ISER_LOG_INFO(log_,
                  "%s: LUN %u: %s %s, %llu bytes, %u-byte blocks (physical %u), max I/O %u, cache %s%s, "
                  "discard %s (granularity %u, max %llu), write zeroes max %llu, VPD B0 %s, B2 %s",
                  target().c_str(), info.lun, info.inquiry.vendor.c_str(), info.inquiry.product.c_str(),
                  (unsigned long long)g.size_bytes, g.logical_block_size, g.physical_block_size, g.max_io_bytes,
                  g.volatile_cache ? "write-back" : "write-through", g.fua ? " with FUA" : "",
                  g.discard ? "yes" : "no", g.discard_granularity_bytes, (unsigned long long)g.max_discard_bytes,
                  (unsigned long long)g.max_write_zeroes_bytes, info.limits ? "yes" : "no",
                  info.provisioning ? "yes" : "no");
    ex.attached.lun = info.lun;
    ex.attached.size_bytes = g.size_bytes;
    ex.attached.block_size = g.logical_block_size;
    if (rq.frontend == "nbd-server") {
        std::string path;
        struct stat st{};
        if (!rq.nbd_socket.empty() && stat(rq.nbd_socket.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            path = rq.nbd_socket + "/" + ex.name + ".sock";
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
            path = options_.nbd_socket_dir + "/" + safe + "-" + ex.name + ".sock";
        }
        NbdServerConfig cfg;
        cfg.socket_path = path;
        cfg.export_name = ex.name;
        if (rq.nbd_group) cfg.group = gid_t(*rq.nbd_group);
        auto server = lane.add_nbd_server(index, cfg);
        if (!server) return server.take_error();
        ex.nbd = *server;
        ex.attached.path = "nbd+unix:///" + ex.name + "?socket=" + path;
    } else if (rq.frontend == "ublk") {
        ex.wants_ublk = true;  // the device is made once every lane is up
    } else if (rq.frontend == "nbd") {
        // An NBD server with no socket: the kernel's sockets are handed to it later.
        NbdServerConfig cfg;
        cfg.export_name = ex.name;
        auto server = lane.add_nbd_server(index, cfg);
        if (!server) return server.take_error();
        ex.nbd = *server;
        ex.wants_kernel_nbd = true;
    } else {
        return make_error(EINVAL, "unknown frontend '" + rq.frontend + "' (use ublk, nbd or nbd-server)");
    }
    exports_.push_back(std::move(ex));
    return {};
}

void Attachment::publish_path(Export& ex, const std::string& path, control::LoginReply& reply) {
    ex.attached.path = path;
    for (auto& a : reply.attached)
        if (a.lun == ex.attached.lun) a.path = path;
    ISER_LOG_INFO(log_, "%s: LUN %u is %s", target().c_str(), ex.attached.lun, path.c_str());
    // A block device also gets its stable name; a link that cannot be made does not fail the login.
    if (path.rfind("/dev/", 0) == 0) {
        if (Status st = create_device_link(target(), ex.attached.lun, path); !st)
            ISER_LOG_WARN(log_, "%s: LUN %u: %s", target().c_str(), ex.attached.lun, st.error().message.c_str());
    }
}

Status Attachment::start_kernel_nbd_devices(control::LoginReply& reply) {
    for (auto& ex : exports_) {
        if (!ex.wants_kernel_nbd) continue;
        const nbd::ExportInfo& info = ex.nbd->export_info();
        nbd::KernelNbdConfig cfg;
        cfg.connections = 1;
        cfg.size_bytes = ex.attached.size_bytes;
        cfg.block_size = ex.attached.block_size;
        cfg.server_flags = info.transmission_flags;
        cfg.max_io_bytes = info.block_sizes.maximum;
        cfg.backend_identifier = target() + ":" + ex.name;
        NbdServer& server = *ex.nbd;
        LoopThread& thread = lanes_[0]->thread();
        auto serve = [&thread, &server](std::vector<UniqueFd> fds) {
            auto shared = std::make_shared<std::vector<UniqueFd>>(std::move(fds));
            return thread.call<Status>([&server, shared](auto done) {
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

// Lane q serves queue q of every ublk device of this target, and blk-mq maps the same CPUs to
// queue q of each (same queue count): the first device's map pins the lanes. A lane on the CPUs
// that submit to its queue is woken there (no cross-CPU interrupt per request), as ublksrv does.
// Opt-in (ISER_QUEUE_AFFINITY=1): in the lab (2 vCPUs, target in the same VM) it cost 5-8% at
// 4k QD1 and QD32 (bench/lab_variants.sh, "affinity"), since the lane then shares its CPU with
// the submitter and with rxe's kworkers. A failure only costs the pinning and is logged.
void Attachment::pin_lanes_to_queue_cpus(int dev_id) {
    lanes_pinned_ = true;
    auto wanted = env_number("ISER_QUEUE_AFFINITY", 0, 1);
    if (!wanted) ISER_LOG_WARN(log_, "%s; queue threads are not pinned", wanted.error().message.c_str());
    if (!wanted || *wanted == 0) return;
    std::string summary;
    for (std::size_t q = 0; q < lanes_.size(); ++q) {
        auto cpus = ublk::queue_cpus(dev_id, std::uint16_t(q));
        Status st = cpus ? lanes_[q]->pin_to_cpus(*cpus) : Status(cpus.error());
        if (!st) {
            ISER_LOG_WARN(log_, "%s: queue %zu thread not pinned: %s", target().c_str(), q, st.error().message.c_str());
            continue;
        }
        summary += (summary.empty() ? "" : ", ") + std::to_string(q) + " on CPU";
        for (std::size_t i = 0; i < cpus->size(); ++i) summary += (i ? "," : " ") + std::to_string((*cpus)[i]);
    }
    if (!summary.empty()) ISER_LOG_INFO(log_, "%s: queue threads %s", target().c_str(), summary.c_str());
}

Status Attachment::start_ublk_devices(control::LoginReply& reply) {
    for (std::size_t i = 0; i < exports_.size(); ++i) {
        Export& ex = exports_[i];
        if (!ex.wants_ublk) continue;
        ublk::DeviceConfig cfg;
        cfg.queues = std::uint16_t(lanes_.size());
        cfg.geometry = lanes_[0]->backend(i).geometry();
        cfg.geometry.max_io_bytes = std::min(cfg.geometry.max_io_bytes, kUblkMaxIoBytes);
        cfg.depth = std::uint16_t(std::min<std::uint32_t>(options_.request.depth.value_or(kDefaultDepth),
                                                          lanes_[0]->backend(i).queue_depth()));
        // A daemon that dies leaves the device quiesced (I/O waits, then is reissued) for the
        // next iserd to take over (UBLK_F_USER_RECOVERY with REISSUE).
        cfg.user_recovery = true;
        cfg.reissue = true;
        cfg.cookie = ublk::new_device_cookie();
        auto dev = make_ublk_device(cfg, ex.attached.lun);
        if (!dev) return dev.take_error();
        ex.ublk_device = std::move(*dev);
        ublk::Device& device = *ex.ublk_device;
        if (device.queues() != lanes_.size())
            return make_error(EINVAL, "the ublk driver gave " + std::to_string(device.queues()) + " queues, not " +
                                          std::to_string(lanes_.size()));
        for (std::uint16_t q = 0; q < device.queues(); ++q) ISER_TRY(lanes_[q]->add_ublk_queue(i, device, q));
        if (device.recovering()) {
            ISER_TRY(device.end_recovery(getpid()));
            ISER_LOG_INFO(log_, "%s: LUN %u: took over %s again after a restart", target().c_str(), ex.attached.lun,
                          device.block_path().c_str());
        } else {
            ISER_TRY(device.start(getpid()));
        }
        if (!lanes_pinned_) pin_lanes_to_queue_cpus(device.id());
        ublk::DeviceRecord record;
        record.dev_id = device.id();
        record.cookie = device.cookie();
        record.size_bytes = cfg.geometry.size_bytes;
        record.logical_block_size = cfg.geometry.logical_block_size;
        record.queues = device.queues();
        record.depth = device.depth();
        record.pid = getpid();
        record.identity = record_identity(options_.request, ex.attached.lun, isids_);
        if (Status st = ublk::write_record(options_.record_dir, record); !st)
            ISER_LOG_WARN(log_, "%s: %s; a restarted iserd will not find %s", target().c_str(),
                          st.error().message.c_str(), device.block_path().c_str());
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

Result<std::unique_ptr<ublk::Device>> Attachment::make_ublk_device(const ublk::DeviceConfig& config, std::uint32_t lun) {
    auto it = options_.recover.find(lun);
    if (it == options_.recover.end()) return ublk::Device::create(*ublk_control_, config, log_);
    ublk::Device::RecoveryOptions ro;
    ro.expected_cookie = it->second.cookie;
    return ublk::Device::open_for_recovery(*ublk_control_, it->second.dev_id, config.geometry, log_, ro);
}

Status Attachment::stop_ublk_devices() {
    Status first;
    for (auto& ex : exports_) {
        if (!ex.ublk_device) continue;
        // STOP_DEV waits for in-flight I/O, which the lanes keep serving meanwhile.
        Status st = ex.ublk_device->stop();
        if (!st && first.ok()) first = st;
    }
    for (auto& lane : lanes_) lane->close_ublk_queues();
    for (auto& ex : exports_) {
        if (!ex.ublk_device) continue;
        const int id = ex.ublk_device->id();
        Status st = ex.ublk_device->remove();
        if (!st && first.ok()) first = st;
        ex.ublk_device.reset();
        (void)ublk::remove_record(options_.record_dir, id);
    }
    return first;
}

Status Attachment::teardown() {
    // Wait for in-flight I/O on every lane, then flush the volatile caches (one SYNCHRONIZE
    // CACHE per LUN covers the writes of every session), then log every lane out.
    Status first;
    for (auto& lane : lanes_) {
        if (std::uint32_t busy = lane->drain(kDrainLimit))
            ISER_LOG_WARN(log_, "%s: %u requests still in flight after %llds", lane->name().c_str(), busy,
                          (long long)std::chrono::duration_cast<std::chrono::seconds>(kDrainLimit).count());
    }
    if (!lanes_.empty()) {
        for (std::size_t i = 0; i < lanes_[0]->backend_count(); ++i) {
            if (!lanes_[0]->backend(i).geometry().volatile_cache) continue;
            if (int r = lanes_[0]->flush(i); r && first.ok())
                first = make_error(EIO, "flushing the target's cache for " + exports_[i].name +
                                            " failed at logout: " + std::strerror(r));
        }
    }
    for (auto& lane : lanes_) {
        Status st = lane->logout();
        if (!st && first.ok()) first = st;
    }
    return first;
}

Status Attachment::detach() {
    if (detached_) return {};
    detached_ = true;
    // The stable names go first: nothing should open a device by its name while it goes away.
    for (const auto& ex : exports_)
        if (ex.attached.path.rfind("/dev/", 0) == 0) remove_device_link(target(), ex.attached.lun, ex.attached.path);
    Status ublk = stop_ublk_devices();
    Status knbd = stop_kernel_nbd_devices();
    Status st = teardown();
    lanes_.clear();
    set_state("logged-out");
    if (st && !ublk) st = ublk;
    if (st && !knbd) st = knbd;
    return st;
}

std::string Attachment::portal() const {
    return (options_.host.find(':') != std::string::npos ? "[" + options_.host + "]" : options_.host) + ":" +
           std::to_string(options_.port);
}

control::SessionInfo Attachment::info() const {
    control::SessionInfo s;
    s.target = target();
    s.portal = portal();
    s.transport = options_.request.transport;
    s.frontend = options_.request.frontend;
    s.login = options_.request;
    if (lanes_.empty()) {
        std::lock_guard<std::mutex> lock(info_mutex_);
        s.state = state_;
        return s;
    }
    session::Session& lead = lanes_[0]->session();
    {
        std::lock_guard<std::mutex> lock(info_mutex_);
        s.state = state_;
        s.detail = state_detail(lead.config().replacement_timeout);
    }
    const login::SessionParams p = lanes_[0]->negotiated_params();
    s.tsih = p.tsih;
    s.isid = isid_hex(lead.config().login.isid);
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

// What an operator waiting on a reconnect wants to know: for how long, and when held I/O starts
// failing. Called with info_mutex_ held.
std::string Attachment::state_detail(std::chrono::milliseconds replacement_timeout) const {
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    const auto now = std::chrono::steady_clock::now();
    const auto lanes = std::to_string(lanes_.size());
    if (lanes_failing_) {
        return std::to_string(lanes_failing_) + " of " + lanes + " sessions past the replacement timeout for " +
               std::to_string(duration_cast<seconds>(now - failing_since_).count()) +
               " s: their I/O fails with EIO; still reconnecting";
    }
    if (lanes_down_) {
        const auto down = now - down_since_;
        std::string d = std::to_string(lanes_down_) + " of " + lanes + " sessions reconnecting for " +
                        std::to_string(duration_cast<seconds>(down).count()) + " s; I/O held";
        if (replacement_timeout > down) {
            const auto left = duration_cast<seconds>(replacement_timeout - down).count();
            d += ", fails with EIO in " + std::to_string(left) + " s";
        }
        return d;
    }
    return {};
}

std::vector<control::DeviceStats> Attachment::stats() {
    std::vector<control::DeviceStats> out;
    std::string state;
    {
        std::lock_guard<std::mutex> lock(info_mutex_);
        state = state_;
    }
    auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - attached_at_);
    // Recovery counters belong to the sessions, shared by every LUN: one trip to each lane.
    session::SessionStats sessions;
    control::IoMemoryUse memory;  // each lane's pool, shared by every LUN of the lane
    for (auto& lane : lanes_) {
        control::IoMemoryUse m = lane->io_memory();
        memory.in_use_bytes += m.in_use_bytes;
        memory.committed_bytes += m.committed_bytes;
        memory.limit_bytes += m.limit_bytes;
        session::SessionStats s = lane->session_stats();
        sessions.reconnects += s.reconnects;
        sessions.command_timeouts += s.command_timeouts;
        sessions.aborts += s.aborts;
        sessions.lun_resets += s.lun_resets;
        sessions.retries += s.retries;
    }
    for (std::size_t i = 0; i < exports_.size(); ++i) {
        control::DeviceStats d;
        d.target = target();
        d.lun = exports_[i].attached.lun;
        d.path = exports_[i].attached.path;
        d.state = state;
        d.sessions = std::uint32_t(lanes_.size());
        d.uptime_ms = std::uint64_t(uptime.count());
        for (auto& lane : lanes_) d.io += lane->io_stats(i);
        d.reconnects = sessions.reconnects;
        d.command_timeouts = sessions.command_timeouts;
        d.aborts = sessions.aborts;
        d.lun_resets = sessions.lun_resets;
        d.retries = sessions.retries;
        d.portal = portal();
        d.transport = options_.request.transport;
        d.io_memory = memory;
        out.push_back(std::move(d));
    }
    return out;
}

bool export_matches(const control::AttachedLun& attached, const std::string& path) {
    if (attached.path == path) return true;
    // An NBD socket export is named by its URI; users may name it by the socket path alone.
    auto pos = attached.path.find("?socket=");
    return pos != std::string::npos && attached.path.compare(pos + 8, std::string::npos, path) == 0;
}

bool Attachment::owns_device(const std::string& path) const {
    for (const auto& ex : exports_)
        if (export_matches(ex.attached, path)) return true;
    return false;
}

std::map<std::string, std::string> record_identity(const control::LoginRequest& request, std::uint32_t lun,
                                                   const std::vector<pdu::Isid>& isids) {
    std::string line = control::encode_request(control::Request{request});
    if (!line.empty() && line.back() == '\n') line.pop_back();
    std::string isid_list;
    for (const auto& isid : isids) isid_list += (isid_list.empty() ? "" : ",") + isid_hex(isid);
    return {{"target", request.target}, {"lun", std::to_string(lun)}, {"login", line}, {"isids", isid_list}};
}

Result<AttachOptions> options_from_record(const ublk::DeviceRecord& record, const std::string& initiator_name) {
    auto at = [&record](const char* key) {
        auto it = record.identity.find(key);
        return it == record.identity.end() ? std::string() : it->second;
    };
    auto request = control::decode_request(at("login"));
    if (!request || !std::holds_alternative<control::LoginRequest>(*request))
        return make_error(EINVAL, "record of ublk device " + std::to_string(record.dev_id) + " holds no login request");
    AttachOptions options;
    options.request = std::get<control::LoginRequest>(*request);
    options.initiator_name = initiator_name;
    auto portal = iser::parse_portal(options.request.portal);
    if (!portal) return portal.take_error();
    options.host = portal->host;
    options.port = portal->port;
    std::string list = at("isids");
    for (std::size_t pos = 0; pos < list.size();) {
        std::size_t end = std::min(list.find(',', pos), list.size());
        std::string hex = list.substr(pos, end - pos);
        if (hex.size() != 12) return make_error(EINVAL, "record of ublk device " + std::to_string(record.dev_id) + ": bad ISID '" + hex + "'");
        pdu::Isid isid{};
        for (std::size_t i = 0; i < isid.size(); ++i) {
            // from_chars, not stoul: a damaged record must give an error, not an exception on
            // the recovery thread.
            const char* digits = hex.data() + 2 * i;
            auto [end_ptr, ec] = std::from_chars(digits, digits + 2, isid[i], 16);
            if (ec != std::errc() || end_ptr != digits + 2)
                return make_error(EINVAL, "record of ublk device " + std::to_string(record.dev_id) + ": bad ISID '" + hex + "'");
        }
        options.isids.push_back(isid);
        pos = end + 1;
    }
    return options;
}

}  // namespace iser::daemon
