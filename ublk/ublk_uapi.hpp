// The ublk driver's userspace ABI as of Linux 6.12 (include/uapi/linux/ublk_cmd.h), written
// out here because the installed Debian header is the 6.1 one (no ioctl-encoded opcodes, no
// GET_FEATURES). Only what this frontend uses; every struct has its size asserted so a typo
// cannot silently shift a field the kernel reads.
//
// Pure definitions: no liburing, no syscalls. Any thread.
#pragma once
#include <cstddef>
#include <cstdint>

namespace iser::ublk::uapi {

// ---- ioctl-style encoding of uring_cmd opcodes (asm-generic/ioctl.h layout) ----
constexpr std::uint32_t kIocWrite = 1;
constexpr std::uint32_t kIocRead = 2;
constexpr std::uint32_t ioc(std::uint32_t dir, std::uint32_t nr, std::uint32_t size) {
    return (dir << 30) | (size << 16) | (std::uint32_t('u') << 8) | nr;
}

// ---- control commands, sent on /dev/ublk-control in a 128-byte SQE ----
struct CtrlCmd {                // struct ublksrv_ctrl_cmd
    std::uint32_t dev_id;       // target device; U32_MAX = "pick one" for ADD_DEV
    std::uint16_t queue_id;     // 0xFFFF when the command is not about one queue
    std::uint16_t len;          // length of the buffer at addr
    std::uint64_t addr;         // in/out buffer (dev info, params, features)
    std::uint64_t data[1];      // inline argument (START_DEV: daemon pid)
    std::uint16_t dev_path_len; // unprivileged devices only
    std::uint16_t pad;
    std::uint32_t reserved;
};
static_assert(sizeof(CtrlCmd) == 32);
static_assert(offsetof(CtrlCmd, addr) == 8 && offsetof(CtrlCmd, data) == 16 && offsetof(CtrlCmd, dev_path_len) == 24);

constexpr std::uint32_t kCmdGetDevInfo = ioc(kIocRead, 0x02, sizeof(CtrlCmd));
constexpr std::uint32_t kCmdAddDev = ioc(kIocRead | kIocWrite, 0x04, sizeof(CtrlCmd));
constexpr std::uint32_t kCmdDelDev = ioc(kIocRead | kIocWrite, 0x05, sizeof(CtrlCmd));
constexpr std::uint32_t kCmdStartDev = ioc(kIocRead | kIocWrite, 0x06, sizeof(CtrlCmd));
constexpr std::uint32_t kCmdStopDev = ioc(kIocRead | kIocWrite, 0x07, sizeof(CtrlCmd));
constexpr std::uint32_t kCmdSetParams = ioc(kIocRead | kIocWrite, 0x08, sizeof(CtrlCmd));
constexpr std::uint32_t kCmdGetParams = ioc(kIocRead, 0x09, sizeof(CtrlCmd));
constexpr std::uint32_t kCmdStartUserRecovery = ioc(kIocRead | kIocWrite, 0x10, sizeof(CtrlCmd));
constexpr std::uint32_t kCmdEndUserRecovery = ioc(kIocRead | kIocWrite, 0x11, sizeof(CtrlCmd));
constexpr std::uint32_t kCmdGetFeatures = ioc(kIocRead, 0x13, sizeof(CtrlCmd));
// DEL_DEV without waiting for the last opener of /dev/ublkbN (a mounted filesystem) to let go.
constexpr std::uint32_t kCmdDelDevAsync = ioc(kIocRead, 0x14, sizeof(CtrlCmd));
// The values the 6.12 driver expects (protocol notes), so the encoder above is checked too.
static_assert(kCmdAddDev == 0xc0207504u && kCmdDelDev == 0xc0207505u && kCmdStartDev == 0xc0207506u);
static_assert(kCmdStopDev == 0xc0207507u && kCmdSetParams == 0xc0207508u && kCmdGetParams == 0x80207509u);
static_assert(kCmdGetDevInfo == 0x80207502u && kCmdStartUserRecovery == 0xc0207510u);
static_assert(kCmdEndUserRecovery == 0xc0207511u && kCmdGetFeatures == 0x80207513u);
static_assert(kCmdDelDevAsync == 0x80207514u);
// Linux 6.16+: a new size for a live device, in 512-byte sectors in data[0]. Offered when
// GET_FEATURES has kFlagUpdateSize; the 6.12 driver answers it with EOPNOTSUPP.
constexpr std::uint32_t kCmdUpdateSize = ioc(kIocRead | kIocWrite, 0x15, sizeof(CtrlCmd));
static_assert(kCmdUpdateSize == 0xc0207515u);
constexpr std::uint32_t kSectorBytes = 512;

constexpr std::uint16_t kNoQueue = 0xFFFF;
constexpr std::uint32_t kAutoDevId = 0xFFFFFFFFu;
constexpr std::size_t kFeaturesLen = 8;

// ---- device flags (ublksrv_ctrl_dev_info.flags / GET_FEATURES) ----
constexpr std::uint64_t kFlagSupportZeroCopy = 1ull << 0;   // accepted but stripped in 6.12
constexpr std::uint64_t kFlagUringCmdCompInTask = 1ull << 1;
constexpr std::uint64_t kFlagNeedGetData = 1ull << 2;
constexpr std::uint64_t kFlagUserRecovery = 1ull << 3;
constexpr std::uint64_t kFlagUserRecoveryReissue = 1ull << 4;
constexpr std::uint64_t kFlagUnprivilegedDev = 1ull << 5;
constexpr std::uint64_t kFlagCmdIoctlEncode = 1ull << 6;
constexpr std::uint64_t kFlagUserCopy = 1ull << 7;
constexpr std::uint64_t kFlagZoned = 1ull << 8;
constexpr std::uint64_t kFlagUpdateSize = 1ull << 10;  // GET_FEATURES only (Linux 6.16+)

// ---- device states ----
constexpr std::uint16_t kStateDead = 0;
constexpr std::uint16_t kStateLive = 1;
constexpr std::uint16_t kStateQuiesced = 2;

struct DevInfo {                    // struct ublksrv_ctrl_dev_info
    std::uint16_t nr_hw_queues;
    std::uint16_t queue_depth;
    std::uint16_t state;
    std::uint16_t pad0;
    std::uint32_t max_io_buf_bytes;
    std::uint32_t dev_id;
    std::int32_t ublksrv_pid;
    std::uint32_t pad1;
    std::uint64_t flags;
    std::uint64_t ublksrv_flags;    // for the server's own use; the driver keeps it verbatim
                                    // (this project stores the device cookie here)
    std::uint32_t owner_uid;        // filled by the kernel
    std::uint32_t owner_gid;
    std::uint64_t reserved1;
    std::uint64_t reserved2;
};
static_assert(sizeof(DevInfo) == 64);
static_assert(offsetof(DevInfo, max_io_buf_bytes) == 8 && offsetof(DevInfo, dev_id) == 12);
static_assert(offsetof(DevInfo, flags) == 24 && offsetof(DevInfo, owner_uid) == 40);

// ---- parameters (SET_PARAMS / GET_PARAMS) ----
constexpr std::uint32_t kAttrReadOnly = 1u << 0;
constexpr std::uint32_t kAttrRotational = 1u << 1;
constexpr std::uint32_t kAttrVolatileCache = 1u << 2;
constexpr std::uint32_t kAttrFua = 1u << 3;

struct ParamBasic {                 // struct ublk_param_basic
    std::uint32_t attrs;
    std::uint8_t logical_bs_shift;
    std::uint8_t physical_bs_shift;
    std::uint8_t io_opt_shift;
    std::uint8_t io_min_shift;
    std::uint32_t max_sectors;
    std::uint32_t chunk_sectors;
    std::uint64_t dev_sectors;
    std::uint64_t virt_boundary_mask;
};
static_assert(sizeof(ParamBasic) == 32 && offsetof(ParamBasic, dev_sectors) == 16);

struct ParamDiscard {               // struct ublk_param_discard
    std::uint32_t discard_alignment;
    std::uint32_t discard_granularity;
    std::uint32_t max_discard_sectors;
    std::uint32_t max_write_zeroes_sectors;
    std::uint16_t max_discard_segments;
    std::uint16_t reserved0;
};
static_assert(sizeof(ParamDiscard) == 20 && offsetof(ParamDiscard, max_discard_segments) == 16);

struct ParamDevt {                  // struct ublk_param_devt (read-only, GET_PARAMS)
    std::uint32_t char_major;
    std::uint32_t char_minor;
    std::uint32_t disk_major;
    std::uint32_t disk_minor;
};
static_assert(sizeof(ParamDevt) == 16);

struct ParamZoned {                 // struct ublk_param_zoned
    std::uint32_t max_open_zones;
    std::uint32_t max_active_zones;
    std::uint32_t max_zone_append_sectors;
    std::uint8_t reserved[20];
};
static_assert(sizeof(ParamZoned) == 32);

constexpr std::uint32_t kParamTypeBasic = 1u << 0;
constexpr std::uint32_t kParamTypeDiscard = 1u << 1;
constexpr std::uint32_t kParamTypeDevt = 1u << 2;
constexpr std::uint32_t kParamTypeZoned = 1u << 3;

// The 6.12 struct ublk_params. Newer kernels append members; the driver copies min(len, its
// own size), so sending this length is valid on 6.12 and later.
struct Params {
    std::uint32_t len;              // sizeof(Params)
    std::uint32_t types;            // kParamType* present
    ParamBasic basic;
    ParamDiscard discard;
    ParamDevt devt;
    ParamZoned zoned;
};
static_assert(sizeof(Params) == 112);
static_assert(offsetof(Params, basic) == 8 && offsetof(Params, discard) == 40);
static_assert(offsetof(Params, devt) == 60 && offsetof(Params, zoned) == 76);

// ---- I/O commands, sent on /dev/ublkcN in a normal 64-byte SQE ----
struct IoCmd {                      // struct ublksrv_io_cmd
    std::uint16_t q_id;
    std::uint16_t tag;
    std::int32_t result;            // COMMIT: bytes done or -errno
    std::uint64_t addr;             // this tag's buffer in our address space
};
static_assert(sizeof(IoCmd) == 16 && offsetof(IoCmd, addr) == 8);

constexpr std::uint32_t kIoFetchReq = ioc(kIocRead | kIocWrite, 0x20, sizeof(IoCmd));
constexpr std::uint32_t kIoCommitAndFetchReq = ioc(kIocRead | kIocWrite, 0x21, sizeof(IoCmd));
constexpr std::uint32_t kIoNeedGetData = ioc(kIocRead | kIocWrite, 0x22, sizeof(IoCmd));
static_assert(kIoFetchReq == 0xc0107520u && kIoCommitAndFetchReq == 0xc0107521u && kIoNeedGetData == 0xc0107522u);

// CQE results of FETCH / COMMIT_AND_FETCH.
constexpr int kIoResOk = 0;            // a request is ready in the tag's descriptor
constexpr int kIoResNeedGetData = 1;   // only with kFlagNeedGetData (not used here)
// -ENODEV: the device is going away; do not fetch again.

// ---- per-tag I/O descriptor, in the read-only shared mapping of /dev/ublkcN ----
struct IoDesc {                     // struct ublksrv_io_desc
    std::uint32_t op_flags;         // op in bits 0-7, kIoF* flags above
    std::uint32_t nr_sectors;       // 512-byte sectors, whatever the logical block size
    std::uint64_t start_sector;
    std::uint64_t addr;             // the buffer given with the fetch
};
static_assert(sizeof(IoDesc) == 24 && offsetof(IoDesc, start_sector) == 8 && offsetof(IoDesc, addr) == 16);

// UBLK_F_USER_COPY: the server moves a request's data itself with read (WRITE requests) or write
// (READ requests) on /dev/ublkcN at this offset, while it owns the request. The commands then
// carry no buffer address (addr must be 0).
constexpr std::uint64_t kUserCopyBase = 0x80000000ull;   // UBLKSRV_IO_BUF_OFFSET
constexpr unsigned kUserCopyTagShift = 25;               // UBLK_TAG_OFF (UBLK_IO_BUF_BITS)
constexpr unsigned kUserCopyQueueShift = 25 + 16;        // UBLK_QID_OFF
constexpr std::uint32_t kUserCopyMaxBytes = 1u << 25;    // a request's data must fit below the tag bits
constexpr std::uint64_t user_copy_offset(std::uint16_t queue, std::uint16_t tag) {
    return kUserCopyBase + (std::uint64_t(queue) << kUserCopyQueueShift) + (std::uint64_t(tag) << kUserCopyTagShift);
}
static_assert(user_copy_offset(1, 2) == 0x80000000ull + (1ull << 41) + (2ull << 25));

constexpr std::uint8_t kOpRead = 0;
constexpr std::uint8_t kOpWrite = 1;
constexpr std::uint8_t kOpFlush = 2;
constexpr std::uint8_t kOpDiscard = 3;
constexpr std::uint8_t kOpWriteSame = 4;
constexpr std::uint8_t kOpWriteZeroes = 5;

constexpr std::uint32_t kIoFFailfastDev = 1u << 8;
constexpr std::uint32_t kIoFFailfastTransport = 1u << 9;
constexpr std::uint32_t kIoFFailfastDriver = 1u << 10;
constexpr std::uint32_t kIoFMeta = 1u << 11;
constexpr std::uint32_t kIoFFua = 1u << 13;
constexpr std::uint32_t kIoFNoUnmap = 1u << 15;
constexpr std::uint32_t kIoFSwap = 1u << 16;

constexpr std::uint32_t kMaxQueueDepth = 4096;
constexpr std::uint64_t kCmdBufOffset = 0;      // mmap offset of queue 0's descriptors

// mmap offset/length of one queue's descriptor array: queues are spaced by the size a
// maximum-depth queue would need; each mapping covers only this queue's depth.
constexpr std::size_t round_up(std::size_t v, std::size_t to) { return (v + to - 1) / to * to; }
constexpr std::size_t desc_stride(std::size_t page) { return round_up(kMaxQueueDepth * sizeof(IoDesc), page); }
constexpr std::uint64_t desc_mmap_offset(std::uint16_t queue_id, std::size_t page) {
    return kCmdBufOffset + std::uint64_t(queue_id) * desc_stride(page);
}
constexpr std::size_t desc_mmap_length(std::uint16_t depth, std::size_t page) {
    return round_up(std::size_t(depth) * sizeof(IoDesc), page);
}

}  // namespace iser::ublk::uapi
