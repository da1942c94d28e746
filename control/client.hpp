// iserctl's side of the control socket: connect, send one request line, read one reply line.
// No timeout: a login returns only once its devices are usable, and iserd bounds its own waits.
#pragma once
#include <string>

#include "common/result.hpp"
#include "control/wire.hpp"

namespace iser::control {

class ControlClient {
public:
    explicit ControlClient(std::string socket_path) : path_(std::move(socket_path)) {}

    // Errors: ENOENT/ECONNREFUSED "iserd is not running (socket PATH)",
    // EACCES "permission denied: iserctl must run as root", or the error iserd replied with.
    Result<Reply> call(const Request& request) const;

    Result<DiscoverReply> discover(const DiscoverRequest& r) const { return narrow<DiscoverReply>(call(r)); }
    Result<LoginReply> login(const LoginRequest& r) const { return narrow<LoginReply>(call(r)); }
    Result<LogoutReply> logout(const LogoutRequest& r) const { return narrow<LogoutReply>(call(r)); }
    Result<ListReply> list() const { return narrow<ListReply>(call(ListRequest{})); }
    Result<StatsReply> stats() const { return narrow<StatsReply>(call(StatsRequest{})); }
    Result<RescanReply> rescan(const RescanRequest& r) const { return narrow<RescanReply>(call(r)); }
    Status shutdown(bool keep_devices = false) const {
        auto r = call(ShutdownRequest{keep_devices});
        if (!r) return r.take_error();
        return {};
    }

    // Connects and hangs up: tells "no iserd here" (see is_not_running) apart from other
    // failures without sending a request.
    Status probe() const;

    const std::string& socket_path() const { return path_; }

private:
    template <class T>
    static Result<T> narrow(Result<Reply>&& r) {
        if (!r) return r.take_error();
        return std::get<T>(std::move(r).value());
    }

    std::string path_;
};

// True for the probe() errors that mean "no iserd here" (so iserctl may start one). Only for
// probe(): an error iserd replied with may carry the same errno for other reasons.
inline bool is_not_running(const Error& e) { return e.code == ENOENT || e.code == ECONNREFUSED; }

}  // namespace iser::control
