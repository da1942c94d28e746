// iserctl wait [--timeout TIME] [--json] [DEVICE|IQN...]: blocks until the sessions (all, or
// those holding the given devices or targets) are logged in, showing progress while they
// reconnect or are being taken over by a restarted iserd. For scripts after a fault or an iserd
// restart, and for operators who want to see a reconnect happen.
#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/verbs.hpp"
#include "common/duration.hpp"
#include "control/client.hpp"

namespace iser::cli {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(500);
// A state that does not change is repeated this often, so a long wait visibly progresses.
constexpr auto kRepeat = std::chrono::seconds(5);

bool selected(const control::SessionInfo& s, const std::vector<std::string>& wanted) {
    if (wanted.empty()) return true;
    for (const auto& w : wanted) {
        if (s.target == w) return true;
        for (const auto& l : s.luns)
            if (l.path == w) return true;
    }
    return false;
}

std::string describe(const control::SessionInfo& s) {
    std::string devices;
    for (const auto& l : s.luns) devices += (devices.empty() ? "" : ", ") + l.path;
    std::string line = s.target + (devices.empty() ? "" : " (" + devices + ")") + ": " + s.state;
    if (!s.detail.empty()) line += " (" + s.detail + ")";
    return line;
}

}  // namespace

int run_wait(const VerbArgs& args, GlobalOptions global) {
    const VerbSpec spec{"wait", "[--timeout TIME] [--json] [DEVICE|IQN...]",
                        "Waits until every session (or those of the given devices or targets) is logged in,\n"
                        "printing progress on stderr while they reconnect or are taken over after an iserd restart."};
    po::options_description options("Options");
    options.add_options()
        ("timeout", po::value<std::string>()->default_value("5m")->value_name("TIME"), "give up after TIME (exit 1)")
        ("quiet,q", "no progress lines")
        ("json", "print one JSON document at the end")
        ("which", po::value<std::vector<std::string>>()->value_name("DEVICE|IQN"), "only these (positional)");
    po::positional_options_description positional;
    positional.add("which", -1);
    po::variables_map vm;
    if (auto done = parse_verb(spec, args, options, positional, vm, global)) return *done;
    auto timeout = parse_duration(vm["timeout"].as<std::string>());
    if (!timeout) return fail(kExitUsage, "--timeout: " + timeout.error().message);
    std::vector<std::string> wanted;
    if (vm.count("which")) wanted = vm["which"].as<std::vector<std::string>>();
    const bool quiet = vm.count("quiet") > 0;

    control::ControlClient client(global.socket_path);
    const auto started = std::chrono::steady_clock::now();
    std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> shown;  // key -> last line
    for (;;) {
        auto list = client.list();
        if (!list) return fail(kExitFailure, list.error());
        std::vector<const control::SessionInfo*> mine, pending;
        for (const auto& s : list->sessions) {
            if (!selected(s, wanted)) continue;
            mine.push_back(&s);
            if (s.state != "logged-in") pending.push_back(&s);
        }
        if (mine.empty()) {
            std::string what;
            for (const auto& w : wanted) what += (what.empty() ? "" : ", ") + w;
            return fail(kExitFailure, wanted.empty() ? "no sessions (see 'iserctl list')"
                                                     : "no session holds " + what + " (see 'iserctl list')");
        }
        const auto now = std::chrono::steady_clock::now();
        const double waited = std::chrono::duration<double>(now - started).count();
        if (pending.empty()) {
            if (vm.count("json")) {
                nlohmann::ordered_json sessions = nlohmann::ordered_json::array();
                for (const auto* s : mine) sessions.push_back({{"target", s->target}, {"state", s->state}});
                std::cout << nlohmann::ordered_json{{"waited_s", waited}, {"sessions", sessions}}.dump(2) << '\n';
            } else {
                std::cout << mine.size() << (mine.size() == 1 ? " session" : " sessions") << " logged in after "
                          << int(waited) << " s\n";
            }
            return kExitOk;
        }
        if (now - started >= *timeout) {
            return fail(kExitFailure, "timed out after " + vm["timeout"].as<std::string>() + ": " + describe(*pending.front()) +
                                          (pending.size() > 1 ? " and " + std::to_string(pending.size() - 1) + " more" : ""));
        }
        if (!quiet) {
            for (const auto* s : pending) {
                const std::string key = s->target + "|" + (s->luns.empty() ? "" : s->luns.front().path);
                const std::string line = describe(*s);
                auto it = shown.find(key);
                // The detail counts seconds: compare without it, repeat every kRepeat anyway.
                const std::string state_key = s->state;
                if (it == shown.end() || it->second.first != state_key || now - it->second.second >= kRepeat) {
                    std::cerr << "iserctl: wait: " << line << std::endl;
                    shown[key] = {state_key, now};
                }
            }
        }
        std::this_thread::sleep_for(kPoll);
    }
}

}  // namespace iser::cli
