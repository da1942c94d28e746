// Which systemd job types keep iserd's devices across its exit (daemon/systemd_job.hpp).
#include <systemd/sd-daemon.h>

#include "daemon/systemd_job.hpp"
#include <doctest/doctest.h>

using iser::daemon::job_type_is_restart;

TEST_CASE("systemd job: restarts keep the devices") {
    // The JobType strings systemd's D-Bus API uses for jobs after which the unit runs again.
    CHECK(job_type_is_restart("restart"));
    CHECK(job_type_is_restart("try-restart"));
    CHECK(job_type_is_restart("reload-or-restart"));
}

TEST_CASE("systemd job: everything else detaches") {
    // A stop (systemctl stop, shutdown, isolate), no job at all, or a type we do not know.
    CHECK_FALSE(job_type_is_restart("stop"));
    CHECK_FALSE(job_type_is_restart(""));
    CHECK_FALSE(job_type_is_restart("start"));
    CHECK_FALSE(job_type_is_restart("reload"));
    CHECK_FALSE(job_type_is_restart("verify-active"));
    CHECK_FALSE(job_type_is_restart("nop"));
    CHECK_FALSE(job_type_is_restart("Restart"));
    CHECK_FALSE(job_type_is_restart("restart "));
}

TEST_CASE("systemd job: outside systemd the answer is an error, never a restart") {
    if (sd_booted() > 0) return;  // only meaningful where PID 1 is not systemd
    auto type = iser::daemon::own_unit_job_type();
    CHECK_FALSE(type.ok());
    CHECK_FALSE(iser::daemon::systemd_restart_pending());
}
