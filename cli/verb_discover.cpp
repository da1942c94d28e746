// iserctl discover PORTAL [--transport tcp|iser] [--json]
// One line per target portal: "IP:PORT,TPGT IQN" (IPv6 in brackets), as iscsiadm prints them.
#include <iostream>

#include "cli/daemon_starter.hpp"
#include "cli/verbs.hpp"
#include "common/portal.hpp"

namespace iser::cli {

int run_discover(const VerbArgs& args, GlobalOptions global) {
    const VerbSpec spec{"discover", "PORTAL [--transport iser|tcp] [--json]",
                        "Asks the portal (HOST[:PORT], IPv6 in brackets) for its targets (SendTargets=All)."};
    po::options_description options("Options");
    options.add_options()
        ("portal", po::value<std::string>()->value_name("PORTAL"), "HOST[:PORT] to ask (positional)")
        ("transport", po::value<std::string>()->default_value("iser")->value_name("iser|tcp"), "transport of the discovery session")
        ("json", "print one JSON document");
    po::positional_options_description positional;
    positional.add("portal", 1);
    po::variables_map vm;
    if (auto done = parse_verb(spec, args, options, positional, vm, global)) return *done;

    if (!vm.count("portal")) return fail(kExitUsage, "discover needs a PORTAL; see 'iserctl discover --help'");
    auto portal = iser::parse_portal(vm["portal"].as<std::string>());
    if (!portal) return fail(kExitUsage, portal.error());
    std::string transport = vm["transport"].as<std::string>();
    if (transport != "iser" && transport != "tcp")
        return fail(kExitUsage, "--transport must be iser or tcp, not '" + transport + "'");

    control::ControlClient client(global.socket_path);
    auto reply = call_starting_iserd(client, control::DiscoverRequest{iser::format_portal(*portal), transport});
    if (!reply) return fail(kExitFailure, reply.error());
    if (vm.count("json")) {
        std::cout << control::reply_to_json_document(*reply);
        return kExitOk;
    }
    for (const auto& p : std::get<control::DiscoverReply>(*reply).portals)
        std::cout << iser::format_portal(p.address, p.port) << ',' << p.tpgt << ' ' << p.target << '\n';
    return kExitOk;
}

}  // namespace iser::cli
