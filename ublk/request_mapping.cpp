#include "ublk/request_mapping.hpp"

#include <cerrno>

namespace iser::ublk {

int map_descriptor(const uapi::IoDesc& desc, std::uint8_t* tag_buffer, std::uint32_t tag_buffer_bytes,
                   BlockRequest& request) {
    const std::uint8_t op = desc.op_flags & 0xFF;
    request.fua = false;
    request.buffer = nullptr;
    request.offset = desc.start_sector << 9;     // ublk sectors are always 512 bytes
    request.length = desc.nr_sectors << 9;
    switch (op) {
        case uapi::kOpRead: request.op = BlockOp::Read; break;
        case uapi::kOpWrite:
            request.op = BlockOp::Write;
            request.fua = (desc.op_flags & uapi::kIoFFua) != 0;
            break;
        case uapi::kOpFlush:
            request.op = BlockOp::Flush;
            request.offset = 0;
            request.length = 0;
            return 0;
        case uapi::kOpDiscard: request.op = BlockOp::Discard; return 0;
        case uapi::kOpWriteZeroes: request.op = BlockOp::WriteZeroes; return 0;
        default: return -EOPNOTSUPP;
    }
    if (request.length > tag_buffer_bytes || desc.nr_sectors > (0xFFFFFFFFu >> 9)) return -EIO;
    request.buffer = tag_buffer;
    return 0;
}

std::int32_t commit_result(const BlockRequest& request, int backend_result) {
    if (backend_result != 0) return -(backend_result > 0 ? backend_result : -backend_result);
    if (request.op == BlockOp::Read || request.op == BlockOp::Write) return std::int32_t(request.length);
    return 0;
}

}  // namespace iser::ublk
