// The root-only unix socket iserd listens on for iserctl. One request and one reply per
// connection (see wire.hpp).
//
// Concurrency: run() handles connections one at a time on the caller's thread, so Handler calls
// never overlap and a slow login delays the next request (acceptable on the control plane; the
// data path never waits on this thread). stop() may be called from any thread or a signal-driven
// event loop: it wakes run() through an eventfd.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>

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

    // Serves connections until stop(). Blocking.
    void run();
    // Thread-safe and async-signal-safe; run() returns after the connection in progress.
    void stop();

    const std::string& socket_path() const { return path_; }

private:
    ControlServer(std::string path, Handler& handler, Logger& log) : path_(std::move(path)), handler_(handler), log_(log) {}
    void serve_connection(int fd);

    std::string path_;
    Handler& handler_;
    Logger& log_;
    UniqueFd listen_fd_, wake_fd_, lock_fd_;
    dev_t bound_dev_ = 0;
    ino_t bound_ino_ = 0;
};

}  // namespace iser::control
