// An NBD server for ONE export (one LUN) on a unix socket, for QEMU, nbdcopy, fio and other
// NBD clients. Entirely on the EventLoop thread of its BlockBackend: no threads, no locks.
//
// Each connection gets a fixed number of request slots; a request's payload buffer is a slice of
// the backend's io_pool() (the lane's bounded I/O memory, shared with every other device on the
// lane), taken for the request's lifetime (nbd/connection.hpp). An idle connection holds no
// payload memory. Connections are independent: a protocol violation closes that connection only.
//
// Lifetime: the EventLoop and the BlockBackend must outlive the server AND any request still in
// the backend when the server is destroyed: the destructor does not block; a connection with
// requests in flight is detached and frees itself when its last completion arrives.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/block_backend.hpp"
#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "nbd/connection.hpp"
#include "nbd/session.hpp"

namespace iser {

struct NbdServerConfig {
    std::string socket_path;
    std::string export_name;
    std::optional<gid_t> group;  // socket mode 0660 with this group, else 0600 (owner only)
    std::uint32_t max_connections = 16;
    // Request slots per connection (requests in flight); 0 = min(backend queue_depth, 32).
    std::uint32_t slots_per_connection = 0;
    // A client that has not finished its handshake by then is closed.
    std::chrono::milliseconds handshake_timeout{10000};
};

class NbdServer final : private nbd::ConnectionOwner {
public:
    static Result<std::unique_ptr<NbdServer>> create(EventLoop& loop, BlockBackend& backend, Logger& log,
                                                     NbdServerConfig config);
    ~NbdServer();
    NbdServer(const NbdServer&) = delete;
    NbdServer& operator=(const NbdServer&) = delete;

    // Serve a socket that is already connected (a test client, or a socketpair end whose other
    // end went to the kernel NBD driver). Counts against max_connections. The fd should be
    // non-blocking. transmission_only: skip the handshake and start with requests, as the
    // kernel driver expects of sockets given to it over netlink (see nbd/kernel_nbd.hpp).
    Status serve_connected(UniqueFd fd, bool transmission_only = false);

    // Stop accepting, unlink the socket, and close every connection once its in-flight requests
    // have completed and their replies are sent. Idempotent.
    void close();

    std::size_t connection_count() const { return connections_.size(); }
    const nbd::ExportInfo& export_info() const { return info_; }
    // The backend's LUN changed size: new and open connections check requests against it.
    void set_export_size(std::uint64_t size);

private:
    NbdServer(EventLoop& loop, BlockBackend& backend, Logger& log, NbdServerConfig config);
    Status listen();
    void on_accept();
    void connection_finished(nbd::Connection& connection) override;

    EventLoop& loop_;
    BlockBackend& backend_;
    Logger& log_;
    NbdServerConfig config_;
    nbd::ExportInfo info_;
    std::uint32_t slots_ = 0;
    IoSlicePool* pool_ = nullptr;  // the backend's io_pool()
    UniqueFd listen_fd_;
    bool listening_ = false;
    dev_t socket_dev_ = 0;  // identity of the socket file we created, so close() unlinks only it
    ino_t socket_ino_ = 0;
    bool closed_ = false;
    std::uint64_t next_id_ = 1;
    std::unordered_map<nbd::Connection*, std::shared_ptr<nbd::Connection>> connections_;
};

}  // namespace iser
