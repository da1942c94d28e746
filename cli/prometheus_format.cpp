#include "cli/prometheus_format.hpp"

#include <optional>

namespace iser::cli {
namespace {

using control::DeviceStats;

// One metric family whose every device has at most one sample (counters and gauges).
struct Scalar {
    const char* name;
    const char* type;
    const char* help;
    // The sample's value, or nullopt when this iserd does not report it.
    std::optional<std::string> (*value)(const DeviceStats&);
};

std::optional<std::string> count(std::uint64_t v) { return std::to_string(v); }

std::optional<std::string> memory(const DeviceStats& d, std::uint64_t control::IoMemoryUse::*field) {
    if (!d.io_memory) return std::nullopt;
    return std::to_string((*d.io_memory).*field);
}

// Per-request families, before the latency histogram.
const Scalar kRequestFamilies[] = {
    {"iser_reads_total", "counter", "Read requests completed by the device, failed ones included.",
     [](const DeviceStats& d) { return count(d.io.reads); }},
    {"iser_writes_total", "counter", "Write requests completed by the device, failed ones included.",
     [](const DeviceStats& d) { return count(d.io.writes); }},
    {"iser_read_bytes_total", "counter", "Bytes read by the device's successful read requests.",
     [](const DeviceStats& d) { return count(d.io.read_bytes); }},
    {"iser_write_bytes_total", "counter", "Bytes written by the device's successful write requests.",
     [](const DeviceStats& d) { return count(d.io.write_bytes); }},
    {"iser_flushes_total", "counter", "Flush (SYNCHRONIZE CACHE) requests completed by the device.",
     [](const DeviceStats& d) { return count(d.io.flushes); }},
    {"iser_discards_total", "counter", "Discard (UNMAP) requests completed by the device.",
     [](const DeviceStats& d) { return count(d.io.discards); }},
    {"iser_write_zeroes_total", "counter", "Write-zeroes requests completed by the device.",
     [](const DeviceStats& d) { return count(d.io.write_zeroes); }},
    {"iser_io_errors_total", "counter", "Requests of the device, of any kind, that completed with an error.",
     [](const DeviceStats& d) { return count(d.io.errors); }},
};

// Device and session families, after the histogram.
const Scalar kSessionFamilies[] = {
    {"iser_device_attached_seconds", "gauge", "Seconds since the device was attached.",
     [](const DeviceStats& d) -> std::optional<std::string> { return decimal(d.uptime_ms, 1000); }},
    {"iser_session_up", "gauge",
     "1 while the sessions serving the device are logged in; 0 while reconnecting, failed or taken over.",
     [](const DeviceStats& d) { return count(d.state == "logged-in" ? 1 : 0); }},
    {"iser_sessions", "gauge", "iSCSI sessions serving the device (one per ublk queue).",
     [](const DeviceStats& d) { return count(d.sessions); }},
    {"iser_reconnects_total", "counter",
     "Replacement sessions logged in after a lost connection, by the sessions serving the device (shared by the "
     "devices of one login).",
     [](const DeviceStats& d) { return count(d.reconnects); }},
    {"iser_retries_total", "counter",
     "Commands issued again after an abort or a LUN reset, by the sessions serving the device (shared by the "
     "devices of one login).",
     [](const DeviceStats& d) { return count(d.retries); }},
    {"iser_command_timeouts_total", "counter",
     "Commands older than the command timeout, in the sessions serving the device (shared by the devices of one "
     "login).",
     [](const DeviceStats& d) { return count(d.command_timeouts); }},
    {"iser_aborts_total", "counter",
     "ABORT TASK requests sent by the sessions serving the device (shared by the devices of one login).",
     [](const DeviceStats& d) { return count(d.aborts); }},
    {"iser_lun_resets_total", "counter",
     "LOGICAL UNIT RESET requests sent by the sessions serving the device (shared by the devices of one login).",
     [](const DeviceStats& d) { return count(d.lun_resets); }},
    {"iser_io_memory_in_use_bytes", "gauge",
     "I/O memory held by requests now, in the pools of the sessions serving the device (shared by the devices of "
     "one login).",
     [](const DeviceStats& d) { return memory(d, &control::IoMemoryUse::in_use_bytes); }},
    {"iser_io_memory_committed_bytes", "gauge",
     "I/O memory the pools of the sessions serving the device have made (and pinned) so far.",
     [](const DeviceStats& d) { return memory(d, &control::IoMemoryUse::committed_bytes); }},
    {"iser_io_memory_limit_bytes", "gauge",
     "The cap of the pools of the sessions serving the device (iserd --io-memory per session).",
     [](const DeviceStats& d) { return memory(d, &control::IoMemoryUse::limit_bytes); }},
};

constexpr const char* kLatencyName = "iser_io_latency_seconds";
constexpr const char* kLatencyHelp =
    "Time from a request's arrival from the block layer or NBD client to its completion, every kind of request.";

void header(std::string& out, const char* name, const char* type, const char* help) {
    // HELP text escapes backslash and newline; ours are constants without them.
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

// device="...",target="...",lun="N"[,portal="...",transport="..."]
std::string device_labels(const DeviceStats& d) {
    std::string l = "device=\"" + escape_label_value(d.path) + "\",target=\"" + escape_label_value(d.target) +
                    "\",lun=\"" + std::to_string(d.lun) + "\"";
    if (!d.portal.empty()) l += ",portal=\"" + escape_label_value(d.portal) + "\"";
    if (!d.transport.empty()) l += ",transport=\"" + escape_label_value(d.transport) + "\"";
    return l;
}

void sample(std::string& out, std::string_view name, const std::string& labels, const std::string& value) {
    out.append(name);
    out += '{';
    out += labels;
    out += "} ";
    out += value;
    out += '\n';
}

void scalar_family(std::string& out, const Scalar& f, const std::vector<DeviceStats>& devices) {
    std::string samples;
    for (const auto& d : devices)
        if (auto v = f.value(d)) sample(samples, f.name, device_labels(d), *v);
    if (samples.empty()) return;  // nothing to say (e.g. an older iserd without the field)
    header(out, f.name, f.type, f.help);
    out += samples;
}

void latency_family(std::string& out, const std::vector<DeviceStats>& devices) {
    if (devices.empty()) return;
    header(out, kLatencyName, "histogram", kLatencyHelp);
    const std::string name = kLatencyName;
    for (const auto& d : devices) {
        const std::string labels = device_labels(d);
        for (std::uint64_t bound : latency_bucket_bounds_us())
            sample(out, name + "_bucket", labels + ",le=\"" + decimal(bound, 1000000) + "\"",
                   std::to_string(samples_below(d.io.latency, bound)));
        const std::uint64_t total = d.io.latency.total();
        sample(out, name + "_bucket", labels + ",le=\"+Inf\"", std::to_string(total));
        // An older iserd sends no sum: leave it out rather than claim 0 seconds.
        if (d.latency_sum_known) sample(out, name + "_sum", labels, decimal(d.io.latency.sum_micros(), 1000000));
        sample(out, name + "_count", labels, std::to_string(total));
    }
}

}  // namespace

const std::vector<std::uint64_t>& latency_bucket_bounds_us() {
    static const std::vector<std::uint64_t> bounds = [] {
        std::vector<std::uint64_t> b;
        for (int power = 4; power <= 25; ++power) b.push_back(std::uint64_t(1) << power);
        return b;
    }();
    return bounds;
}

std::uint64_t samples_below(const LatencyHistogram& h, std::uint64_t bound_us) {
    std::uint64_t n = 0;
    for (int b = 0; b < LatencyHistogram::kBuckets && LatencyHistogram::upper_bound(b) <= bound_us; ++b)
        n += h.counts()[b];
    return n;
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string decimal(std::uint64_t units, std::uint64_t per_one) {
    std::string whole = std::to_string(units / per_one);
    std::string fraction = std::to_string(units % per_one + per_one).substr(1);  // zero-padded digits
    return whole + "." + fraction;
}

std::string format_prometheus(const control::StatsReply& stats, bool iserd_up) {
    std::string out;
    header(out, "iser_up", "gauge", "1 when iserd answered on its control socket, 0 when it is not running.");
    out += iserd_up ? "iser_up 1\n" : "iser_up 0\n";
    if (!iserd_up) return out;
    for (const auto& f : kRequestFamilies) scalar_family(out, f, stats.devices);
    latency_family(out, stats.devices);
    for (const auto& f : kSessionFamilies) scalar_family(out, f, stats.devices);
    return out;
}

}  // namespace iser::cli
