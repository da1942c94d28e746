// iserctl shutdown: asks iserd to exit once every session is logged out.
#include "cli/verbs.hpp"
#include "control/client.hpp"

namespace iser::cli {

int run_shutdown(const VerbArgs& args, GlobalOptions global) {
    const VerbSpec spec{"shutdown", "", "Asks iserd to exit once every session is logged out."};
    po::options_description options("Options");
    po::variables_map vm;
    if (auto done = parse_verb(spec, args, options, {}, vm, global)) return *done;
    control::ControlClient client(global.socket_path);
    if (auto up = client.probe(); !up) {
        if (control::is_not_running(up.error())) return kExitOk;  // already gone
        return fail(kExitFailure, up.error());
    }
    auto done = client.shutdown();
    if (!done) return fail(kExitFailure, done.error());
    return kExitOk;
}

}  // namespace iser::cli
