// Translating a BlockGeometry and a DeviceConfig into the ADD_DEV device info and SET_PARAMS
// parameters. Pure functions (any thread), unit-tested without a kernel.
#pragma once
#include <cstdint>

#include "common/result.hpp"
#include "ublk/device_config.hpp"
#include "ublk/ublk_uapi.hpp"

namespace iser::ublk {

// The ADD_DEV payload. `driver_features` is what GET_FEATURES reported (recovery flags are
// requested only when the driver offers them). Rejects sizes the driver would refuse.
Result<uapi::DevInfo> build_dev_info(const DeviceConfig& config, std::uint64_t driver_features);

// The SET_PARAMS payload. `max_io_buf_bytes` is the value the driver returned from ADD_DEV
// (max_sectors may not exceed it).
Result<uapi::Params> build_params(const BlockGeometry& geometry, std::uint32_t max_io_buf_bytes);

// Per-tag buffer size for a device: what a single request can carry.
constexpr std::uint32_t tag_buffer_bytes(std::uint32_t max_io_buf_bytes) { return max_io_buf_bytes; }

}  // namespace iser::ublk
