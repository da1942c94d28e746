// From a ublk I/O descriptor to a BlockRequest, and from a backend result to the value
// COMMIT_AND_FETCH hands the driver. Pure functions (the queue's loop thread calls them; the
// unit tests call them on plain structs).
#pragma once
#include <cstdint>

#include "common/block_backend.hpp"
#include "ublk/ublk_uapi.hpp"

namespace iser::ublk {

// Fills op/fua/offset/length/buffer of `request` (owner and cookie are left alone).
// Returns 0 when the request should go to the backend, or the negative errno to commit at
// once (-EOPNOTSUPP for an operation we do not serve, -EIO for a request larger than the
// tag's buffer, which the driver never sends when max_sectors is honoured).
int map_descriptor(const uapi::IoDesc& desc, std::uint8_t* tag_buffer, std::uint32_t tag_buffer_bytes,
                   BlockRequest& request);

// What COMMIT_AND_FETCH carries: the byte count for a successful Read/Write (the driver
// completes only that many bytes), 0 for a successful Flush/Discard/WriteZeroes, -errno on
// failure (the backend reports a positive errno).
std::int32_t commit_result(const BlockRequest& request, int backend_result);

}  // namespace iser::ublk
