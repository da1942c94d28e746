// Attach-time discovery of a target's LUNs over a logged-in session: REPORT LUNS, then per LUN
// INQUIRY, READ CAPACITY(16), the Block Limits and Logical Block Provisioning VPD pages and the
// caching mode page. Only direct-access LUNs (peripheral device type 0) become disks; the
// others are reported as skipped with the reason.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "initiator/lun/lun_info.hpp"
#include "initiator/session/session.hpp"

namespace iser::lun {

struct ProbeResult {
    std::vector<LunInfo> disks;
    std::vector<std::pair<std::uint32_t, std::string>> skipped;  // LUN, reason
};

using ProbeDone = std::function<void(Result<ProbeResult>)>;

// Runs on the session's loop thread; `done` is called once there.
void probe_luns(EventLoop& loop, Logger& log, session::Session& session, std::optional<std::uint32_t> only_lun,
                ProbeDone done);

std::string device_type_name(std::uint8_t type);

}  // namespace iser::lun
