#include "daemon/session_config.hpp"

#include "common/portal.hpp"
#include "common/secret_file.hpp"
#include "daemon/isid.hpp"

namespace iser::daemon {

Result<session::SessionConfig> make_session_config(const SessionTarget& target, std::uint32_t max_tasks) {
    const control::LoginRequest& rq = target.request;
    session::SessionConfig cfg;
    cfg.host = target.host;
    cfg.port = target.port;
    cfg.max_tasks = max_tasks;
    cfg.io_memory_bytes = target.io_memory_bytes;
    using std::chrono::milliseconds;
    if (rq.login_timeout_ms) cfg.login_timeout = milliseconds(*rq.login_timeout_ms);
    if (rq.nop_interval_ms) cfg.nop_interval = milliseconds(*rq.nop_interval_ms);
    if (rq.nop_timeout_ms) cfg.nop_timeout = milliseconds(*rq.nop_timeout_ms);
    if (rq.command_timeout_ms) cfg.command_timeout = milliseconds(*rq.command_timeout_ms);
    if (rq.replacement_timeout_ms) cfg.replacement_timeout = milliseconds(*rq.replacement_timeout_ms);
    // 0 from the user means "hold nothing": fail I/O at once while reconnecting goes on (the
    // session itself reads 0 as "no recovery at all", which iserd never wants).
    if (cfg.replacement_timeout.count() == 0) cfg.replacement_timeout = milliseconds(1);
    for (const auto& text : rq.alternate_portals) {
        auto alt = iser::parse_portal(text);
        if (!alt) return alt.take_error();
        cfg.portals.push_back({alt->host, alt->port});
    }

    login::LoginConfig& lc = cfg.login;
    lc.type = login::SessionType::Normal;
    lc.initiator_name = target.initiator_name;
    lc.target_name = rq.target;
    lc.isid = random_isid();
    lc.cmdsn = 1;
    lc.offer.iser = rq.transport == "iser";
    // On iSER, SCSI data moves by RDMA: received PDUs are only responses, so small receive
    // buffers suffice (and every posted receive costs registered memory).
    if (lc.offer.iser) lc.offer.max_recv_data_segment_length = 8192;
    if (!rq.chap_user.empty()) {
        auto secret = read_secret_file(rq.chap_secret_file);
        if (!secret) return make_error(secret.error().code, "CHAP secret file " + secret.error().message);
        lc.auth.chap = login::ChapCredentials{rq.chap_user, std::move(*secret)};
    }
    if (!rq.mutual_user.empty()) {
        if (!lc.auth.chap) return make_error(EINVAL, "mutual CHAP needs --chap-user as well");
        auto secret = read_secret_file(rq.mutual_secret_file);
        if (!secret) return make_error(secret.error().code, "mutual CHAP secret file " + secret.error().message);
        lc.auth.mutual = login::ChapCredentials{rq.mutual_user, std::move(*secret)};
    }
    return cfg;
}

}  // namespace iser::daemon
