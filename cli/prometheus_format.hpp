// `iserctl stats --format prometheus`: one snapshot of iserd's cumulative counters in the
// Prometheus text exposition format (version 0.0.4, the one node_exporter's textfile collector
// reads; its # HELP / # TYPE lines are also what OpenMetrics parsers accept). Pure text
// formatting, no I/O, so it is unit-tested on its own.
//
// Every device series carries the labels device, target, lun and, from an iserd that reports
// them, portal and transport. Counters end in _total, sizes are in bytes and times in seconds.
// The recovery counters, the session state and the I/O memory belong to the sessions serving a
// device, which all devices of one login share: they repeat on each of those devices, so do not
// sum them across the devices of a target.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/io_stats.hpp"
#include "control/control_api.hpp"

namespace iser::cli {

// The `le` bounds of iser_io_latency_seconds, in microseconds: powers of two from 16 µs to
// 2^25 µs (33.6 s). Each is a bucket boundary of LatencyHistogram, so the cumulative counts
// are exact, not interpolated.
const std::vector<std::uint64_t>& latency_bucket_bounds_us();

// Samples of `h` below `bound_us` (bound_us must be a bucket boundary of LatencyHistogram).
std::uint64_t samples_below(const LatencyHistogram& h, std::uint64_t bound_us);

// A label value as the exposition format wants it: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);

// "12.345678" from 12345678 millionths (integer arithmetic: no rounding on the way).
std::string decimal(std::uint64_t units, std::uint64_t per_one);

// The exposition of one snapshot. iserd_up false (iserd not running): only `iser_up 0`.
std::string format_prometheus(const control::StatsReply& stats, bool iserd_up);

}  // namespace iser::cli
