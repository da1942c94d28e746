// Golden bytes for the ublk uring_cmd SQEs, written out by hand from the io_uring SQE layout
// (include/uapi/linux/io_uring.h) and struct ublksrv_io_cmd / ublksrv_ctrl_cmd of Linux 6.12,
// not produced by the encoder under test.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "ublk/sqe_encoding.hpp"

using namespace iser::ublk;

namespace {
std::vector<std::uint8_t> raw(const void* p, std::size_t n) {
    auto b = static_cast<const std::uint8_t*>(p);
    return {b, b + n};
}
}  // namespace

TEST_CASE("uapi struct sizes match Linux 6.12") {
    CHECK(sizeof(uapi::CtrlCmd) == 32);
    CHECK(sizeof(uapi::DevInfo) == 64);
    CHECK(sizeof(uapi::IoCmd) == 16);
    CHECK(sizeof(uapi::IoDesc) == 24);
    CHECK(sizeof(uapi::ParamBasic) == 32);
    CHECK(sizeof(uapi::ParamDiscard) == 20);
    CHECK(sizeof(uapi::Params) == 112);
    CHECK(sizeof(io_uring_sqe) == 64);
}

TEST_CASE("opcodes are the ioctl-encoded ones") {
    CHECK(uapi::kCmdAddDev == 0xc0207504u);
    CHECK(uapi::kCmdGetFeatures == 0x80207513u);
    CHECK(uapi::kIoFetchReq == 0xc0107520u);
    CHECK(uapi::kIoCommitAndFetchReq == 0xc0107521u);
}

TEST_CASE("descriptor mmap offsets: queues spaced by a 4096-deep array") {
    CHECK(uapi::desc_mmap_offset(0, 4096) == 0);
    CHECK(uapi::desc_mmap_offset(1, 4096) == 4096u * 24u);  // 98304, already page aligned
    CHECK(uapi::desc_mmap_offset(3, 4096) == 3u * 98304u);
    CHECK(uapi::desc_mmap_length(128, 4096) == 4096);        // 3072 bytes, rounded up
    CHECK(uapi::desc_mmap_length(4096, 4096) == 98304);
}

TEST_CASE("FETCH_REQ SQE golden bytes") {
    io_uring_sqe sqe;
    std::memset(&sqe, 0xAA, sizeof sqe);  // the encoder must clear what it does not set
    uapi::IoCmd cmd{};
    cmd.q_id = 1;
    cmd.tag = 5;
    cmd.result = 0;
    cmd.addr = 0x00007f0000001000ull;
    encode_io_sqe(sqe, uapi::kIoFetchReq, cmd, 0, io_user_data(5));
    const std::vector<std::uint8_t> want = {
        0x2e, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // URING_CMD, IOSQE_FIXED_FILE, ioprio, fixed file 0
        0x20, 0x75, 0x10, 0xc0, 0x00, 0x00, 0x00, 0x00,  // cmd_op 0xc0107520, pad
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // addr
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // len, uring_cmd_flags
        0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // user_data = tag 5
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // buf_index, personality, file_index
        0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,  // q_id 1, tag 5, result 0
        0x00, 0x10, 0x00, 0x00, 0x00, 0x7f, 0x00, 0x00,  // buffer address
    };
    CHECK(raw(&sqe, sizeof sqe) == want);
    CHECK(io_user_data_tag(sqe.user_data) == 5);
}

TEST_CASE("COMMIT_AND_FETCH_REQ SQE golden bytes, with a result and an error") {
    io_uring_sqe sqe;
    uapi::IoCmd cmd{};
    cmd.q_id = 0;
    cmd.tag = 0x0102;
    cmd.result = 4096;
    cmd.addr = 0x0000555500010000ull;
    encode_io_sqe(sqe, uapi::kIoCommitAndFetchReq, cmd, 0, io_user_data(0x0102));
    std::vector<std::uint8_t> want = {
        0x2e, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x21, 0x75, 0x10, 0xc0, 0x00, 0x00, 0x00, 0x00,  // cmd_op 0xc0107521
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // user_data = tag 0x0102
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x02, 0x01, 0x00, 0x10, 0x00, 0x00,  // q_id 0, tag 0x0102, result 4096
        0x00, 0x00, 0x01, 0x00, 0x55, 0x55, 0x00, 0x00,
    };
    CHECK(raw(&sqe, sizeof sqe) == want);

    cmd.result = -95;  // -EOPNOTSUPP, two's complement little-endian
    encode_io_sqe(sqe, uapi::kIoCommitAndFetchReq, cmd, 0, 0);
    const auto* b = reinterpret_cast<const std::uint8_t*>(&sqe);
    CHECK(raw(b + 52, 4) == std::vector<std::uint8_t>{0xa1, 0xff, 0xff, 0xff});
}

TEST_CASE("ADD_DEV control SQE128 golden bytes") {
    std::uint8_t slot[128];
    std::memset(slot, 0xAA, sizeof slot);
    uapi::CtrlCmd cmd{};
    cmd.dev_id = uapi::kAutoDevId;
    cmd.queue_id = uapi::kNoQueue;
    cmd.len = sizeof(uapi::DevInfo);
    cmd.addr = 0x1122334455667788ull;
    encode_ctrl_sqe(reinterpret_cast<io_uring_sqe*>(slot), 3, uapi::kCmdAddDev, cmd, 0x42);
    std::vector<std::uint8_t> want = {
        0x2e, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,  // URING_CMD, plain fd 3
        0x04, 0x75, 0x20, 0xc0, 0x00, 0x00, 0x00, 0x00,  // cmd_op 0xc0207504
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // user_data
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x40, 0x00,  // dev_id auto, queue_id none, len 64
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // addr of the dev info
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // data[0]
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // dev_path_len, pad, reserved
    };
    want.resize(128, 0x00);  // the rest of the 80-byte command area is zero
    CHECK(raw(slot, sizeof slot) == want);
}

TEST_CASE("UPDATE_SIZE control SQE128 golden bytes: 96 MiB as sectors in data[0]") {
    CHECK(uapi::kCmdUpdateSize == 0xc0207515u);
    CHECK(uapi::kFlagUpdateSize == 0x400u);
    std::uint8_t slot[128];
    std::memset(slot, 0xAA, sizeof slot);
    uapi::CtrlCmd cmd = update_size_cmd(7, 96ull << 20);
    CHECK(cmd.data[0] == (96ull << 20) / 512);
    encode_ctrl_sqe(reinterpret_cast<io_uring_sqe*>(slot), 3, uapi::kCmdUpdateSize, cmd, 0x42);
    std::vector<std::uint8_t> want = {
        0x2e, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,  // URING_CMD, plain fd 3
        0x15, 0x75, 0x20, 0xc0, 0x00, 0x00, 0x00, 0x00,  // cmd_op 0xc0207515
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // user_data
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x07, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00,  // dev_id 7, queue_id none, no buffer
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // addr: none
        0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,  // data[0] = 196608 sectors
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    want.resize(128, 0x00);
    CHECK(raw(slot, sizeof slot) == want);
}

TEST_CASE("UPDATE_SIZE rounds down to whole sectors; the feature bit gates it") {
    CHECK(update_size_cmd(0, 1000).data[0] == 1);
    CHECK(update_size_cmd(0, 511).data[0] == 0);
    CHECK_FALSE(can_update_size(0x1fb));  // a 6.12 driver's GET_FEATURES: bits 0-8, no bit 10
    CHECK(can_update_size(0x5fb));
}
