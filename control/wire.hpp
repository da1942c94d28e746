// Wire format of the control socket: one JSON object per line, one request then one reply per
// connection.
//   request: {"op":"login","portal":"192.0.2.10:3260","target":"iqn....", ...}
//   reply:   {"ok":true, ...fields of the reply struct...}
//         or {"ok":false,"error":"one line for the user","errno":N}
// Field names are the struct member names of control_api.hpp. Decoders take untrusted text and
// return Result errors (EINVAL / EMSGSIZE); JSON library exceptions never leave wire.cpp.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "common/result.hpp"
#include "control/control_api.hpp"

namespace iser::control {

// A request line longer than this is refused unread (the socket is root-only, but a confused
// client must not make iserd buffer without bound).
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;
// Replies come from iserd itself and can list many sessions; bounded all the same.
inline constexpr std::size_t kMaxReplyBytes = 16 * 1024 * 1024;

struct ListRequest {};
struct StatsRequest {};
// keep_devices: exit without detaching (ublk devices stay quiesced for the next iserd, sessions
// are not logged out). Sent only when true, so that an older iserd still understands a plain
// shutdown; an older iserd refuses the field (unknown fields are refused) instead of detaching.
struct ShutdownRequest {
    bool keep_devices = false;
};
struct ShutdownReply {};

using Request = std::variant<DiscoverRequest, LoginRequest, LogoutRequest, ListRequest, ShutdownRequest, StatsRequest,
                             RescanRequest>;
// Index i of Reply answers index i of Request.
using Reply = std::variant<DiscoverReply, LoginReply, LogoutReply, ListReply, ShutdownReply, StatsReply, RescanReply>;

// "discover", "login", "logout", "list", "shutdown", "stats", "rescan".
const char* op_name(const Request& request);

// One line, '\n'-terminated.
std::string encode_request(const Request& request);
// `line` may end in '\n'. Checks types, ranges and required fields, refuses unknown ops and
// fields, validates portal and iSCSI name syntax and the enumerated strings (transport, frontend).
Result<Request> decode_request(std::string_view line);

// One line, '\n'-terminated; an error becomes {"ok":false,...}.
std::string encode_reply(const Result<Reply>& reply);
// Decodes the reply to `request` (the op tells which shape to expect). An {"ok":false} reply
// comes back as its Error (message and errno as iserd sent them).
Result<Reply> decode_reply(const Request& request, std::string_view line);

// The reply as one pretty-printed JSON document without the "ok" member: iserctl --json output.
std::string reply_to_json_document(const Reply& reply);

}  // namespace iser::control
