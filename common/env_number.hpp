// A numeric tuning knob read from the environment (ISER_BUSY_POLL_US, ISER_QUEUE_SLICE_US, ...).
// Unset or empty gives the caller's default; anything but a plain decimal number from 0 to `max`
// is an error naming the variable and the accepted range, which the caller logs before keeping
// its default: a typo in a unit file must be seen, not silently read as 0 or as a prefix.
#pragma once
#include <cstdint>

#include "common/result.hpp"

namespace iser {

Result<std::uint64_t> env_number(const char* name, std::uint64_t fallback, std::uint64_t max);

}  // namespace iser
