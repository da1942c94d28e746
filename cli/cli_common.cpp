#include "cli/cli_common.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <iostream>

#include "common/iscsi_name.hpp"

namespace iser::cli {

int fail(int status, std::string_view message) {
    std::string line(message);
    for (char& c : line)
        if (c == '\n' || c == '\r') c = ' ';
    std::fprintf(stderr, "iserctl: %s\n", line.c_str());
    return status;
}

std::optional<int> parse_verb(const VerbSpec& spec, const std::vector<std::string>& args,
                              po::options_description& options, const po::positional_options_description& positional,
                              po::variables_map& vm, GlobalOptions& global) {
    options.add_options()
        ("socket", po::value<std::string>()->value_name("PATH"), "iserd control socket (default $ISERD_SOCKET or /run/iser/iserd.sock)")
        ("help,h", "show this help");
    try {
        po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return fail(kExitUsage, std::string(e.what()) + "; see 'iserctl " + spec.name + " --help'");
    }
    if (vm.count("help")) {
        std::cout << "Usage: iserctl " << spec.name << " " << spec.synopsis << "\n" << spec.summary << "\n\n" << options;
        return kExitOk;
    }
    if (vm.count("socket")) global.socket_path = vm["socket"].as<std::string>();
    if (::geteuid() != 0) return fail(kExitFailure, "iserctl must run as root");
    return std::nullopt;
}

std::optional<std::uint32_t> parse_u32(std::string_view text) {
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string human_size(std::uint64_t bytes) {
    static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    double value = double(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 6) {
        value /= 1024;
        ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f %s", value, units[unit]);
    return buf;
}

std::optional<int> check_selection(const po::variables_map& vm, const std::string& target, std::string_view usage) {
    if (int(vm.count("target")) + int(vm.count("device")) + int(vm.count("all")) != 1) return fail(kExitUsage, usage);
    if (vm.count("target")) {
        if (auto valid = iser::validate_iscsi_name(target); !valid) return fail(kExitUsage, valid.error());
    }
    if (vm.count("device") && vm["device"].as<std::string>().empty())
        return fail(kExitUsage, "--device needs a device path");
    return std::nullopt;
}

}  // namespace iser::cli
