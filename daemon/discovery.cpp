#include "daemon/discovery.hpp"

#include "daemon/isid.hpp"
#include "daemon/loop_thread.hpp"
#include "daemon/transport.hpp"
#include "initiator/login/text.hpp"
#include "initiator/session/session.hpp"

namespace iser::daemon {

Result<control::DiscoverReply> discover(Logger& log, const std::string& initiator_name, const std::string& host,
                                        std::uint16_t port, const std::string& transport) {
    auto factory = datamover_factory(transport);
    if (!factory) return factory.take_error();
    auto thread = LoopThread::start();
    if (!thread) return thread.take_error();

    session::SessionConfig cfg;
    cfg.host = host;
    cfg.port = port;
    cfg.max_tasks = 4;
    cfg.replacement_timeout = std::chrono::milliseconds(0);  // a lost discovery session just fails
    cfg.login.type = login::SessionType::Discovery;
    cfg.login.initiator_name = initiator_name;
    cfg.login.isid = random_isid();
    cfg.login.cmdsn = 1;
    cfg.login.offer.iser = transport == "iser";
    if (cfg.login.offer.iser) cfg.login.offer.max_recv_data_segment_length = 8192;
    session::Session session((*thread)->loop(), log, std::move(cfg), std::move(*factory));

    auto text = (*thread)->call<Result<std::vector<std::uint8_t>>>([&session](auto done) {
        session.start([&session, done](Status st) {
            if (!st) return done(st.take_error());
            session.text_request("SendTargets", "All", [&session, done](Result<std::vector<std::uint8_t>> r) {
                // A target that let the exchange time out is not asked for a logout (it would
                // only add the logout's own timeout): the session just closes. Otherwise log out
                // whatever the answer was, and report the answer.
                if (!r && r.error().code == ETIMEDOUT) return done(std::move(r));
                auto keep = std::make_shared<Result<std::vector<std::uint8_t>>>(std::move(r));
                session.logout([done, keep](Status) { done(std::move(*keep)); });
            });
        });
    });
    (*thread)->stop();
    if (!text) return text.take_error();

    auto entries = login::parse_send_targets(Bytes(*text));
    if (!entries) return make_error(EPROTO, "malformed SendTargets answer: " + entries.error().message);
    control::DiscoverReply reply;
    for (const auto& e : *entries) {
        if (e.portals.empty()) {
            // RFC 7143: no TargetAddress means "the address you used".
            reply.portals.push_back({host, port, 1, e.target_name});
            continue;
        }
        for (const auto& p : e.portals) reply.portals.push_back({p.address, p.port, p.tpgt, e.target_name});
    }
    return reply;
}

}  // namespace iser::daemon
