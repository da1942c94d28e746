#include "daemon/manager.hpp"

#include "control/portal.hpp"
#include "daemon/discovery.hpp"

namespace iser::daemon {

Result<control::DiscoverReply> Manager::discover(const control::DiscoverRequest& req) {
    auto portal = control::parse_portal(req.portal);
    if (!portal) return portal.take_error();
    auto r = daemon::discover(log_, initiator_name_, portal->host, portal->port, req.transport);
    if (!r) return make_error(r.error().code, "discovery at " + req.portal + " failed: " + r.error().message);
    return r;
}

Result<control::LoginReply> Manager::login(const control::LoginRequest& req) {
    auto portal = control::parse_portal(req.portal);
    if (!portal) return portal.take_error();
    std::lock_guard<std::mutex> lock(mutex_);
    // Several attachments of one target are fine when each takes its own LUN (iser.yaml may list
    // LUNs one by one); the same LUN twice would give two devices racing on the same blocks.
    for (const auto& a : attachments_) {
        if (a->target() != req.target) continue;
        if (!a->lun_filter() || !req.lun || *a->lun_filter() == *req.lun)
            return make_error(EEXIST, "already logged in to " + req.target +
                                          (req.lun && a->lun_filter() ? " LUN " + std::to_string(*req.lun) : "") +
                                          "; log out first");
    }
    AttachOptions opts;
    opts.request = req;
    opts.initiator_name = initiator_name_;
    opts.host = portal->host;
    opts.port = portal->port;
    control::LoginReply reply;
    auto a = Attachment::attach(log_, std::move(opts), reply);
    if (!a) return make_error(a.error().code, "login to " + req.target + " at " + req.portal + " failed: " + a.error().message);
    ISER_LOG_INFO(log_, "logged in to %s at %s over %s: %zu LUN(s) attached", req.target.c_str(), req.portal.c_str(),
                  req.transport.c_str(), reply.attached.size());
    attachments_.push_back(std::move(*a));
    return reply;
}

Result<control::LogoutReply> Manager::logout(const control::LogoutRequest& req) {
    std::lock_guard<std::mutex> lock(mutex_);
    control::LogoutReply reply;
    Status first_error;
    bool matched = false;
    for (auto it = attachments_.begin(); it != attachments_.end();) {
        Attachment& a = **it;
        bool match = req.all || (!req.target.empty() && a.target() == req.target) ||
                     (!req.device.empty() && a.owns_device(req.device));
        if (!match) {
            ++it;
            continue;
        }
        matched = true;
        auto info = a.info();
        Status st = a.detach();
        if (!st) {
            ISER_LOG_ERROR(log_, "logout from %s: %s", a.target().c_str(), st.error().message.c_str());
            if (first_error.ok()) first_error = st;
        }
        for (const auto& l : info.luns) reply.detached.push_back(l.path);
        ISER_LOG_INFO(log_, "logged out of %s", a.target().c_str());
        it = attachments_.erase(it);
    }
    if (!matched && !req.all) {
        return make_error(ENOENT, req.target.empty() ? "no attached device " + req.device
                                                     : "not logged in to " + req.target);
    }
    if (!first_error.ok()) return first_error.take_error();
    return reply;
}

Result<control::ListReply> Manager::list() {
    std::lock_guard<std::mutex> lock(mutex_);
    control::ListReply reply;
    for (const auto& a : attachments_) reply.sessions.push_back(a->info());
    return reply;
}

Result<control::StatsReply> Manager::stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    control::StatsReply reply;
    for (const auto& a : attachments_)
        for (auto& d : a->stats()) reply.devices.push_back(std::move(d));
    return reply;
}

Status Manager::shutdown() {
    if (request_exit_) request_exit_();
    return {};
}

void Manager::detach_all() {
    control::LogoutRequest all;
    all.all = true;
    (void)logout(all);
}

}  // namespace iser::daemon
