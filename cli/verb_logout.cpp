// iserctl logout --target IQN | --device DEV | --all: detaches the devices, then logs out.
// Quiet on success; with --json, one document listing what went away.
#include <iostream>

#include "cli/daemon_starter.hpp"
#include "cli/verbs.hpp"

namespace iser::cli {

int run_logout(const VerbArgs& args, GlobalOptions global) {
    const VerbSpec spec{"logout", "--target IQN | --device DEV | --all",
                        "Detaches the devices of a session and logs it out."};
    po::options_description options("Options");
    options.add_options()
        ("target", po::value<std::string>()->value_name("IQN"), "log out of every session with this target")
        ("device", po::value<std::string>()->value_name("DEV"), "log out of the session serving this device or NBD URI")
        ("all", "log out of every session")
        ("json", "print {\"detached\": [...]} on success");
    po::variables_map vm;
    if (auto done = parse_verb(spec, args, options, {}, vm, global)) return *done;

    control::LogoutRequest request;
    if (auto done = read_selection(vm, request, "logout needs exactly one of --target, --device, --all")) return *done;

    control::ControlClient client(global.socket_path);
    if (auto up = client.probe(); !up) {
        // No iserd means no session: "--all" has nothing to do, a named one does not exist.
        if (request.all && control::is_not_running(up.error())) {
            if (vm.count("json")) std::cout << control::reply_to_json_document(control::Reply{control::LogoutReply{}});
            return kExitOk;
        }
        return fail(kExitFailure, up.error());
    }
    auto reply = client.logout(request);
    if (!reply) return fail(kExitFailure, reply.error());
    if (vm.count("json")) std::cout << control::reply_to_json_document(control::Reply{*reply});
    return kExitOk;
}

}  // namespace iser::cli
