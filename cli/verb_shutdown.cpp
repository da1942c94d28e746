// iserctl shutdown: asks iserd to exit once every session is logged out, or with --keep-devices
// to exit leaving its devices quiesced for the next iserd (an upgrade by hand).
#include "cli/verbs.hpp"
#include "control/client.hpp"

namespace iser::cli {

int run_shutdown(const VerbArgs& args, GlobalOptions global) {
    const VerbSpec spec{"shutdown", "[--keep-devices]",
                        "Asks iserd to exit once every session is logged out. With --keep-devices it exits\n"
                        "without detaching anything: the ublk devices stay (their I/O waits) and mounts stay\n"
                        "until the next iserd takes them over, as after \"systemctl restart iserd\". Start\n"
                        "the new iserd soon: waiting writers hang meanwhile. NBD devices do not survive it."};
    po::options_description options("Options");
    bool keep_devices = false;
    options.add_options()("keep-devices", po::bool_switch(&keep_devices),
                          "exit without detaching; the next iserd takes the devices over");
    po::variables_map vm;
    if (auto done = parse_verb(spec, args, options, {}, vm, global)) return *done;
    control::ControlClient client(global.socket_path);
    if (auto up = client.probe(); !up) {
        if (control::is_not_running(up.error())) return kExitOk;  // already gone
        return fail(kExitFailure, up.error());
    }
    auto done = client.shutdown(keep_devices);
    if (!done) return fail(kExitFailure, done.error());
    return kExitOk;
}

}  // namespace iser::cli
