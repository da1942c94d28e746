// iserctl starts iserd on demand: the first login or discover after boot needs no service setup.
#pragma once
#include <string>

#include "common/result.hpp"
#include "control/client.hpp"

namespace iser::cli {

// Spawns `iserd --foreground --socket PATH` (iserd next to this iserctl binary, else from PATH)
// in its own session, stdin from /dev/null, stdout/stderr appended to iserd.log beside the
// socket, and waits up to ~10 s until the socket answers. Errors say when iserd exited early and
// quote its last log line.
Status start_iserd(const std::string& socket_path);

// client.call(request); when iserd is not running, starts it and calls again.
Result<control::Reply> call_starting_iserd(const control::ControlClient& client, const control::Request& request);

}  // namespace iser::cli
