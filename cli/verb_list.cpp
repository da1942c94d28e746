// iserctl list [--json] [-v]: the sessions iserd holds, one block per session.
#include <iostream>

#include "cli/verbs.hpp"
#include "control/client.hpp"

namespace iser::cli {
namespace {

void print_session(const control::SessionInfo& s, bool verbose) {
    std::cout << "target:    " << s.target << '\n'
              << "portal:    " << s.portal << '\n'
              << "transport: " << s.transport << '\n'
              << "state:     " << s.state << (s.detail.empty() ? "" : " (" + s.detail + ")") << '\n'
              << "frontend:  " << s.frontend << '\n';
    if (verbose) {
        std::cout << "tsih:      " << s.tsih << '\n' << "isid:      " << s.isid << '\n';
    }
    std::cout << "luns:";
    if (s.luns.empty()) std::cout << "      none";
    std::cout << '\n';
    for (const auto& l : s.luns)
        std::cout << "  LUN " << l.lun << "  " << l.path << "  " << human_size(l.size_bytes) << "  "
                  << l.block_size << "-byte blocks\n";
    if (verbose && !s.negotiated.empty()) {
        std::cout << "negotiated:\n";
        for (const auto& [key, value] : s.negotiated) std::cout << "  " << key << '=' << value << '\n';
    }
}

}  // namespace

int run_list(const VerbArgs& args, GlobalOptions global) {
    const VerbSpec spec{"list", "[--json] [-v]", "Shows the sessions iserd holds, their LUNs and devices."};
    po::options_description options("Options");
    options.add_options()
        ("json", "print one JSON document")
        ("verbose,v", "also show TSIH, ISID and the negotiated parameters");
    po::variables_map vm;
    if (auto done = parse_verb(spec, args, options, {}, vm, global)) return *done;

    control::ControlClient client(global.socket_path);
    control::ListReply list;  // no iserd: no sessions
    if (auto up = client.probe(); !up) {
        if (!control::is_not_running(up.error())) return fail(kExitFailure, up.error());
    } else {
        auto reply = client.list();
        if (!reply) return fail(kExitFailure, reply.error());
        list = std::move(*reply);
    }
    if (vm.count("json")) {
        std::cout << control::reply_to_json_document(control::Reply{list});
        return kExitOk;
    }
    if (list.sessions.empty()) {
        std::cout << "No sessions.\n";
        return kExitOk;
    }
    bool first = true;
    for (const auto& s : list.sessions) {
        if (!first) std::cout << '\n';
        first = false;
        print_session(s, vm.count("verbose") > 0);
    }
    return kExitOk;
}

}  // namespace iser::cli
