// The settings of a login travel two ways between iser.yaml's planner (config::LoginSpec) and
// iserd (control::LoginRequest): apply sends a spec as a request, and reads the requests iserd
// reports back as specs to compare with the file. One field list serves both directions.
#pragma once
#include "config/plan.hpp"
#include "control/control_api.hpp"

namespace iser::cli {

// Copies the fields both types name alike (all but the target's name: iqn / target).
template <class From, class To>
void copy_login_settings(const From& from, To& to) {
    to.portal = from.portal;
    to.alternate_portals = from.alternate_portals;
    to.transport = from.transport;
    to.frontend = from.frontend;
    to.lun = from.lun;
    to.chap_user = from.chap_user;
    to.chap_secret_file = from.chap_secret_file;
    to.mutual_user = from.mutual_user;
    to.mutual_secret_file = from.mutual_secret_file;
    to.queues = from.queues;
    to.depth = from.depth;
    to.login_timeout_ms = from.login_timeout_ms;
    to.nop_interval_ms = from.nop_interval_ms;
    to.nop_timeout_ms = from.nop_timeout_ms;
    to.command_timeout_ms = from.command_timeout_ms;
    to.replacement_timeout_ms = from.replacement_timeout_ms;
}

inline control::LoginRequest login_request(const config::LoginSpec& spec) {
    control::LoginRequest r;
    copy_login_settings(spec, r);
    r.target = spec.iqn;
    return r;
}

inline config::LoginSpec login_spec(const control::LoginRequest& request) {
    config::LoginSpec s;
    copy_login_settings(request, s);
    s.iqn = request.target;
    return s;
}

}  // namespace iser::cli
