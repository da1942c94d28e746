#include "daemon/systemd_job.hpp"

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstring>
#include <memory>

namespace iser::daemon {

namespace {

constexpr const char* kSystemd = "org.freedesktop.systemd1";
constexpr std::uint64_t kCallTimeoutUs = 5'000'000;  // systemd answers while it runs the stop job

struct BusUnref {
    void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
using BusPtr = std::unique_ptr<sd_bus, BusUnref>;

Error bus_error(int r, const char* what, const sd_bus_error* e = nullptr) {
    std::string msg = std::string(what) + ": ";
    msg += (e && e->message) ? e->message : std::strerror(-r);
    return Error{-r, msg};
}

// systemd's own socket first, as systemctl does for root: it needs no dbus-daemon.
Result<BusPtr> connect() {
    if (geteuid() == 0 && access("/run/systemd/private", F_OK) == 0) {
        sd_bus* raw = nullptr;
        if (sd_bus_new(&raw) >= 0) {
            BusPtr bus(raw);
            if (sd_bus_set_address(raw, "unix:path=/run/systemd/private") >= 0 && sd_bus_start(raw) >= 0) {
                (void)sd_bus_set_method_call_timeout(raw, kCallTimeoutUs);
                return bus;
            }
        }
    }
    sd_bus* raw = nullptr;
    int r = sd_bus_open_system(&raw);
    if (r < 0) return bus_error(r, "connecting to the system bus");
    BusPtr bus(raw);
    (void)sd_bus_set_method_call_timeout(raw, kCallTimeoutUs);
    return bus;
}

}  // namespace

bool job_type_is_restart(std::string_view job_type) {
    return job_type == "restart" || job_type == "try-restart" || job_type == "reload-or-restart";
}

Result<std::string> own_unit_job_type() {
    if (sd_booted() <= 0) return make_error(ENOMEDIUM, "not booted with systemd");
    auto bus = connect();
    if (!bus) return bus.take_error();
    sd_bus* b = bus->get();

    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(b, kSystemd, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                               "GetUnitByPID", &error, &reply, "u", static_cast<std::uint32_t>(getpid()));
    if (r < 0) {
        auto e = bus_error(r, "GetUnitByPID", &error);
        sd_bus_error_free(&error);
        return e;
    }
    const char* path = nullptr;
    r = sd_bus_message_read(reply, "o", &path);
    std::string unit_path = r >= 0 && path ? path : "";
    sd_bus_message_unref(reply);
    if (unit_path.empty()) return bus_error(r < 0 ? r : -EBADMSG, "GetUnitByPID reply");

    // Job: (uo), the job id (0: none) and its object path.
    reply = nullptr;
    r = sd_bus_get_property(b, kSystemd, unit_path.c_str(), "org.freedesktop.systemd1.Unit", "Job", &error, &reply,
                            "(uo)");
    if (r < 0) {
        auto e = bus_error(r, "reading the unit's Job", &error);
        sd_bus_error_free(&error);
        return e;
    }
    std::uint32_t job_id = 0;
    const char* job_path = nullptr;
    r = sd_bus_message_read(reply, "(uo)", &job_id, &job_path);
    std::string job = r >= 0 && job_path ? job_path : "";
    sd_bus_message_unref(reply);
    if (r < 0) return bus_error(r, "the unit's Job");
    if (job_id == 0) return std::string{};

    char* type = nullptr;
    r = sd_bus_get_property_string(b, kSystemd, job.c_str(), "org.freedesktop.systemd1.Job", "JobType", &error, &type);
    if (r < 0) {
        auto e = bus_error(r, "reading the job's JobType", &error);
        sd_bus_error_free(&error);
        return e;
    }
    std::string result = type ? type : "";
    free(type);
    return result;
}

bool systemd_restart_pending() {
    auto type = own_unit_job_type();
    return type && job_type_is_restart(*type);
}

}  // namespace iser::daemon
