// iserctl login --portal PORTAL --target IQN [...]: one line per attached LUN on stdout (device
// path or NBD URI); returns once iserd says the exports are usable.
#include <grp.h>

#include <filesystem>
#include <iostream>

#include "cli/daemon_starter.hpp"
#include "cli/secret_file.hpp"
#include "cli/verbs.hpp"
#include "common/duration.hpp"
#include "common/iscsi_name.hpp"
#include "common/portal.hpp"

namespace iser::cli {
namespace {

std::string optional_string(const po::variables_map& vm, const char* key) {
    return vm.count(key) ? vm[key].as<std::string>() : std::string();
}

// A group name or a numeric gid.
std::optional<std::uint32_t> resolve_group(const std::string& group) {
    if (auto gid = parse_u32(group)) return gid;
    if (const ::group* g = ::getgrnam(group.c_str())) return std::uint32_t(g->gr_gid);
    return std::nullopt;
}

// Fills `request` from the options; returns an exit status on a usage or secret-file error.
std::optional<int> build_request(const po::variables_map& vm, control::LoginRequest& request) {
    if (!vm.count("portal")) return fail(kExitUsage, "login needs --portal PORTAL; see 'iserctl login --help'");
    if (!vm.count("target")) return fail(kExitUsage, "login needs --target IQN; see 'iserctl login --help'");
    auto portal = iser::parse_portal(vm["portal"].as<std::string>());
    if (!portal) return fail(kExitUsage, portal.error());
    request.portal = iser::format_portal(*portal);
    request.target = vm["target"].as<std::string>();
    if (auto valid = iser::validate_iscsi_name(request.target); !valid) return fail(kExitUsage, valid.error());

    request.transport = vm["transport"].as<std::string>();
    if (request.transport != "iser" && request.transport != "tcp")
        return fail(kExitUsage, "--transport must be iser or tcp, not '" + request.transport + "'");
    request.frontend = vm["frontend"].as<std::string>();
    if (request.frontend != "ublk" && request.frontend != "nbd" && request.frontend != "nbd-server")
        return fail(kExitUsage, "--frontend must be ublk, nbd or nbd-server, not '" + request.frontend + "'");
    if (vm.count("lun")) {
        auto lun = parse_u32(vm["lun"].as<std::string>());
        if (!lun) return fail(kExitUsage, "--lun must be a LUN number, not '" + vm["lun"].as<std::string>() + "'");
        request.lun = *lun;
    }

    if (request.frontend != "nbd-server" && (vm.count("nbd-socket") || vm.count("nbd-group")))
        return fail(kExitUsage, "--nbd-socket and --nbd-group need --frontend nbd-server");
    if (vm.count("nbd-socket")) {
        // iserd does not share our working directory: send an absolute path.
        request.nbd_socket = std::filesystem::absolute(vm["nbd-socket"].as<std::string>()).lexically_normal().string();
    }
    if (vm.count("nbd-group")) {
        std::string group = vm["nbd-group"].as<std::string>();
        auto gid = resolve_group(group);
        if (!gid) return fail(kExitUsage, "--nbd-group: no group '" + group + "'");
        request.nbd_group = *gid;
    }

    request.chap_user = optional_string(vm, "chap-user");
    std::string chap_file = optional_string(vm, "chap-secret-file");
    request.mutual_user = optional_string(vm, "mutual-user");
    std::string mutual_file = optional_string(vm, "mutual-secret-file");
    if (request.chap_user.empty() != chap_file.empty())
        return fail(kExitUsage, "--chap-user and --chap-secret-file go together");
    if (request.mutual_user.empty() != mutual_file.empty())
        return fail(kExitUsage, "--mutual-user and --mutual-secret-file go together");
    if (!request.mutual_user.empty() && request.chap_user.empty())
        return fail(kExitUsage, "mutual CHAP (--mutual-user) needs --chap-user and --chap-secret-file too");
    if (!chap_file.empty()) {
        auto path = check_secret_file(chap_file, "--chap-secret-file");
        if (!path) return fail(kExitFailure, path.error());
        request.chap_secret_file = *path;
    }
    if (!mutual_file.empty()) {
        auto path = check_secret_file(mutual_file, "--mutual-secret-file");
        if (!path) return fail(kExitFailure, path.error());
        request.mutual_secret_file = *path;
    }

    if (vm.count("alt-portal")) {
        for (const auto& text : vm["alt-portal"].as<std::vector<std::string>>()) {
            auto alt = iser::parse_portal(text);
            if (!alt) return fail(kExitUsage, "--alt-portal: " + alt.error().message);
            request.alternate_portals.push_back(iser::format_portal(*alt));
        }
    }
    auto count = [&vm](const char* key, std::uint32_t low, std::uint32_t high,
                       std::optional<std::uint32_t>& out) -> std::optional<int> {
        if (!vm.count(key)) return std::nullopt;
        auto n = parse_u32(vm[key].as<std::string>());
        if (!n || *n < low || *n > high)
            return fail(kExitUsage, std::string("--") + key + " must be a number from " + std::to_string(low) + " to " +
                                        std::to_string(high) + ", not '" + vm[key].as<std::string>() + "'");
        out = *n;
        return std::nullopt;
    };
    if (auto bad = count("queues", 1, 16, request.queues)) return bad;
    if (auto bad = count("depth", 1, 1024, request.depth)) return bad;
    if ((request.queues || request.depth) && request.frontend != "ublk")
        return fail(kExitUsage, "--queues and --depth apply to --frontend ublk");
    auto duration = [&vm](const char* key, std::optional<std::uint32_t>& out) -> std::optional<int> {
        if (!vm.count(key)) return std::nullopt;
        auto d = parse_duration(vm[key].as<std::string>());
        if (!d) return fail(kExitUsage, std::string("--") + key + ": " + d.error().message);
        out = std::uint32_t(d->count());
        return std::nullopt;
    };
    if (auto bad = duration("login-timeout", request.login_timeout_ms)) return bad;
    if (auto bad = duration("nop-interval", request.nop_interval_ms)) return bad;
    if (auto bad = duration("nop-timeout", request.nop_timeout_ms)) return bad;
    if (auto bad = duration("command-timeout", request.command_timeout_ms)) return bad;
    if (auto bad = duration("replacement-timeout", request.replacement_timeout_ms)) return bad;
    if (request.login_timeout_ms && *request.login_timeout_ms == 0) return fail(kExitUsage, "--login-timeout must not be 0");
    if (request.nop_timeout_ms && *request.nop_timeout_ms == 0 && !(request.nop_interval_ms && *request.nop_interval_ms == 0))
        return fail(kExitUsage, "--nop-timeout 0 needs --nop-interval 0 (no keepalive)");
    return std::nullopt;
}

}  // namespace

int run_login(const VerbArgs& args, GlobalOptions global) {
    const VerbSpec spec{"login", "--portal PORTAL --target IQN [options]",
                        "Logs in to a target and attaches its disk LUNs; prints one device path (or NBD URI) per LUN."};
    po::options_description options("Options");
    options.add_options()
        ("portal", po::value<std::string>()->value_name("PORTAL"), "HOST[:PORT] of the target (default port 3260, IPv6 in brackets)")
        ("target", po::value<std::string>()->value_name("IQN"), "target name (iqn., eui. or naa. form)")
        ("transport", po::value<std::string>()->default_value("iser")->value_name("iser|tcp"), "iSER over RDMA, or iSCSI over TCP")
        ("lun", po::value<std::string>()->value_name("N"), "attach only LUN N (default: every disk LUN)")
        ("frontend", po::value<std::string>()->default_value("ublk")->value_name("ublk|nbd|nbd-server"),
         "ublk block device, kernel NBD device, or NBD unix socket")
        ("nbd-socket", po::value<std::string>()->value_name("PATH"), "nbd-server: socket path (one LUN) or directory")
        ("nbd-group", po::value<std::string>()->value_name("GROUP"), "nbd-server: group allowed to connect to the socket")
        ("chap-user", po::value<std::string>()->value_name("USER"), "CHAP user name the initiator logs in as")
        ("chap-secret-file", po::value<std::string>()->value_name("FILE"), "file holding the CHAP secret (mode 0600)")
        ("mutual-user", po::value<std::string>()->value_name("USER"), "user name the target must answer mutual CHAP with")
        ("mutual-secret-file", po::value<std::string>()->value_name("FILE"), "file holding the mutual CHAP secret (mode 0600)")
        ("alt-portal", po::value<std::vector<std::string>>()->value_name("PORTAL"),
         "another portal of the same target, tried in order when the current one fails (repeatable)")
        ("queues", po::value<std::string>()->value_name("N"), "ublk: hardware queues, each with its own session (default min(CPUs, 4))")
        ("depth", po::value<std::string>()->value_name("N"), "ublk: requests in flight per queue (default 128)")
        ("login-timeout", po::value<std::string>()->value_name("TIME"), "give up a login after TIME (default 15s)")
        ("nop-interval", po::value<std::string>()->value_name("TIME"), "send a NOP-Out keepalive after TIME idle (default 5s, 0 = off)")
        ("nop-timeout", po::value<std::string>()->value_name("TIME"), "drop and reconnect when a NOP-In is TIME late (default 5s)")
        ("command-timeout", po::value<std::string>()->value_name("TIME"),
         "abort, then reset the LUN, then reconnect when a command takes longer (default 30s, 0 = never)")
        ("json", "print one JSON document (attached and skipped LUNs) instead of one line per device")
        ("replacement-timeout", po::value<std::string>()->value_name("TIME"),
         "while reconnecting, hold I/O this long before failing it with EIO (default 120s)");
    po::variables_map vm;
    if (auto done = parse_verb(spec, args, options, {}, vm, global)) return *done;

    control::LoginRequest request;
    if (auto done = build_request(vm, request)) return *done;

    control::ControlClient client(global.socket_path);
    auto reply = call_starting_iserd(client, request);
    if (!reply) return fail(kExitFailure, reply.error());
    const auto& login = std::get<control::LoginReply>(*reply);
    if (vm.count("json")) {
        std::cout << control::reply_to_json_document(*reply);
        return login.attached.empty() ? fail(kExitFailure, "no LUN of " + request.target + " could be attached") : kExitOk;
    }
    for (const auto& lun : login.attached) std::cout << lun.path << '\n';
    std::cout.flush();
    for (const auto& skipped : login.skipped) std::cerr << "skipped LUN " << skipped.lun << ": " << skipped.reason << '\n';
    if (login.attached.empty()) return fail(kExitFailure, "no LUN of " + request.target + " could be attached");
    return kExitOk;
}

}  // namespace iser::cli
