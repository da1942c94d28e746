// iserctl apply [-c FILE] [--dry-run] [--json]: makes the sessions, devices and mounts match
// /etc/iser/iser.yaml (see iser.yaml(5)). Idempotent: when the system matches, nothing happens.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/apply_runner.hpp"
#include "cli/apply_state.hpp"
#include "cli/verbs.hpp"
#include "config/load_file.hpp"
#include "config/plan.hpp"

namespace iser::cli {
namespace {

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof(buf), "\\u%04x", c);
                out += buf;
            } else {
                out += char(c);
            }
        }
    }
    return out + "\"";
}

// {"config":..., "dry_run":..., "matches":..., "steps":[...], "conflicts":[...]}
std::string to_json(const std::string& file, bool dry_run, bool matches, const config::Plan& plan,
                    const std::vector<StepResult>& results) {
    std::ostringstream out;
    out << "{\n  \"config\": " << json_string(file) << ",\n  \"dry_run\": " << (dry_run ? "true" : "false")
        << ",\n  \"matches\": " << (matches ? "true" : "false") << ",\n  \"steps\": [";
    for (std::size_t i = 0; i < plan.steps.size(); ++i) {
        const auto& s = plan.steps[i];
        const StepResult& r = results[i];
        out << (i ? "," : "") << "\n    {\"step\": " << json_string(config::step_name(s.kind))
            << ", \"description\": " << json_string(config::describe(s));
        if (!s.target.empty()) out << ", \"target\": " << json_string(s.target);
        if (s.lun) out << ", \"lun\": " << *s.lun;
        std::string device = r.device.empty() ? s.device : r.device;
        if (!device.empty()) out << ", \"device\": " << json_string(device);
        if (!s.mountpoint.empty()) out << ", \"mountpoint\": " << json_string(s.mountpoint);
        out << ", \"result\": " << json_string(outcome_name(r.outcome));
        if (!r.message.empty()) out << ", \"message\": " << json_string(r.message);
        out << "}";
    }
    out << (plan.steps.empty() ? "" : "\n  ") << "],\n  \"conflicts\": [";
    for (std::size_t i = 0; i < plan.conflicts.size(); ++i)
        out << (i ? ", " : "") << json_string(plan.conflicts[i]);
    out << "]\n}\n";
    return out.str();
}

}  // namespace

int run_apply(const VerbArgs& args, GlobalOptions global) {
    const VerbSpec spec{
        "apply", "[-c FILE] [--dry-run] [--json]",
        "Makes iserd's sessions, the block devices and their mounts match the configuration file:\n"
        "logs in to missing targets and LUNs, creates file systems only where mkfs-if-empty asks for\n"
        "it and the device has no signature, creates mountpoints and mounts; unmounts and logs out\n"
        "what the file no longer lists (sessions of targets not in the file are logged out; mounts\n"
        "of iserd's devices the file does not list are unmounted). A mountpoint holding another\n"
        "device is reported, never unmounted. Running it again when the system matches does nothing.\n"
        "Exit status 0 when the system matches the file, 1 when a step failed, a conflict remains\n"
        "or the file is invalid (one 'FILE:LINE: problem' line each), 2 on a usage error.\n"
        "See iser.yaml(5) for the file format."};
    po::options_description options("Options");
    options.add_options()
        ("config,c", po::value<std::string>()->default_value(config::kDefaultConfigPath)->value_name("FILE"),
         "configuration file")
        ("dry-run,n", "print the steps, one per line, and change nothing")
        ("json", "print the plan (and with it each step's result) as one JSON document");
    po::variables_map vm;
    if (auto done = parse_verb(spec, args, options, {}, vm, global)) return *done;
    const std::string file = vm["config"].as<std::string>();
    const bool dry_run = vm.count("dry-run") > 0;
    const bool json = vm.count("json") > 0;

    auto loaded = config::load_config_file(file);
    if (!loaded) {
        std::istringstream lines(loaded.error().message);
        for (std::string line; std::getline(lines, line);) fail(kExitFailure, line);
        return kExitFailure;
    }
    control::ControlClient client(global.socket_path);
    auto state = collect_state(*loaded, client);
    if (!state) return fail(kExitFailure, state.error());
    const config::Plan plan = config::make_plan(*loaded, *state);

    std::vector<StepResult> results(plan.steps.size());
    if (!dry_run) results = run_plan(plan, client);
    for (const auto& conflict : plan.conflicts) fail(kExitFailure, conflict);
    bool failed = !plan.conflicts.empty();
    for (const auto& r : results)
        failed = failed || r.outcome == StepOutcome::failed || r.outcome == StepOutcome::skipped;

    if (json) {
        std::cout << to_json(file, dry_run, !failed && (dry_run ? plan.steps.empty() : true), plan, results);
    } else if (dry_run) {
        for (const auto& step : plan.steps) std::cout << config::describe(step) << '\n';
        if (plan.steps.empty() && plan.conflicts.empty()) std::cout << "Nothing to do: the system matches " << file << ".\n";
    } else {
        for (std::size_t i = 0; i < plan.steps.size(); ++i)
            if (results[i].outcome == StepOutcome::ok)
                std::cout << config::describe(plan.steps[i])
                          << (results[i].message.empty() ? "" : " (" + results[i].message + ")") << '\n';
        if (plan.steps.empty() && plan.conflicts.empty()) std::cout << "Nothing to do: the system matches " << file << ".\n";
    }
    std::cout.flush();
    if (failed) {
        std::size_t bad = plan.conflicts.size();
        for (const auto& r : results) bad += r.outcome == StepOutcome::failed || r.outcome == StepOutcome::skipped;
        return fail(kExitFailure, "apply: the system does not match " + file + " (" + std::to_string(bad) +
                                      (bad == 1 ? " problem)" : " problems)"));
    }
    return kExitOk;
}

}  // namespace iser::cli
