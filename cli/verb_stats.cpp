// iserctl stats [--interval TIME] [--count N] [--format text|json|prometheus] [DEVICE...]:
// per-device IOPS, bandwidth, latency percentiles, errors, retries and reconnects. iserd keeps
// cumulative counters and a latency histogram per device; two snapshots an interval apart give
// rates and the percentiles of just that interval (--interval 0: everything since the device
// was attached). --format prometheus prints one snapshot of the cumulative counters instead
// (Prometheus computes its own rates), optionally into a file replaced atomically (--output),
// for node_exporter's textfile collector (systemd/iser-metrics.service).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/atomic_file.hpp"
#include "cli/prometheus_format.hpp"
#include "cli/verbs.hpp"
#include "common/duration.hpp"
#include "control/client.hpp"

namespace iser::cli {
namespace {

struct Row {
    control::DeviceStats now;
    IoStats delta;              // over the interval
    double seconds = 0;         // the interval (or uptime)
    std::uint64_t reconnects = 0, retries = 0, timeouts = 0;
};

double per_second(std::uint64_t n, double seconds) { return seconds > 0 ? double(n) / seconds : 0.0; }

nlohmann::ordered_json row_json(const Row& r) {
    const auto& d = r.now;
    return {{"target", d.target},
            {"lun", d.lun},
            {"path", d.path},
            {"state", d.state},
            {"sessions", d.sessions},
            {"interval_s", r.seconds},
            {"read_iops", per_second(r.delta.reads, r.seconds)},
            {"write_iops", per_second(r.delta.writes, r.seconds)},
            {"read_mb_s", per_second(r.delta.read_bytes, r.seconds) / 1e6},
            {"write_mb_s", per_second(r.delta.write_bytes, r.seconds) / 1e6},
            {"latency_us", {{"p50", r.delta.latency.percentile(0.50)},
                            {"p90", r.delta.latency.percentile(0.90)},
                            {"p99", r.delta.latency.percentile(0.99)},
                            {"p99.9", r.delta.latency.percentile(0.999)}}},
            {"errors", r.delta.errors},
            {"retries", r.retries},
            {"reconnects", r.reconnects},
            {"command_timeouts", r.timeouts},
            {"totals", {{"reads", d.io.reads},
                        {"writes", d.io.writes},
                        {"flushes", d.io.flushes},
                        {"discards", d.io.discards},
                        {"write_zeroes", d.io.write_zeroes},
                        {"read_bytes", d.io.read_bytes},
                        {"write_bytes", d.io.write_bytes},
                        {"errors", d.io.errors},
                        {"reconnects", d.reconnects},
                        {"retries", d.retries},
                        {"command_timeouts", d.command_timeouts},
                        {"aborts", d.aborts},
                        {"lun_resets", d.lun_resets}}}};
}

void print_table(const std::vector<Row>& rows) {
    std::printf("%-14s %-12s %9s %9s %8s %8s %8s %8s %8s %6s %6s %6s\n", "DEVICE", "STATE", "r/s", "w/s", "rMB/s",
                "wMB/s", "p50us", "p99us", "p99.9us", "errors", "retry", "reconn");
    for (const auto& r : rows) {
        std::printf("%-14s %-12s %9.0f %9.0f %8.1f %8.1f %8llu %8llu %8llu %6llu %6llu %6llu\n", r.now.path.c_str(),
                    r.now.state.c_str(), per_second(r.delta.reads, r.seconds), per_second(r.delta.writes, r.seconds),
                    per_second(r.delta.read_bytes, r.seconds) / 1e6, per_second(r.delta.write_bytes, r.seconds) / 1e6,
                    (unsigned long long)r.delta.latency.percentile(0.50),
                    (unsigned long long)r.delta.latency.percentile(0.99),
                    (unsigned long long)r.delta.latency.percentile(0.999), (unsigned long long)r.delta.errors,
                    (unsigned long long)r.retries, (unsigned long long)r.reconnects);
    }
    std::fflush(stdout);
}

bool wanted(const control::DeviceStats& d, const std::vector<std::string>& devices) {
    if (devices.empty()) return true;
    for (const auto& want : devices)
        if (want == d.path) return true;
    return false;
}

// --format prometheus: one snapshot. With no iserd running it still succeeds, with `iser_up 0`
// alone, so that a textfile collector's file says so instead of keeping the last values.
// The error for the first DEVICE asked for that iserd does not serve, if any.
std::optional<std::string> missing_device(const control::StatsReply& reply, const std::vector<std::string>& devices) {
    for (const auto& want : devices) {
        bool found = false;
        for (const auto& d : reply.devices) found = found || d.path == want;
        if (!found) return "no attached device " + want + " (see 'iserctl list')";
    }
    return std::nullopt;
}

int print_prometheus(const control::ControlClient& client, const std::vector<std::string>& devices,
                     const std::string& output) {
    control::StatsReply stats;
    bool up = true;
    if (auto probed = client.probe(); !probed) {
        if (!control::is_not_running(probed.error())) return fail(kExitFailure, probed.error());
        up = false;
    } else {
        auto reply = client.stats();
        if (!reply) return fail(kExitFailure, reply.error());
        if (auto missing = missing_device(*reply, devices)) return fail(kExitFailure, *missing);
        for (auto& d : reply->devices)
            if (wanted(d, devices)) stats.devices.push_back(std::move(d));
    }
    const std::string text = format_prometheus(stats, up);
    if (output.empty()) {
        std::cout << text << std::flush;
        return std::cout ? kExitOk : fail(kExitFailure, "cannot write to standard output");
    }
    if (auto written = write_file_atomically(output, text, 0644); !written) return fail(kExitFailure, written.error());
    return kExitOk;
}

}  // namespace

int run_stats(const VerbArgs& args, GlobalOptions global) {
    const VerbSpec spec{"stats", "[--interval TIME] [--count N] [--format text|json|prometheus] [DEVICE...]",
                        "Shows per-device IOPS, bandwidth, latency percentiles, errors, retries and reconnects,\n"
                        "measured over --interval (default 1s; 0 = since each device was attached).\n"
                        "--format prometheus prints one snapshot of the cumulative counters (no interval)."};
    po::options_description options("Options");
    options.add_options()
        ("interval", po::value<std::string>()->default_value("1s")->value_name("TIME"), "measure over TIME (0: since attach)")
        ("count", po::value<std::string>()->default_value("1")->value_name("N"), "print N reports, one per interval")
        ("format", po::value<std::string>()->value_name("text|json|prometheus"),
         "text (a table, the default), json (one document per report) or prometheus (one snapshot in the text "
         "exposition format)")
        ("json", "the same as --format json")
        ("output", po::value<std::string>()->value_name("FILE"),
         "with --format prometheus: replace FILE atomically (temporary file, then rename; mode 0644) instead of "
         "printing")
        ("device", po::value<std::vector<std::string>>()->value_name("DEVICE"), "only these devices (positional)");
    po::positional_options_description positional;
    positional.add("device", -1);
    po::variables_map vm;
    if (auto done = parse_verb(spec, args, options, positional, vm, global)) return *done;

    std::string format = vm.count("format") ? vm["format"].as<std::string>() : vm.count("json") ? "json" : "text";
    if (format != "text" && format != "json" && format != "prometheus")
        return fail(kExitUsage, "--format must be text, json or prometheus, not '" + format + "'");
    if (vm.count("json") && format != "json")
        return fail(kExitUsage, "--json is --format json; it cannot go with --format " + format);
    if (vm.count("output") && format != "prometheus") return fail(kExitUsage, "--output needs --format prometheus");
    if (vm.count("output") && vm["output"].as<std::string>().empty()) return fail(kExitUsage, "--output needs a file");
    if (format == "prometheus" && (!vm["interval"].defaulted() || !vm["count"].defaulted()))
        return fail(kExitUsage,
                    "--format prometheus prints one snapshot of the counters since attach; it takes no --interval "
                    "or --count (Prometheus computes the rates)");

    auto interval = parse_duration(vm["interval"].as<std::string>());
    if (!interval) return fail(kExitUsage, "--interval: " + interval.error().message);
    auto count = parse_u32(vm["count"].as<std::string>());
    if (!count || *count == 0 || *count > 1000000)
        return fail(kExitUsage, "--count must be a number from 1 to 1000000, not '" + vm["count"].as<std::string>() + "'");
    if (interval->count() == 0 && *count > 1) return fail(kExitUsage, "--count needs a non-zero --interval");
    std::vector<std::string> devices;
    if (vm.count("device")) devices = vm["device"].as<std::vector<std::string>>();

    control::ControlClient client(global.socket_path);
    if (format == "prometheus") return print_prometheus(client, devices, vm.count("output") ? vm["output"].as<std::string>() : "");
    auto before = client.stats();
    if (!before) return fail(kExitFailure, before.error());
    if (auto missing = missing_device(*before, devices)) return fail(kExitFailure, *missing);
    for (std::uint32_t report = 0; report < *count; ++report) {
        std::vector<Row> rows;
        if (interval->count() == 0) {
            for (const auto& d : before->devices) {
                if (!wanted(d, devices)) continue;
                rows.push_back({d, d.io, double(d.uptime_ms) / 1000.0, d.reconnects, d.retries, d.command_timeouts});
            }
        } else {
            auto started = std::chrono::steady_clock::now();
            std::this_thread::sleep_for(*interval);
            auto after = client.stats();
            if (!after) return fail(kExitFailure, after.error());
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            for (const auto& d : after->devices) {
                if (!wanted(d, devices)) continue;
                Row r{d, d.io, seconds, d.reconnects, d.retries, d.command_timeouts};
                for (const auto& old : before->devices) {
                    if (old.path != d.path || old.uptime_ms > d.uptime_ms) continue;  // same device, not re-attached
                    r.delta -= old.io;
                    r.reconnects -= std::min(r.reconnects, old.reconnects);
                    r.retries -= std::min(r.retries, old.retries);
                    r.timeouts -= std::min(r.timeouts, old.command_timeouts);
                }
                rows.push_back(std::move(r));
            }
            before = std::move(after);
        }
        if (format == "json") {
            nlohmann::ordered_json doc = {{"devices", nlohmann::ordered_json::array()}};
            for (const auto& r : rows) doc["devices"].push_back(row_json(r));
            std::cout << doc.dump(2) << std::endl;
        } else if (rows.empty()) {
            std::cout << "No devices." << std::endl;
        } else {
            if (report) std::cout << '\n';
            print_table(rows);
        }
    }
    return kExitOk;
}

}  // namespace iser::cli
