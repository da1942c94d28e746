// Asks systemd why iserd is being stopped: a SIGTERM that is part of a restart job
// ("systemctl restart iserd") keeps the devices for the next iserd (ublk user recovery); any
// other stop detaches them. Any failure to ask counts as "not a restart", the old behaviour.
#pragma once
#include <string_view>

#include "common/result.hpp"

namespace iser::daemon {

// JobType names (org.freedesktop.systemd1.Job) of the jobs after which this unit runs again:
// restart, try-restart, reload-or-restart (systemd collapses the last two to "restart" for an
// active unit without ExecReload=, but older versions may report them as queued).
bool job_type_is_restart(std::string_view job_type);

// The JobType of the job pending on the unit this process belongs to (GetUnitByPID), over
// systemd's private socket (/run/systemd/private, root only; works without a dbus-daemon) or
// else the system bus. Empty when the unit has no job. Errors: not under systemd, no bus,
// timeout (a few seconds).
Result<std::string> own_unit_job_type();

// job_type_is_restart(own_unit_job_type()), false on any error.
bool systemd_restart_pending();

}  // namespace iser::daemon
