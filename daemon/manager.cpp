#include "daemon/manager.hpp"

#include <charconv>
#include <map>
#include <thread>

#include "common/portal.hpp"
#include "daemon/discovery.hpp"
#include "ublk/controller.hpp"
#include "ublk/device.hpp"
#include "ublk/device_query.hpp"
#include "ublk/device_state.hpp"

namespace {
constexpr auto kRecoveryRetry = std::chrono::seconds(2);
constexpr auto kDefaultReplacement = std::chrono::milliseconds(120000);
}  // namespace

namespace iser::daemon {
namespace {

// Logout and rescan name what they act on alike: a target, a device, or all.
template <class R>
bool selects(const R& req, const Attachment& a) {
    return req.all || (!req.target.empty() && a.target() == req.target) ||
           (!req.device.empty() && a.owns_device(req.device));
}

template <class R>
Error nothing_selected(const R& req) {
    return make_error(ENOENT, req.target.empty() ? "no attached device " + req.device : "not logged in to " + req.target);
}

}  // namespace

void Manager::finish(std::vector<std::shared_ptr<InProgress>>& list, const std::shared_ptr<InProgress>& item) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        std::erase(list, item);
    }
    idle_.notify_all();
}

Result<control::DiscoverReply> Manager::discover(const control::DiscoverRequest& req) {
    auto portal = iser::parse_portal(req.portal);
    if (!portal) return portal.take_error();
    auto self = std::make_shared<InProgress>();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return make_error(ESHUTDOWN, "iserd is stopping");
        pending_.push_back(self);
    }
    // Bounded by the discovery session's own timers (connect, login, text, logout).
    auto r = daemon::discover(log_, initiator_name_, portal->host, portal->port, req.transport);
    finish(pending_, self);
    if (!r) return make_error(r.error().code, "discovery at " + req.portal + " failed: " + r.error().message);
    return r;
}

std::optional<Error> Manager::busy_with(const control::LoginRequest& req) const {
    // Several attachments of one target are fine when each takes its own LUN (iser.yaml may list
    // LUNs one by one); the same LUN twice would give two devices racing on the same blocks.
    for (const auto& a : attachments_) {
        if (overlaps(a->target(), a->lun_filter(), req))
            return make_error(EEXIST, "already logged in to " + req.target +
                                          (req.lun && a->lun_filter() ? " LUN " + std::to_string(*req.lun) : "") +
                                          "; log out first");
    }
    for (const auto& t : takeovers_) {
        if (overlaps(t.info.target, t.lun_filter, req))
            return make_error(EBUSY, req.target + " is being taken over from the previous iserd (" + t.devices +
                                         "); retry once `iserctl list` shows it logged in");
    }
    for (const auto& p : pending_)
        if (!p->request.target.empty() && overlaps(p->request.target, p->request.lun, req))
            return make_error(EBUSY, "a login to " + req.target + " is already in progress");
    for (const auto& d : detaching_)
        if (overlaps(d->request.target, d->request.lun, req))
            return make_error(EBUSY, "a logout from " + req.target + " is in progress; retry when it ends");
    return std::nullopt;
}

Result<control::LoginReply> Manager::login(const control::LoginRequest& req) {
    auto portal = iser::parse_portal(req.portal);
    if (!portal) return portal.take_error();
    auto self = std::make_shared<InProgress>();
    self->request = req;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return make_error(ESHUTDOWN, "iserd is stopping");
        if (auto busy = busy_with(req)) return *busy;
        pending_.push_back(self);
    }
    AttachOptions opts;
    opts.request = req;
    opts.initiator_name = initiator_name_;
    opts.host = portal->host;
    opts.port = portal->port;
    opts.capacity_changed = [this, target = req.target](std::uint32_t lun) { capacity_changed(target, lun); };
    opts.progress = self->progress;
    opts.io_memory_bytes = io_memory_bytes_;
    control::LoginReply reply;
    // Unlocked: logging in and probing wait on the target (pending_ keeps the same LUNs out).
    auto a = Attachment::attach(log_, std::move(opts), reply);
    if (a) {
        // Filed before leaving pending_, so a concurrent login of the same LUNs always sees one.
        std::lock_guard<std::mutex> lock(mutex_);
        attachments_.push_back(std::move(*a));
    }
    finish(pending_, self);
    if (!a) return make_error(a.error().code, "login to " + req.target + " at " + req.portal + " failed: " + a.error().message);
    ISER_LOG_INFO(log_, "logged in to %s at %s over %s: %zu LUN(s) attached", req.target.c_str(), req.portal.c_str(),
                  req.transport.c_str(), reply.attached.size());
    return reply;
}

Result<control::LogoutReply> Manager::logout(const control::LogoutRequest& req) {
    // Taken out under the lock, detached without it (stopping devices and logging out wait on
    // the kernel and the target); detaching_ keeps logins of the same LUNs out meanwhile.
    std::vector<std::unique_ptr<Attachment>> leaving;
    std::vector<std::shared_ptr<InProgress>> marks;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto it = attachments_.begin(); it != attachments_.end();) {
            if (!selects(req, **it)) {
                ++it;
                continue;
            }
            auto mark = std::make_shared<InProgress>();
            mark->request.target = (*it)->target();
            mark->request.lun = (*it)->lun_filter();
            detaching_.push_back(mark);
            marks.push_back(mark);
            leaving.push_back(std::move(*it));
            it = attachments_.erase(it);
        }
    }
    if (leaving.empty() && !req.all) return nothing_selected(req);
    control::LogoutReply reply;
    Status first_error;
    for (std::size_t i = 0; i < leaving.size(); ++i) {
        Attachment& a = *leaving[i];
        auto info = a.info();
        Status st = a.detach();
        if (!st) {
            ISER_LOG_ERROR(log_, "logout from %s: %s", a.target().c_str(), st.error().message.c_str());
            if (first_error.ok()) first_error = st;
        }
        for (const auto& l : info.luns) reply.detached.push_back(l.path);
        ISER_LOG_INFO(log_, "logged out of %s", a.target().c_str());
        leaving[i].reset();
        finish(detaching_, marks[i]);
    }
    if (!first_error.ok()) return first_error.take_error();
    return reply;
}

Result<control::ListReply> Manager::list() {
    std::lock_guard<std::mutex> lock(mutex_);
    control::ListReply reply;
    for (const auto& a : attachments_) reply.sessions.push_back(a->info());
    for (const auto& t : takeovers_) reply.sessions.push_back(t.info);
    for (const auto& p : pending_) {
        if (p->request.target.empty()) continue;  // a discovery
        control::SessionInfo s;
        s.target = p->request.target;
        s.portal = p->request.portal;
        s.transport = p->request.transport;
        s.frontend = p->request.frontend;
        s.state = "logging-in";
        s.detail = "login in progress";
        s.login = p->request;
        reply.sessions.push_back(std::move(s));
    }
    return reply;
}

Result<control::StatsReply> Manager::stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    control::StatsReply reply;
    for (const auto& a : attachments_)
        for (auto& d : a->stats()) reply.devices.push_back(std::move(d));
    return reply;
}

Result<control::RescanReply> Manager::rescan(const control::RescanRequest& req) {
    std::lock_guard<std::mutex> lock(mutex_);
    control::RescanReply reply;
    bool matched = false;
    for (const auto& a : attachments_) {
        if (!selects(req, *a)) continue;
        matched = true;
        for (auto& d : a->rescan(req.device)) reply.devices.push_back(std::move(d));
    }
    if (!matched && !req.all) return nothing_selected(req);
    return reply;
}

void Manager::capacity_changed(const std::string& target, std::uint32_t lun) {
    // Every lane of the LUN may report the same change (each session gets the attention): the
    // rescan after the first finds the device at its new size and changes nothing.
    resize_worker_.post([this, target, lun] {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& a : attachments_) {
            if (a->target() != target) continue;
            // rescan() logs resizes and failures itself (a device that cannot follow, once).
            (void)a->rescan("", lun);
        }
    });
}

Status Manager::shutdown(bool keep_devices) {
    if (keep_devices) keep_devices_ = true;
    if (request_exit_) request_exit_();
    return {};
}

Manager::~Manager() {
    resize_worker_.stop();
    stopping_ = true;
    if (recovery_thread_.joinable()) recovery_thread_.join();
}

namespace {

// Whether ublk device `dev_id` is LIVE and served by a running process other than this one: a
// second iserd (its own --socket) shares the record directory, and its devices are not ours to
// take over, nor their records ours to delete. A server that is just exiting looks the same for
// a moment (the kernel quiesces the device once it notices), hence the short second look.
bool served_by_another_process(ublk::Controller& controller, int dev_id) {
    constexpr auto kSettle = std::chrono::seconds(2);
    const auto deadline = std::chrono::steady_clock::now() + kSettle;
    for (;;) {
        auto info = ublk::query_dev_info(controller, dev_id);
        if (!info || !ublk::live_elsewhere(*info)) return false;
        if (std::chrono::steady_clock::now() >= deadline) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace

void Manager::recover_devices(std::string record_dir) {
    auto records = ublk::list_records(record_dir);
    if (records.empty()) return;
    if (auto ctl = ublk::Controller::open()) {
        std::erase_if(records, [&](const ublk::DeviceRecord& r) {
            if (!served_by_another_process(**ctl, r.dev_id)) return false;
            ISER_LOG_INFO(log_, "/dev/ublkb%d is served by another running iserd: not taken over", r.dev_id);
            return true;
        });
    }
    if (records.empty()) return;
    // One attachment per login: the devices of one target come back together, on sessions
    // that reuse the dead daemon's ISIDs.
    std::map<std::string, std::vector<ublk::DeviceRecord>> groups;
    for (auto& r : records) groups[r.identity["login"]].push_back(std::move(r));
    // Claimed here, before main lets the control server answer its first request: a login of
    // the same LUNs that arrives while the background takeover has not begun yet is refused
    // too (claimed in the thread, it raced such a login and lost: lab faults iserd-kill).
    std::map<std::string, std::uint64_t> claims;
    for (const auto& [login, group] : groups) {
        auto options = options_from_record(group.front(), initiator_name_);
        if (!options) continue;  // recover_group gives the group up
        bool luns_ok = true;
        for (const auto& r : group) {
            auto lun = record_lun(r);
            if (!lun) luns_ok = false;
            else options->recover[*lun] = r;
        }
        if (!luns_ok) continue;
        std::string devices;
        for (const auto& r : group) devices += (devices.empty() ? "/dev/ublkb" : ", /dev/ublkb") + std::to_string(r.dev_id);
        claims[login] = claim_takeover(*options, devices);
    }
    recovery_thread_ = std::thread([this, record_dir, groups = std::move(groups), claims = std::move(claims)] {
        for (const auto& [login, group] : groups) {
            if (stopping_) return;
            auto c = claims.find(login);
            recover_group(record_dir, group, c == claims.end() ? 0 : c->second);
        }
    });
}

void Manager::recover_group(const std::string& record_dir, const std::vector<ublk::DeviceRecord>& records,
                            std::uint64_t early_claim) {
    auto options = options_from_record(records.front(), initiator_name_);
    std::string devices;
    for (const auto& r : records) devices += (devices.empty() ? "/dev/ublkb" : ", /dev/ublkb") + std::to_string(r.dev_id);
    auto give_up = [&](const std::string& why) {
        ISER_LOG_ERROR(log_, "cannot take over %s after a restart: %s; deleting them (waiting I/O fails with EIO)",
                       devices.c_str(), why.c_str());
        auto ctl = ublk::Controller::open();
        for (const auto& r : records) {
            if (ctl) (void)ublk::Device::delete_stale(**ctl, r.dev_id, log_);
            (void)ublk::remove_record(record_dir, r.dev_id);
        }
    };
    if (!options) return give_up(options.error().message);
    options->record_dir = record_dir;
    options->io_memory_bytes = io_memory_bytes_;
    options->capacity_changed = [this, target = options->request.target](std::uint32_t lun) {
        capacity_changed(target, lun);
    };
    for (const auto& r : records) {
        auto lun = record_lun(r);
        if (!lun) return give_up(lun.error().message);
        options->recover[*lun] = r;
    }
    // Until the takeover ends, a login of the same LUNs is refused and `iserctl list` shows the
    // devices as "taking-over".
    const std::uint64_t claim = early_claim ? early_claim : claim_takeover(*options, devices);
    struct Release {
        Manager& m;
        std::uint64_t id;
        ~Release() { m.release_takeover(id); }
    } release{*this, claim};
    const auto limit = options->request.replacement_timeout_ms
                           ? std::chrono::milliseconds(*options->request.replacement_timeout_ms)
                           : kDefaultReplacement;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    ISER_LOG_INFO(log_, "taking over %s (%s) left by a previous iserd", devices.c_str(), options->request.target.c_str());
    for (int attempt = 1;; ++attempt) {
        if (stopping_) return;
        control::LoginReply reply;
        AttachStage failed_at = AttachStage::target;
        // Not under mutex_: a login can take many seconds and list/stats must still answer (the
        // claim above keeps logins of these LUNs out meanwhile).
        auto a = Attachment::attach(log_, *options, reply, &failed_at);
        if (a) {
            std::lock_guard<std::mutex> lock(mutex_);
            attachments_.push_back(std::move(*a));
            ISER_LOG_INFO(log_, "took over %s again: I/O resumes", devices.c_str());
            return;
        }
        ISER_LOG_WARN(log_, "taking over %s, attempt %d: %s", devices.c_str(), attempt, a.error().message.c_str());
        set_takeover_attempt(claim, attempt, a.error().message);
        // The target may come back: retry logins until the replacement timeout. A device error
        // (device gone, served by someone else, geometry changed, or a recovery the kernel
        // accepted and the queues then failed) cannot be retried (6.12).
        if (failed_at == AttachStage::devices || std::chrono::steady_clock::now() + kRecoveryRetry > deadline)
            return give_up(a.error().message);
        for (int i = 0; i < 20 && !stopping_; ++i) std::this_thread::sleep_for(kRecoveryRetry / 20);
    }
}

bool Manager::overlaps(const std::string& target, const std::optional<std::uint32_t>& lun_filter,
                       const control::LoginRequest& req) {
    if (target != req.target) return false;
    return !lun_filter || !req.lun || *lun_filter == *req.lun;
}

Result<std::uint32_t> Manager::record_lun(const ublk::DeviceRecord& record) {
    auto it = record.identity.find("lun");
    std::uint32_t lun = 0;
    if (it != record.identity.end()) {
        const std::string& text = it->second;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), lun);
        if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) return lun;
    }
    return make_error(EINVAL, "record of ublk device " + std::to_string(record.dev_id) + " has no valid LUN number");
}

std::uint64_t Manager::claim_takeover(const AttachOptions& options, const std::string& devices) {
    std::lock_guard<std::mutex> lock(mutex_);
    Takeover t;
    t.id = ++next_takeover_id_;
    t.lun_filter = options.request.lun;
    t.devices = devices;
    t.info.target = options.request.target;
    t.info.portal = options.request.portal;
    t.info.transport = options.request.transport;
    t.info.frontend = options.request.frontend;
    t.info.state = "taking-over";
    t.info.detail = "logging in again to take over " + devices + " from the previous iserd; I/O held";
    t.info.login = options.request;
    for (const auto& [lun, record] : options.recover) {
        control::AttachedLun l;
        l.lun = lun;
        l.path = "/dev/ublkb" + std::to_string(record.dev_id);
        l.size_bytes = record.size_bytes;
        l.block_size = record.logical_block_size;
        t.info.luns.push_back(l);
    }
    takeovers_.push_back(std::move(t));
    return takeovers_.back().id;
}

void Manager::set_takeover_attempt(std::uint64_t id, int attempt, const std::string& error) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& t : takeovers_)
        if (t.id == id)
            t.info.detail = "login attempt " + std::to_string(attempt) + " failed: " + error + "; retrying, I/O held";
}

void Manager::release_takeover(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::erase_if(takeovers_, [id](const Takeover& t) { return t.id == id; });
}

bool Manager::detach_all(std::chrono::milliseconds grace) {
    resize_worker_.stop();
    bool idle = false;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        stopping_ = true;
        // A login making devices already is waited for whatever it takes (bounded by the kernel);
        // the others make none from now on: cancelled logins end at once, one still probing LUNs
        // and a discovery end at their own deadlines, waited for only as long as `grace`.
        auto making_devices = [this] {
            for (const auto& p : pending_)
                if (!p->progress->cancel()) return true;
            return false;
        };
        idle_.wait(lock, [&] { return !making_devices() && detaching_.empty(); });
        idle = idle_.wait_for(lock, grace, [this] { return pending_.empty() && detaching_.empty(); });
        if (!idle)
            for (const auto& p : pending_)
                ISER_LOG_WARN(log_, "%s still in progress at exit; abandoned (it has made no device)",
                              p->request.target.empty() ? "a discovery" : ("the login to " + p->request.target).c_str());
    }
    if (recovery_thread_.joinable()) recovery_thread_.join();
    control::LogoutRequest all;
    all.all = true;
    (void)logout(all);
    return idle;
}

}  // namespace iser::daemon
