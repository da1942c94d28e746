// What every iserctl verb shares: exit statuses, the one-line error rule, option parsing with
// --help, the root check and the connection to iserd.
#pragma once
#include <boost/program_options.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace iser::cli {

namespace po = boost::program_options;

enum ExitStatus : int { kExitOk = 0, kExitFailure = 1, kExitUsage = 2 };

struct GlobalOptions {
    std::string socket_path;  // --socket, else $ISERD_SOCKET, else /run/iser/iserd.sock
};

// Prints "iserctl: MESSAGE" as one line on stderr and returns `status`.
int fail(int status, std::string_view message);
inline int fail(int status, const Error& e) { return fail(status, e.message); }

struct VerbSpec {
    const char* name;      // "login"
    const char* synopsis;  // "--portal PORTAL --target IQN [options]"
    const char* summary;   // one sentence
};

// Parses a verb's arguments against `options` (to which --help and --socket are added).
// Returns an exit status when the verb must stop now: 0 after --help, 2 on a usage error,
// 1 when not run as root. Otherwise fills `vm` and returns nullopt.
std::optional<int> parse_verb(const VerbSpec& spec, const std::vector<std::string>& args,
                              po::options_description& options, const po::positional_options_description& positional,
                              po::variables_map& vm, GlobalOptions& global);

// --target IQN | --device DEV | --all into a request with those three fields (logout, rescan).
// Returns the exit status on a usage error (`usage` when not exactly one is given).
template <class R>
std::optional<int> read_selection(const po::variables_map& vm, R& request, std::string_view usage);

// Strict decimal parsing (Boost would read "-1" as 4294967295).
std::optional<std::uint32_t> parse_u32(std::string_view text);

// "10.0 GiB", "512 B".
std::string human_size(std::uint64_t bytes);

std::optional<int> check_selection(const po::variables_map& vm, const std::string& target, std::string_view usage);

template <class R>
std::optional<int> read_selection(const po::variables_map& vm, R& request, std::string_view usage) {
    if (vm.count("target")) request.target = vm["target"].template as<std::string>();
    if (vm.count("device")) request.device = vm["device"].template as<std::string>();
    request.all = vm.count("all") > 0;
    return check_selection(vm, request.target, usage);
}

}  // namespace iser::cli
