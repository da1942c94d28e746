#include "cli/apply_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/apply_programs.hpp"
#include "config/mountinfo.hpp"

namespace iser::cli {

Result<config::DeviceContent> probe_device(const std::string& device) {
    auto r = run_program({"blkid", "-p", device});
    if (!r) return r.take_error();
    if (r->exit_status == 2) return config::DeviceContent::empty;
    if (r->exit_status == 0 || r->exit_status == 8) return config::DeviceContent::has_signature;
    return make_error(EIO, "blkid -p " + device + " failed" + (r->last_line.empty() ? "" : ": " + r->last_line));
}

std::optional<std::string> read_initiator_name(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        line = line.substr(0, line.find('#'));
        std::size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line.compare(start, 14, "InitiatorName=") != 0) continue;
        std::string name = line.substr(start + 14);
        name.erase(name.find_last_not_of(" \t\r") + 1);
        if (!name.empty()) return name;
    }
    return std::nullopt;
}

Status write_initiator_name(const std::string& path, const std::string& name) {
    std::filesystem::path target(path);
    std::error_code ec;
    std::filesystem::create_directories(target.parent_path(), ec);
    std::string temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << "# Written by iserctl apply from iser.yaml (initiator: name).\nInitiatorName=" << name << '\n';
        out.flush();
        if (!out) return make_error(EIO, "cannot write " + temporary);
    }
    ::chmod(temporary.c_str(), 0644);
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(temporary.c_str());
        return make_error(e, "cannot replace " + path + ": " + std::strerror(e));
    }
    return {};
}

config::LoginSpec login_spec(const control::LoginRequest& r) {
    config::LoginSpec s;
    s.portal = r.portal;
    s.alternate_portals = r.alternate_portals;
    s.iqn = r.target;
    s.transport = r.transport;
    s.frontend = r.frontend;
    s.lun = r.lun;
    s.chap_user = r.chap_user;
    s.chap_secret_file = r.chap_secret_file;
    s.mutual_user = r.mutual_user;
    s.mutual_secret_file = r.mutual_secret_file;
    s.queues = r.queues;
    s.depth = r.depth;
    s.login_timeout_ms = r.login_timeout_ms;
    s.nop_interval_ms = r.nop_interval_ms;
    s.nop_timeout_ms = r.nop_timeout_ms;
    s.command_timeout_ms = r.command_timeout_ms;
    s.replacement_timeout_ms = r.replacement_timeout_ms;
    return s;
}

Result<config::SystemState> collect_state(const config::Config& config, const control::ControlClient& client) {
    config::SystemState state;
    if (auto up = client.probe(); !up) {
        if (!control::is_not_running(up.error())) return up.take_error();
    } else {
        auto list = client.list();
        if (!list) return list.take_error();
        for (const auto& s : list->sessions) {
            config::SessionState session{s.target, s.portal, s.transport, s.frontend, {}, {}};
            if (s.login) session.settings = std::make_shared<const config::LoginSpec>(login_spec(*s.login));
            for (const auto& l : s.luns) session.luns.push_back({l.lun, l.path});
            state.sessions.push_back(std::move(session));
        }
    }

    std::ifstream mountinfo("/proc/self/mountinfo");
    if (!mountinfo) return make_error(errno, std::string("cannot read /proc/self/mountinfo: ") + std::strerror(errno));
    std::ostringstream text;
    text << mountinfo.rdbuf();
    state.mounts = config::parse_mountinfo(text.str());

    for (const auto& session : state.sessions) {
        for (const auto& lun : session.luns) {
            bool mounted = false;
            for (const auto& m : state.mounts) mounted = mounted || m.device == lun.device;
            if (mounted || lun.device.rfind("/dev/", 0) != 0) continue;
            auto content = probe_device(lun.device);
            // Unknown is safe: the planner then probes again right before any mkfs.
            state.device_content[lun.device] = content ? *content : config::DeviceContent::unknown;
        }
    }
    for (const auto& m : config.mounts) {
        struct stat st{};
        if (::stat(m.mountpoint.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) state.existing_directories.insert(m.mountpoint);
    }
    state.initiator_name = read_initiator_name(kInitiatorNameFile);
    return state;
}

}  // namespace iser::cli
