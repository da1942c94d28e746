#include "daemon/transport.hpp"

#include "initiator/datamover/tcp/tcp_datamover.hpp"
#if ISER_WITH_RDMA
#include "initiator/datamover/iser/iser_datamover.hpp"
#endif

namespace iser::daemon {

Result<session::DatamoverFactory> datamover_factory(const std::string& transport) {
    if (transport == "tcp") {
        return session::DatamoverFactory([](EventLoop& loop, Logger& log, datamover::Events& events) {
            return std::unique_ptr<datamover::Datamover>(new datamover::TcpDatamover(loop, log, events));
        });
    }
    if (transport == "iser") {
#if ISER_WITH_RDMA
        return session::DatamoverFactory([](EventLoop& loop, Logger& log, datamover::Events& events) {
            return std::unique_ptr<datamover::Datamover>(new datamover::IserDatamover(loop, log, events));
        });
#else
        return make_error(ENOTSUP, "this build has no iSER transport; use --transport tcp");
#endif
    }
    return make_error(EINVAL, "unknown transport '" + transport + "' (use iser or tcp)");
}

}  // namespace iser::daemon
