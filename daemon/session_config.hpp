// The SessionConfig for one lane of an attachment: where to connect, what to offer at login,
// CHAP from the secret files, and the per-target timers from the login request.
#pragma once
#include <string>

#include "common/result.hpp"
#include "control/control_api.hpp"
#include "initiator/session/session.hpp"

namespace iser::daemon {

struct SessionTarget {
    const control::LoginRequest& request;
    const std::string& initiator_name;
    const std::string& host;
    std::uint16_t port;
    std::size_t io_memory_bytes;  // the session's I/O memory pool (iserd --io-memory)
};

// Every call draws a new ISID: each lane is a session of its own (RFC 7143 §4.4.1).
Result<session::SessionConfig> make_session_config(const SessionTarget& target, std::uint32_t max_tasks);

}  // namespace iser::daemon
