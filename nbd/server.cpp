#include "nbd/server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "nbd/unix_listener.hpp"

namespace iser {

NbdServer::NbdServer(EventLoop& loop, BlockBackend& backend, Logger& log, NbdServerConfig config)
    : loop_(loop),
      backend_(backend),
      log_(log),
      config_(std::move(config)),
      info_(nbd::make_export_info(backend.geometry(), config_.export_name)) {
    slots_ = config_.slots_per_connection ? config_.slots_per_connection
                                          : std::min<std::uint32_t>(backend.queue_depth(), 32);
    slots_ = std::max<std::uint32_t>(slots_, 1);
}

Result<std::unique_ptr<NbdServer>> NbdServer::create(EventLoop& loop, BlockBackend& backend, Logger& log,
                                                     NbdServerConfig config) {
    const auto& g = backend.geometry();
    const std::uint32_t lbs = g.logical_block_size;
    if (lbs == 0 || (lbs & (lbs - 1)) != 0 || lbs > 65536)
        return make_error(EINVAL, "nbd: logical block size must be a power of two up to 64 KiB");
    if (g.max_io_bytes < lbs) return make_error(EINVAL, "nbd: max_io_bytes smaller than a block");
    if (config.export_name.size() > nbd::kMaxStringLength)
        return make_error(EINVAL, "nbd: export name longer than 4096 bytes");
    if (config.max_connections == 0) return make_error(EINVAL, "nbd: max_connections must be at least 1");
    auto pool = backend.io_pool();
    if (!pool) return make_error(pool.error().code, "nbd: " + pool.error().message);
    std::unique_ptr<NbdServer> server(new NbdServer(loop, backend, log, std::move(config)));
    const std::uint32_t largest = server->info_.block_sizes.maximum;
    if ((*pool)->max_slice() < largest)
        return make_error(EINVAL, "nbd: I/O memory pool (slices up to " + std::to_string((*pool)->max_slice()) +
                                      " bytes) smaller than the largest request (" + std::to_string(largest) + ")");
    server->pool_ = *pool;
    if (!server->config_.socket_path.empty()) ISER_TRY(server->listen());
    return server;
}

NbdServer::~NbdServer() {
    close();
    // Connections still waiting for the backend keep themselves alive until it answers.
    for (auto& [raw, connection] : connections_) connection->detach();
    connections_.clear();
}

Status NbdServer::listen() {
    auto listener = nbd::listen_unix(config_.socket_path, config_.group, 64);
    if (!listener) return listener.take_error();
    listen_fd_ = std::move(listener->fd);
    socket_dev_ = listener->dev;
    socket_ino_ = listener->ino;
    auto st = loop_.add_fd(listen_fd_.get(), EPOLLIN, [this](std::uint32_t) { on_accept(); });
    if (!st) {
        nbd::unlink_unix_listener(config_.socket_path, socket_dev_, socket_ino_);
        return st;
    }
    listening_ = true;
    ISER_LOG_INFO(log_, "nbd: serving export '%s' (%llu bytes) on %s", config_.export_name.c_str(),
                  (unsigned long long)info_.size, config_.socket_path.c_str());
    return {};
}

void NbdServer::on_accept() {
    for (;;) {
        UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid()) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                ISER_LOG_WARN(log_, "nbd: accept on %s: %s", config_.socket_path.c_str(), std::strerror(errno));
            return;
        }
        auto st = serve_connected(std::move(fd));
        if (!st) ISER_LOG_WARN(log_, "nbd: %s: refusing connection: %s", config_.socket_path.c_str(),
                               st.error().message.c_str());
    }
}

Status NbdServer::serve_connected(UniqueFd fd, bool transmission_only) {
    if (closed_) return make_error(ESHUTDOWN, "nbd server is closing");
    if (connections_.size() >= config_.max_connections)
        return make_error(EMFILE, "already " + std::to_string(connections_.size()) + " connections");
    // A connection holds at most a quarter of the lane's pool (the connection raises that to one
    // request of the largest size): a client that stops reading its replies keeps only that much
    // from the lane's other devices, and a quarter is still several MiB in flight by default.
    nbd::Connection::Limits limits{pool_, slots_, pool_->capacity() / 4, config_.handshake_timeout};
    auto connection = std::make_shared<nbd::Connection>(loop_, backend_, log_, info_, std::move(fd), limits,
                                                        next_id_++, static_cast<nbd::ConnectionOwner*>(this),
                                                        transmission_only);
    ISER_TRY(connection->start());
    ISER_LOG_DEBUG(log_, "nbd: connection %llu opened", (unsigned long long)connection->id());
    connections_.emplace(connection.get(), std::move(connection));
    return {};
}

void NbdServer::connection_finished(nbd::Connection& connection) {
    auto it = connections_.find(&connection);
    if (it == connections_.end()) return;
    // Dropped once the connection's current callback has returned.
    loop_.defer([keep = std::move(it->second)] {});
    connections_.erase(it);
}

void NbdServer::close() {
    if (closed_) return;
    closed_ = true;
    if (listening_) {
        loop_.remove_fd(listen_fd_.get());
        listening_ = false;
        nbd::unlink_unix_listener(config_.socket_path, socket_dev_, socket_ino_);
    }
    listen_fd_.reset();
    // drain() may finish a connection at once, which erases it from the table: iterate a copy.
    std::vector<std::shared_ptr<nbd::Connection>> all;
    for (auto& [raw, connection] : connections_) all.push_back(connection);
    for (auto& connection : all) connection->drain();
}

void NbdServer::set_export_size(std::uint64_t size) {
    info_.size = size;
    for (auto& [raw, connection] : connections_) connection->set_export_size(size);
}

}  // namespace iser
