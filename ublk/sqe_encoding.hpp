// Filling io_uring SQEs for ublk uring_cmds by hand: liburing 2.3 has IORING_OP_URING_CMD and
// SQE128 but no prep helper for it. Pure functions over caller-owned SQE memory (any thread);
// the unit tests pin their output to golden bytes.
#pragma once
#include <liburing.h>

#include <cstddef>
#include <cstdint>

#include "ublk/ublk_uapi.hpp"

namespace iser::ublk {

static_assert(sizeof(io_uring_sqe) == 64, "io_uring SQE layout changed");
static_assert(offsetof(io_uring_sqe, cmd_op) == 8 && offsetof(io_uring_sqe, user_data) == 32);
static_assert(offsetof(io_uring_sqe, addr3) == 48, "uring_cmd payload starts at byte 48");
static_assert(sizeof(io_uring_cqe) == 16);
static_assert(IORING_OP_URING_CMD == 46, "the 6.x kernels number IORING_OP_URING_CMD 46");

constexpr std::size_t kSqeCmdOffset = 48;        // where the uring_cmd payload begins
constexpr std::size_t kSqe128Bytes = 128;        // SQE size with IORING_SETUP_SQE128
static_assert(kSqeCmdOffset + sizeof(uapi::IoCmd) <= sizeof(io_uring_sqe), "I/O commands fit a 64-byte SQE");
static_assert(kSqeCmdOffset + sizeof(uapi::CtrlCmd) <= kSqe128Bytes, "control commands need SQE128");

// An I/O command (FETCH_REQ / COMMIT_AND_FETCH_REQ) on the char device registered as fixed
// file `fixed_file_index` in the queue's ring. Clears all 64 bytes first.
void encode_io_sqe(io_uring_sqe& sqe, std::uint32_t cmd_op, const uapi::IoCmd& cmd, int fixed_file_index,
                   std::uint64_t user_data);

// A control command on /dev/ublk-control (plain fd) in a 128-byte SQE: `sqe128` points at the
// first of the two 64-byte halves that make up one SQE128 slot. Clears all 128 bytes first.
void encode_ctrl_sqe(io_uring_sqe* sqe128, int control_fd, std::uint32_t cmd_op, const uapi::CtrlCmd& cmd,
                     std::uint64_t user_data);

// UPDATE_SIZE for device `dev_id`: the new size in 512-byte sectors in data[0] (rounded down:
// the device must never be bigger than what serves it).
uapi::CtrlCmd update_size_cmd(std::uint32_t dev_id, std::uint64_t size_bytes);
// Whether the driver behind GET_FEATURES' answer can resize a live device.
constexpr bool can_update_size(std::uint64_t features) { return (features & uapi::kFlagUpdateSize) != 0; }

// user_data of a queue's SQEs: the tag, so a CQE names its tag directly.
constexpr std::uint64_t io_user_data(std::uint16_t tag) { return tag; }
constexpr std::uint16_t io_user_data_tag(std::uint64_t user_data) { return std::uint16_t(user_data & 0xFFFF); }

}  // namespace iser::ublk
