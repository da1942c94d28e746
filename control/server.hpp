// The root-only unix socket iserd listens on for iserctl. One request and one reply per
// connection (see wire.hpp).
//
// Concurrency: run() accepts on the caller's thread and serves each connection on a worker thread
// of its own, at most kMaxWorkers at once (a connection beyond that is answered EBUSY at once).
// So Handler calls overlap: a login or discovery that waits on a slow target never delays list,
// stats or another login; the Handler serialises what must be (daemon/manager.hpp). stop() may
// be called from any thread or a signal-driven event loop: it wakes run() through an eventfd;
// run() then returns without waiting for the workers, and join_workers() waits for them.
#pragma once
#include <sys/types.h>

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/log.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "control/control_api.hpp"

namespace iser::control {

class ControlServer {
public:
    // Creates the socket directory (0700) when missing, takes the lock file PATH.lock so that
    // only one iserd serves a socket path, replaces a stale socket (nothing answers a connect on
    // it) and binds a fresh socket (0600). Fails with EADDRINUSE "iserd is already running
    // (socket PATH)" when another iserd owns the path.
    static Result<std::unique_ptr<ControlServer>> create(std::string socket_path, Handler& handler, Logger& log);

    // Removes the socket file if it is still the one this server bound.
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    static constexpr std::size_t kMaxWorkers = 16;

    // Serves connections until stop(). Blocking.
    void run();
    // Thread-safe and async-signal-safe; run() returns at once, workers go on.
    void stop();
    // Waits for the requests in progress to be answered (the Handler bounds each).
    void join_workers();
    // Closes the listening socket and removes its file if it is still the one this server bound
    // (done by the destructor too). Connections still being served are not touched.
    void remove_socket();

    const std::string& socket_path() const { return path_; }

private:
    ControlServer(std::string path, Handler& handler, Logger& log) : path_(std::move(path)), handler_(handler), log_(log) {}
    void serve_connection(int fd);
    void reap_workers();  // joins the workers that have finished

    struct Worker {
        std::thread thread;
        bool done = false;  // guarded by workers_mutex_
    };
    std::mutex workers_mutex_;
    std::list<Worker> workers_;

    std::string path_;
    Handler& handler_;
    Logger& log_;
    UniqueFd listen_fd_, wake_fd_, lock_fd_;
    dev_t bound_dev_ = 0;
    ino_t bound_ino_ = 0;
};

}  // namespace iser::control
