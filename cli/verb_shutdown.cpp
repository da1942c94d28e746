// iserctl shutdown: asks iserd to exit once every session is logged out.
#include "cli/verbs.hpp"
#include "control/client.hpp"

namespace iser::cli {

int run_shutdown(const VerbArgs& args, GlobalOptions global) {
    const VerbSpec spec{"shutdown", "", "Asks iserd to exit once every session is logged out."};
    po::options_description options("Options");
    po::variables_map vm;
    if (auto done = parse_verb(spec, args, options, {}, vm, global)) return *done;
    auto done = control::ControlClient(global.socket_path).shutdown();
    if (!done && !control::is_not_running(done.error())) return fail(kExitFailure, done.error());
    return kExitOk;
}

}  // namespace iser::cli
