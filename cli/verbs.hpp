// One function per iserctl verb: gets the arguments after the verb name, returns the exit status.
#pragma once
#include <string>
#include <vector>

#include "cli/cli_common.hpp"

namespace iser::cli {

using VerbArgs = std::vector<std::string>;

int run_discover(const VerbArgs& args, GlobalOptions global);
int run_login(const VerbArgs& args, GlobalOptions global);
int run_logout(const VerbArgs& args, GlobalOptions global);
int run_list(const VerbArgs& args, GlobalOptions global);
int run_shutdown(const VerbArgs& args, GlobalOptions global);
int run_apply(const VerbArgs& args, GlobalOptions global);
int run_stats(const VerbArgs& args, GlobalOptions global);
int run_wait(const VerbArgs& args, GlobalOptions global);
int run_rescan(const VerbArgs& args, GlobalOptions global);

}  // namespace iser::cli
