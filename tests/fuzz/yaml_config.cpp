// Fuzzes the iser.yaml loader with arbitrary bytes: parse_config must return a Result (never
// throw, crash or leak), every error line must be "SOURCE:LINE: ...", and an accepted file must
// plan without conflicts on a fresh system. The CHAP secret-file check is a pure stand-in (no
// file I/O): paths containing "open" are refused like a mode-0644 file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/loader.hpp"
#include "config/plan.hpp"

using namespace iser::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) return 0;  // a config file is small; bigger inputs only slow the fuzzer
    std::string_view text(reinterpret_cast<const char*>(data), size);
    LoadOptions options;
    options.base_directory = "/etc/iser";
    options.check_secret_file = [](const std::string& path) -> std::optional<std::string> {
        if (path.find("open") != std::string::npos) return path + " is accessible by group or others (mode 0644)";
        return std::nullopt;
    };
    auto config = parse_config(text, "fuzz.yaml", options);
    if (!config) {
        std::string_view rest = config.error().message;
        while (!rest.empty()) {
            std::string_view line = rest.substr(0, rest.find('\n'));
            if (line.substr(0, 10) != "fuzz.yaml:") std::abort();
            rest.remove_prefix(std::min(rest.size(), line.size() + 1));
        }
        return 0;
    }
    SystemState fresh;
    Plan plan = make_plan(*config, fresh);
    if (!plan.conflicts.empty()) std::abort();
    for (const auto& step : plan.steps) {
        if (describe(step).empty()) std::abort();
        for (std::size_t before : step.after)
            if (before >= plan.steps.size()) std::abort();
    }
    return 0;
}
