#include "config/plan.hpp"

#include <algorithm>

#include "common/portal.hpp"

namespace iser::config {
namespace {

std::optional<std::uint32_t> millis(const std::optional<std::chrono::milliseconds>& d) {
    if (!d) return std::nullopt;
    return std::uint32_t(d->count());
}

LoginSpec login_spec(const Target& t, std::optional<std::uint32_t> lun) {
    LoginSpec s;
    s.portal = t.portals.front();
    s.alternate_portals.assign(t.portals.begin() + 1, t.portals.end());
    s.iqn = t.iqn;
    s.transport = t.transport;
    s.frontend = t.device.frontend;
    s.lun = lun;
    s.chap_user = t.chap.user;
    s.chap_secret_file = t.chap.secret_file;
    s.mutual_user = t.chap.mutual_user;
    s.mutual_secret_file = t.chap.mutual_secret_file;
    s.queues = t.device.queues;
    s.depth = t.device.depth;
    s.login_timeout_ms = millis(t.timeouts.login);
    s.nop_interval_ms = millis(t.timeouts.nop_interval);
    s.nop_timeout_ms = millis(t.timeouts.nop_timeout);
    s.command_timeout_ms = millis(t.timeouts.command);
    s.replacement_timeout_ms = millis(t.timeouts.replacement);
    return s;
}

std::size_t depth_of(const std::string& path) { return std::size_t(std::count(path.begin(), path.end(), '/')); }

// A session stays when the file still has its target with the same transport and frontend and
// every LUN it holds is still selected; anything else is replaced by a fresh login.
bool session_matches(const SessionState& s, const Target* t) {
    if (!t || s.transport != t->transport || s.frontend != t->device.frontend) return false;
    return std::all_of(s.luns.begin(), s.luns.end(), [t](const LunState& l) { return t->selects(l.lun); });
}

// "10.0.0.1" and "10.0.0.1:3260" are one portal.
std::string normal_portal(const std::string& text) {
    auto p = parse_portal(text);
    return p ? format_portal(*p) : text;
}

std::vector<std::string> portal_list(const LoginSpec& s) {
    std::vector<std::string> all{normal_portal(s.portal)};
    for (const auto& p : s.alternate_portals) all.push_back(normal_portal(p));
    return all;
}

// Which login settings of a matching session differ from the file's ("" when none): those take
// effect only at a login, so the session is logged in again.
std::string settings_change(const SessionState& s, const Target& t) {
    if (!s.settings) return {};
    const LoginSpec& have = *s.settings;
    const LoginSpec want = login_spec(t, std::nullopt);
    std::vector<std::string> what;
    if (portal_list(have) != portal_list(want)) what.push_back("portals");
    if (have.chap_user != want.chap_user || have.chap_secret_file != want.chap_secret_file ||
        have.mutual_user != want.mutual_user || have.mutual_secret_file != want.mutual_secret_file)
        what.push_back("CHAP");
    if (have.queues != want.queues || have.depth != want.depth) what.push_back("queues/depth");
    if (have.login_timeout_ms != want.login_timeout_ms || have.nop_interval_ms != want.nop_interval_ms ||
        have.nop_timeout_ms != want.nop_timeout_ms || have.command_timeout_ms != want.command_timeout_ms ||
        have.replacement_timeout_ms != want.replacement_timeout_ms)
        what.push_back("timeouts");
    std::string line;
    for (const auto& w : what) line += (line.empty() ? "" : ", ") + w;
    return line;
}

class Planner {
public:
    Planner(const Config& config, const SystemState& state) : config_(config), state_(state) {}

    Plan run() {
        classify_sessions();
        plan_unmounts();
        plan_logouts();
        plan_initiator_name();
        plan_logins();
        plan_mounts();
        return std::move(plan_);
    }

private:
    struct Owner {
        const Target* target = nullptr;  // null when the session goes away
        std::uint32_t lun = 0;
        std::size_t session = 0;
    };

    std::size_t add(Step step) {
        plan_.steps.push_back(std::move(step));
        return plan_.steps.size() - 1;
    }

    void conflict(int line, const std::string& message) {
        plan_.conflicts.push_back(config_.source + ":" + std::to_string(line) + ": " + message);
    }

    void classify_sessions() {
        kept_.assign(state_.sessions.size(), false);
        changed_.assign(state_.sessions.size(), std::string());
        for (std::size_t i = 0; i < state_.sessions.size(); ++i) {
            const SessionState& s = state_.sessions[i];
            const Target* t = config_.find_target_by_iqn(s.iqn);
            kept_[i] = session_matches(s, t);
            if (kept_[i]) {
                std::string changed = settings_change(s, *t);
                if (!changed.empty()) {
                    kept_[i] = false;
                    changed_[i] = changed + " changed";
                }
            }
            for (const auto& l : s.luns) {
                owners_[l.device] = Owner{kept_[i] ? t : nullptr, l.lun, i};
                if (kept_[i]) attached_[{t->name, l.lun}] = l.device;
            }
        }
    }

    // Is `m` (a mount of one of iserd's devices) what the file asks for?
    bool wanted(const MountEntry& m, const Owner& owner) const {
        if (!owner.target) return false;
        return std::any_of(config_.mounts.begin(), config_.mounts.end(), [&](const Mount& c) {
            return c.target == owner.target->name && c.lun == owner.lun && c.mountpoint == m.mountpoint;
        });
    }

    void plan_unmounts() {
        std::vector<const MountEntry*> to_unmount;
        for (const auto& m : state_.mounts) {
            auto owner = owners_.find(m.device);
            if (owner != owners_.end() && !wanted(m, owner->second)) to_unmount.push_back(&m);
        }
        // Deepest first: /srv/a/b before /srv/a.
        std::stable_sort(to_unmount.begin(), to_unmount.end(), [](const MountEntry* a, const MountEntry* b) {
            return depth_of(a->mountpoint) > depth_of(b->mountpoint);
        });
        for (const MountEntry* m : to_unmount) {
            Step s;
            s.kind = StepKind::unmount;
            s.device = m->device;
            s.mountpoint = m->mountpoint;
            std::size_t index = add(std::move(s));
            unmounts_of_device_[m->device].push_back(index);
            unmount_of_mountpoint_[m->mountpoint] = index;
        }
    }

    void plan_logouts() {
        for (std::size_t i = 0; i < state_.sessions.size(); ++i) {
            if (kept_[i]) continue;
            const SessionState& session = state_.sessions[i];
            Step s;
            s.kind = StepKind::logout;
            s.target = session.iqn;
            s.reason = changed_[i];
            for (const auto& l : session.luns) {
                auto& unmounts = unmounts_of_device_[l.device];
                s.after.insert(s.after.end(), unmounts.begin(), unmounts.end());
            }
            // iserd logs a session out by one of its devices; one without devices only by target,
            // which is right only when no session of that target stays.
            if (!session.luns.empty()) {
                s.device = session.luns.front().device;
            } else if (std::any_of(state_.sessions.begin(), state_.sessions.end(), [&](const SessionState& o) {
                           return &o != &session && o.iqn == session.iqn && kept_[std::size_t(&o - &state_.sessions[0])];
                       })) {
                continue;  // harmless: it holds no device; the next apply after the others go gets it
            }
            logouts_of_iqn_[session.iqn].push_back(add(std::move(s)));
        }
    }

    void plan_initiator_name() {
        if (!config_.initiator_name || config_.initiator_name == state_.initiator_name) return;
        Step s;
        s.kind = StepKind::set_initiator_name;
        s.initiator_name = *config_.initiator_name;
        name_step_ = add(std::move(s));
    }

    void plan_logins() {
        for (const Target& t : config_.targets) {
            bool has_session = false;
            std::set<std::uint32_t> covered;
            for (std::size_t i = 0; i < state_.sessions.size(); ++i) {
                if (!kept_[i] || state_.sessions[i].iqn != t.iqn) continue;
                has_session = true;
                for (const auto& l : state_.sessions[i].luns) covered.insert(l.lun);
            }
            std::vector<std::optional<std::uint32_t>> logins;
            if (t.all_luns) {
                if (!has_session) logins.push_back(std::nullopt);
            } else {
                for (auto lun : t.luns)
                    if (!covered.count(lun)) logins.push_back(lun);
            }
            for (auto lun : logins) {
                Step s;
                s.kind = StepKind::login;
                s.target = t.name;
                s.lun = lun;
                s.login = login_spec(t, lun);
                // Never two sessions on one LUN: the old session must be gone first.
                s.after = logouts_of_iqn_[t.iqn];
                if (name_step_) s.after.push_back(*name_step_);
                std::size_t index = add(std::move(s));
                if (lun) login_of_[{t.name, *lun}] = index;
                else all_login_of_[t.name] = index;
            }
        }
    }

    void plan_mounts() {
        std::vector<const Mount*> mounts;
        for (const auto& m : config_.mounts) mounts.push_back(&m);
        // Parents first: /srv before /srv/fast.
        std::stable_sort(mounts.begin(), mounts.end(), [](const Mount* a, const Mount* b) {
            return depth_of(a->mountpoint) < depth_of(b->mountpoint);
        });
        for (const Mount* m : mounts) plan_mount(*m);
    }

    void plan_mount(const Mount& m) {
        const Target* t = config_.find_target(m.target);
        if (!t) return;  // the loader guarantees it; stay safe for hand-made configs
        std::string device;
        std::optional<std::size_t> login;
        if (auto it = attached_.find({t->name, m.lun}); it != attached_.end()) {
            device = it->second;
        } else if (auto one = login_of_.find({t->name, m.lun}); one != login_of_.end()) {
            login = one->second;
        } else if (auto all = all_login_of_.find(t->name); all != all_login_of_.end()) {
            login = all->second;
        } else {
            conflict(m.line, "target '" + t->name + "' is logged in but has no LUN " + std::to_string(m.lun) +
                                 " attached; if the LUN is new, run 'iserctl logout --target " + t->iqn +
                                 "' and apply again");
            return;
        }

        std::vector<std::size_t> after;
        if (login) after.push_back(*login);
        for (const auto& current : state_.mounts) {
            if (current.mountpoint != m.mountpoint) continue;
            if (!device.empty() && current.device == device) return;  // already there
            if (auto freed = unmount_of_mountpoint_.find(m.mountpoint); freed != unmount_of_mountpoint_.end()) {
                after.push_back(freed->second);
                continue;
            }
            conflict(m.line, "mountpoint " + m.mountpoint + " has " + current.device + " mounted (" + current.fstype +
                                 "), not LUN " + std::to_string(m.lun) + " of target '" + t->name +
                                 "'; unmount it or choose another mountpoint");
            return;
        }
        // The device may still be mounted elsewhere; its unmount (planned above) comes first.
        if (!device.empty()) {
            auto& unmounts = unmounts_of_device_[device];
            after.insert(after.end(), unmounts.begin(), unmounts.end());
        }

        DeviceContent content = DeviceContent::unknown;
        if (!device.empty()) {
            auto it = state_.device_content.find(device);
            if (it != state_.device_content.end()) content = it->second;
        }
        if (m.mkfs_if_empty && content != DeviceContent::has_signature) {
            Step s;
            s.kind = StepKind::mkfs;
            s.target = t->name;
            s.lun = m.lun;
            s.device = device;
            s.fstype = m.fstype;
            s.after = after;
            after.push_back(add(std::move(s)));
        } else if (!m.mkfs_if_empty && content == DeviceContent::empty) {
            conflict(m.line, device + " (LUN " + std::to_string(m.lun) + " of target '" + t->name +
                                 "') has no file system; set 'mkfs-if-empty: true' to create " + m.fstype + " on it");
            return;
        }
        if (!state_.existing_directories.count(m.mountpoint)) {
            Step s;
            s.kind = StepKind::mkdir;
            s.mountpoint = m.mountpoint;
            after.push_back(add(std::move(s)));
        }
        Step s;
        s.kind = StepKind::mount;
        s.target = t->name;
        s.lun = m.lun;
        s.device = device;
        s.mountpoint = m.mountpoint;
        s.fstype = m.fstype;
        s.options = m.options;
        s.after = std::move(after);
        add(std::move(s));
    }

    const Config& config_;
    const SystemState& state_;
    Plan plan_;
    std::vector<bool> kept_;
    std::vector<std::string> changed_;  // per session: why it is logged in again ("" = other reasons)
    std::map<std::string, Owner> owners_;                                  // device -> session, LUN
    std::map<std::pair<std::string, std::uint32_t>, std::string> attached_; // (target, lun) -> device kept
    std::map<std::string, std::vector<std::size_t>> unmounts_of_device_;
    std::map<std::string, std::size_t> unmount_of_mountpoint_;
    std::map<std::string, std::vector<std::size_t>> logouts_of_iqn_;
    std::optional<std::size_t> name_step_;
    std::map<std::pair<std::string, std::uint32_t>, std::size_t> login_of_;
    std::map<std::string, std::size_t> all_login_of_;
};

std::string lun_device(const Step& s) {
    if (!s.device.empty()) return s.device;
    return "LUN " + std::to_string(s.lun.value_or(0)) + " of '" + s.target + "'";
}

}  // namespace

Plan make_plan(const Config& config, const SystemState& state) { return Planner(config, state).run(); }

const char* step_name(StepKind kind) {
    switch (kind) {
    case StepKind::unmount: return "unmount";
    case StepKind::logout: return "logout";
    case StepKind::set_initiator_name: return "initiator-name";
    case StepKind::login: return "login";
    case StepKind::mkfs: return "mkfs";
    case StepKind::mkdir: return "mkdir";
    case StepKind::mount: return "mount";
    }
    return "?";
}

std::string describe(const Step& s) {
    switch (s.kind) {
    case StepKind::unmount: return "unmount " + s.device + " from " + s.mountpoint;
    case StepKind::logout: {
        std::string line = s.device.empty() ? "logout " + s.target : "logout " + s.target + " (" + s.device + ")";
        if (!s.reason.empty()) line += ", to log in again: " + s.reason;
        return line;
    }
    case StepKind::set_initiator_name: return "initiator-name " + s.initiator_name + " (write /etc/iser/initiatorname.iser)";
    case StepKind::login: {
        std::string line = "login " + s.login.iqn + (s.lun ? " lun " + std::to_string(*s.lun) : " all luns") + " via " +
                           s.login.portal;
        for (const auto& alt : s.login.alternate_portals) line += ", " + alt;
        return line + " (" + s.login.transport + ", " + s.login.frontend + ")";
    }
    case StepKind::mkfs: return "mkfs." + s.fstype + " " + lun_device(s) + " if it has no signature";
    case StepKind::mkdir: return "mkdir " + s.mountpoint;
    case StepKind::mount: {
        std::string line = "mount " + lun_device(s) + " on " + s.mountpoint + " (" + s.fstype;
        for (const auto& o : s.options) line += ", " + o;
        return line + ")";
    }
    }
    return "?";
}

}  // namespace iser::config
