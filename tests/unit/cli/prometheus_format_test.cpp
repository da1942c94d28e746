// The exposition text of `iserctl stats --format prometheus`: label escaping, exact cumulative
// buckets from LatencyHistogram, the families and their types, and what an older iserd's reply
// (no portal, no latency sum, no I/O memory) gives.
#include <doctest/doctest.h>

#include <map>
#include <sstream>

#include "cli/prometheus_format.hpp"

using namespace iser;
using namespace iser::cli;

namespace {

control::DeviceStats device() {
    control::DeviceStats d;
    d.target = "iqn.2003-01.org.example:disk1";
    d.path = "/dev/ublkb0";
    d.state = "logged-in";
    d.lun = 1;
    d.sessions = 2;
    d.uptime_ms = 12345;
    d.portal = "192.0.2.10:3260";
    d.transport = "iser";
    d.io_memory = control::IoMemoryUse{8192, 4u << 20, 64u << 20};
    d.reconnects = 3;
    return d;
}

// "name{labels}" -> value, for every sample line.
std::map<std::string, std::string> samples(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto space = line.rfind(' ');
        out[line.substr(0, space)] = line.substr(space + 1);
    }
    return out;
}

const std::string kLabels =
    R"(device="/dev/ublkb0",target="iqn.2003-01.org.example:disk1",lun="1",portal="192.0.2.10:3260",transport="iser")";

}  // namespace

TEST_CASE("label values escape backslash, double quote and newline, nothing else") {
    CHECK(escape_label_value("plain:1.2-3") == "plain:1.2-3");
    CHECK(escape_label_value(R"(a\b)") == R"(a\\b)");
    CHECK(escape_label_value(R"(say "hi")") == R"(say \"hi\")");
    CHECK(escape_label_value("two\nlines") == R"(two\nlines)");
    CHECK(escape_label_value("tab\there") == "tab\there");
}

TEST_CASE("decimal prints exact fractions") {
    CHECK(decimal(16, 1000000) == "0.000016");
    CHECK(decimal(33554432, 1000000) == "33.554432");
    CHECK(decimal(12345, 1000) == "12.345");
    CHECK(decimal(0, 1000) == "0.000");
}

TEST_CASE("latency bounds are histogram boundaries, so cumulative counts are exact") {
    const auto& bounds = latency_bucket_bounds_us();
    REQUIRE(bounds.size() == 22);
    CHECK(bounds.front() == 16);
    CHECK(bounds.back() == (1u << 25));
    for (auto b : bounds) {
        CAPTURE(b);
        // b is where a bucket starts: no bucket straddles it.
        CHECK(LatencyHistogram::lower_bound(LatencyHistogram::bucket_of(b)) == b);
    }
    LatencyHistogram h;
    for (std::uint64_t v : {0, 15, 16, 31, 32, 100, 1000, 1023, 1024, 5000000}) h.record(v);
    CHECK(samples_below(h, 16) == 2);    // 0, 15
    CHECK(samples_below(h, 32) == 4);    // + 16, 31
    CHECK(samples_below(h, 128) == 6);   // + 32, 100
    CHECK(samples_below(h, 1024) == 8);  // + 1000, 1023
    CHECK(samples_below(h, 2048) == 9);  // + 1024
    CHECK(samples_below(h, 1u << 25) == 10);
    CHECK(h.sum_micros() == 0 + 15 + 16 + 31 + 32 + 100 + 1000 + 1023 + 1024 + 5000000);
}

TEST_CASE("one device: every family with its type, cumulative buckets ending at +Inf") {
    control::StatsReply reply;
    auto d = device();
    for (int i = 0; i < 10; ++i) d.io.record(BlockOp::Read, 4096, 20, 0);      // 16..32 µs
    for (int i = 0; i < 5; ++i) d.io.record(BlockOp::Write, 8192, 3000, 0);    // 2048..4096 µs
    d.io.record(BlockOp::Write, 8192, 40000000, EIO);                           // 40 s: beyond the last bound
    d.io.record(BlockOp::Flush, 0, 100, 0);
    reply.devices.push_back(d);
    const std::string text = format_prometheus(reply, true);
    auto s = samples(text);

    CHECK(s["iser_up"] == "1");
    CHECK(s["iser_reads_total{" + kLabels + "}"] == "10");
    CHECK(s["iser_writes_total{" + kLabels + "}"] == "6");
    CHECK(s["iser_read_bytes_total{" + kLabels + "}"] == "40960");
    CHECK(s["iser_write_bytes_total{" + kLabels + "}"] == "40960");  // the failed write moved no bytes
    CHECK(s["iser_flushes_total{" + kLabels + "}"] == "1");
    CHECK(s["iser_io_errors_total{" + kLabels + "}"] == "1");
    CHECK(s["iser_reconnects_total{" + kLabels + "}"] == "3");
    CHECK(s["iser_session_up{" + kLabels + "}"] == "1");
    CHECK(s["iser_sessions{" + kLabels + "}"] == "2");
    CHECK(s["iser_device_attached_seconds{" + kLabels + "}"] == "12.345");
    CHECK(s["iser_io_memory_in_use_bytes{" + kLabels + "}"] == "8192");
    CHECK(s["iser_io_memory_committed_bytes{" + kLabels + "}"] == "4194304");
    CHECK(s["iser_io_memory_limit_bytes{" + kLabels + "}"] == "67108864");

    const std::string bucket = "iser_io_latency_seconds_bucket{" + kLabels + ",le=";
    CHECK(s[bucket + "\"0.000016\"}"] == "0");
    CHECK(s[bucket + "\"0.000032\"}"] == "10");
    CHECK(s[bucket + "\"0.000128\"}"] == "11");  // + the flush
    CHECK(s[bucket + "\"0.002048\"}"] == "11");
    CHECK(s[bucket + "\"0.004096\"}"] == "16");
    CHECK(s[bucket + "\"33.554432\"}"] == "16");
    CHECK(s[bucket + "\"+Inf\"}"] == "17");
    CHECK(s["iser_io_latency_seconds_count{" + kLabels + "}"] == "17");
    CHECK(s["iser_io_latency_seconds_sum{" + kLabels + "}"] == "40.015300");  // 200 + 15000 + 40000000 + 100 µs

    // Buckets in increasing le, each at least the one before, +Inf last.
    std::istringstream in(text);
    std::string line, last_le;
    std::uint64_t previous = 0;
    int buckets = 0;
    while (std::getline(in, line)) {
        if (line.rfind("iser_io_latency_seconds_bucket{", 0) != 0) continue;
        auto value = std::stoull(line.substr(line.rfind(' ') + 1));
        CHECK(value >= previous);
        previous = value;
        last_le = line.substr(line.find("le=") + 3);
        ++buckets;
    }
    CHECK(buckets == 23);
    CHECK(last_le.rfind("\"+Inf\"}", 0) == 0);

    // TYPE lines: counters end in _total, the histogram is one.
    CHECK(text.find("# TYPE iser_reads_total counter\n") != std::string::npos);
    CHECK(text.find("# TYPE iser_io_latency_seconds histogram\n") != std::string::npos);
    CHECK(text.find("# TYPE iser_session_up gauge\n") != std::string::npos);
    CHECK(text.find("# TYPE iser_io_memory_in_use_bytes gauge\n") != std::string::npos);
    CHECK(text.find("# TYPE iser_up gauge\n") != std::string::npos);
    for (std::size_t at = text.find(" counter\n"); at != std::string::npos; at = text.find(" counter\n", at + 1)) {
        auto start = text.rfind("# TYPE ", at);
        CHECK(text.substr(at - 6, 6) == "_total");
        CHECK(start != std::string::npos);
    }
    // Each family's HELP and TYPE come once, however many devices.
    reply.devices.push_back(d);
    reply.devices.back().path = "/dev/ublkb1";
    const std::string two = format_prometheus(reply, true);
    std::size_t helps = 0;
    for (std::size_t at = two.find("# HELP iser_reads_total "); at != std::string::npos;
         at = two.find("# HELP iser_reads_total ", at + 1))
        ++helps;
    CHECK(helps == 1);
    CHECK(two.find("device=\"/dev/ublkb1\"") != std::string::npos);
}

TEST_CASE("a state other than logged-in is iser_session_up 0; odd label values are escaped") {
    control::StatsReply reply;
    auto d = device();
    d.state = "reconnecting";
    d.path = "nbd+unix:///lun1?socket=/run/a \"b\"\\c";
    reply.devices.push_back(d);
    const std::string text = format_prometheus(reply, true);
    CHECK(text.find(R"(iser_session_up{device="nbd+unix:///lun1?socket=/run/a \"b\"\\c",)") != std::string::npos);
    CHECK(text.find("} 0\n", text.find("iser_session_up{")) != std::string::npos);
}

TEST_CASE("an older iserd: no portal, transport, latency sum or I/O memory in the reply") {
    control::StatsReply reply;
    auto d = device();
    d.portal.clear();
    d.transport.clear();
    d.latency_sum_known = false;
    d.io_memory.reset();
    d.io.record(BlockOp::Read, 512, 10, 0);
    reply.devices.push_back(d);
    const std::string text = format_prometheus(reply, true);
    CHECK(text.find(R"(iser_reads_total{device="/dev/ublkb0",target="iqn.2003-01.org.example:disk1",lun="1"} 1)") !=
          std::string::npos);
    CHECK(text.find("iser_io_latency_seconds_sum") == std::string::npos);
    CHECK(text.find("iser_io_latency_seconds_count{") != std::string::npos);
    CHECK(text.find("iser_io_memory") == std::string::npos);  // no family without samples
}

TEST_CASE("no iserd: iser_up 0 alone; no devices: iser_up 1 alone") {
    CHECK(format_prometheus({}, false) ==
          "# HELP iser_up 1 when iserd answered on its control socket, 0 when it is not running.\n"
          "# TYPE iser_up gauge\niser_up 0\n");
    const std::string none = format_prometheus({}, true);
    CHECK(none.find("iser_up 1\n") != std::string::npos);
    CHECK(none.find("iser_reads_total") == std::string::npos);
}
