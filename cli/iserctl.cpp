// iserctl [--socket PATH] VERB [options]: the command line of the iSER/iSCSI initiator.
// Global options come before the verb; each verb parses the rest (and accepts --socket too).
// Exit status: 0 success, 1 operational failure, 2 usage error.
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cli/verbs.hpp"
#include "control/control_api.hpp"
#include "iser/version.hpp"

namespace {

using namespace iser::cli;

struct Verb {
    const char* name;
    int (*run)(const VerbArgs&, GlobalOptions);
    const char* summary;
};

constexpr Verb kVerbs[] = {
    {"discover", run_discover, "list the targets a portal offers"},
    {"login", run_login, "log in to a target and attach its LUNs as block devices"},
    {"logout", run_logout, "detach devices and log out"},
    {"list", run_list, "show sessions, LUNs and devices"},
    {"shutdown", run_shutdown, "ask iserd to exit once every session is logged out"},
    {"apply", run_apply, "make sessions, devices and mounts match /etc/iser/iser.yaml"},
    {"stats", run_stats, "show per-device IOPS, bandwidth, latency, retries and reconnects"},
    {"wait", run_wait, "wait until sessions are logged in, showing reconnect progress"},
    {"rescan", run_rescan, "read LUN capacities again and resize the devices to match"},
};

void print_usage(const po::options_description& options) {
    std::cout << "Usage: iserctl [--socket PATH] COMMAND [options]\n\nCommands:\n";
    for (const auto& v : kVerbs) std::printf("  %-9s %s\n", v.name, v.summary);
    std::cout << "\n" << options << "\nRun 'iserctl COMMAND --help' for the options of a command.\n";
    std::cout.flush();
}

// Index of the verb in argv: the first argument that is not a global option or its value.
int find_verb(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--socket") == 0) {
            ++i;
            continue;
        }
        if (argv[i][0] != '-') return i;
    }
    return argc;
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description options("Global options");
    options.add_options()
        ("socket", po::value<std::string>()->value_name("PATH"), "iserd control socket (default $ISERD_SOCKET or /run/iser/iserd.sock)")
        ("version,V", "print the version")
        ("help,h", "show this help");
    const int verb_index = find_verb(argc, argv);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(verb_index, argv).options(options).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return fail(kExitUsage, std::string(e.what()) + "; see 'iserctl --help'");
    }
    if (vm.count("version")) {
        std::cout << "iserctl " << iser::kVersionLine << '\n';
        return kExitOk;
    }
    if (vm.count("help")) {
        print_usage(options);
        return kExitOk;
    }
    if (verb_index == argc) return fail(kExitUsage, "missing command; see 'iserctl --help'");

    GlobalOptions global;
    const char* env_socket = std::getenv("ISERD_SOCKET");
    global.socket_path = vm.count("socket")         ? vm["socket"].as<std::string>()
                         : env_socket && *env_socket ? env_socket
                                                    : iser::control::kDefaultSocketPath;
    const std::string verb = argv[verb_index];
    VerbArgs rest(argv + verb_index + 1, argv + argc);
    for (const auto& v : kVerbs)
        if (verb == v.name) return v.run(rest, global);
    return fail(kExitUsage, "unknown command '" + verb + "'; see 'iserctl --help'");
}
