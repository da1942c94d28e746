#include "ublk/sqe_encoding.hpp"

#include <cstring>

namespace iser::ublk {

void encode_io_sqe(io_uring_sqe& sqe, std::uint32_t cmd_op, const uapi::IoCmd& cmd, int fixed_file_index,
                   std::uint64_t user_data) {
    std::memset(&sqe, 0, sizeof sqe);
    sqe.opcode = IORING_OP_URING_CMD;
    sqe.flags = IOSQE_FIXED_FILE;
    sqe.fd = fixed_file_index;
    sqe.cmd_op = cmd_op;
    sqe.user_data = user_data;
    std::memcpy(reinterpret_cast<std::uint8_t*>(&sqe) + kSqeCmdOffset, &cmd, sizeof cmd);
}

void encode_ctrl_sqe(io_uring_sqe* sqe128, int control_fd, std::uint32_t cmd_op, const uapi::CtrlCmd& cmd,
                     std::uint64_t user_data) {
    std::memset(sqe128, 0, kSqe128Bytes);
    sqe128->opcode = IORING_OP_URING_CMD;
    sqe128->fd = control_fd;
    sqe128->cmd_op = cmd_op;
    sqe128->user_data = user_data;
    std::memcpy(reinterpret_cast<std::uint8_t*>(sqe128) + kSqeCmdOffset, &cmd, sizeof cmd);
}

uapi::CtrlCmd update_size_cmd(std::uint32_t dev_id, std::uint64_t size_bytes) {
    uapi::CtrlCmd cmd{};
    cmd.dev_id = dev_id;
    cmd.queue_id = uapi::kNoQueue;
    cmd.data[0] = size_bytes / uapi::kSectorBytes;
    return cmd;
}

}  // namespace iser::ublk
