// iserctl rescan --device DEV | --target IQN | --all [--json]: re-reads the capacity of the LUNs
// behind the devices and resizes the block devices to match. One line per device:
//   /dev/nbd0: 64 MiB -> 96 MiB
//   /dev/ublkb0: unchanged (64 MiB)
// and for a device that could not follow its LUN, the reason (exit status 1).
#include <iostream>

#include "cli/verbs.hpp"
#include "control/client.hpp"
#include "control/rescan_text.hpp"

namespace iser::cli {

int run_rescan(const VerbArgs& args, GlobalOptions global) {
    const VerbSpec spec{"rescan", "--device DEV | --target IQN | --all [--json]",
                        "Reads the capacity of LUNs again and resizes their block devices to match."};
    po::options_description options("Options");
    options.add_options()
        ("device", po::value<std::string>()->value_name("DEV"), "the LUN behind this device or NBD socket")
        ("target", po::value<std::string>()->value_name("IQN"), "every LUN of this target")
        ("all", "every attached LUN")
        ("json", "print {\"devices\": [...]} with the sizes before and after");
    po::variables_map vm;
    if (auto done = parse_verb(spec, args, options, {}, vm, global)) return *done;

    control::RescanRequest request;
    if (auto done = read_selection(vm, request, "rescan needs exactly one of --device, --target, --all")) return *done;

    control::ControlClient client(global.socket_path);
    auto reply = client.rescan(request);
    if (!reply) return fail(kExitFailure, reply.error());
    bool ok = true;
    for (const auto& d : reply->devices) ok = ok && control::rescan_succeeded(d);
    if (vm.count("json")) {
        std::cout << control::reply_to_json_document(control::Reply{*reply});
    } else {
        for (const auto& d : reply->devices) {
            if (control::rescan_succeeded(d))
                std::cout << control::rescan_line(d) << '\n';
            else
                std::cerr << "iserctl: " << control::rescan_line(d) << '\n';
        }
    }
    return ok ? kExitOk : kExitFailure;
}

}  // namespace iser::cli
