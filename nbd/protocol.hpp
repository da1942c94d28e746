// The NBD wire protocol (fixed newstyle handshake, simple replies) as constants and pure
// encode/decode functions over byte spans. No I/O here: the server and the fuzz target both
// drive these. Field layouts follow the NBD protocol document (doc/proto.md of the nbd project);
// every multi-byte field is big-endian.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace iser::nbd {

// Handshake magics.
inline constexpr std::uint64_t kNbdMagic = 0x4e42444d41474943ull;       // "NBDMAGIC"
inline constexpr std::uint64_t kOptionMagic = 0x49484156454f5054ull;    // "IHAVEOPT"
inline constexpr std::uint64_t kOptionReplyMagic = 0x0003e889045565a9ull;
// Transmission magics.
inline constexpr std::uint32_t kRequestMagic = 0x25609513u;
inline constexpr std::uint32_t kSimpleReplyMagic = 0x67446698u;

// Handshake flags (server, 16 bits) and client flags (32 bits).
inline constexpr std::uint16_t kFlagFixedNewstyle = 1u << 0;
inline constexpr std::uint16_t kFlagNoZeroes = 1u << 1;
inline constexpr std::uint32_t kClientFlagFixedNewstyle = 1u << 0;
inline constexpr std::uint32_t kClientFlagNoZeroes = 1u << 1;

// Transmission flags (16 bits).
inline constexpr std::uint16_t kFlagHasFlags = 1u << 0;
inline constexpr std::uint16_t kFlagReadOnly = 1u << 1;
inline constexpr std::uint16_t kFlagSendFlush = 1u << 2;
inline constexpr std::uint16_t kFlagSendFua = 1u << 3;
inline constexpr std::uint16_t kFlagRotational = 1u << 4;
inline constexpr std::uint16_t kFlagSendTrim = 1u << 5;
inline constexpr std::uint16_t kFlagSendWriteZeroes = 1u << 6;
inline constexpr std::uint16_t kFlagCanMultiConn = 1u << 8;

// Options.
inline constexpr std::uint32_t kOptExportName = 1;
inline constexpr std::uint32_t kOptAbort = 2;
inline constexpr std::uint32_t kOptList = 3;
inline constexpr std::uint32_t kOptStartTls = 5;
inline constexpr std::uint32_t kOptInfo = 6;
inline constexpr std::uint32_t kOptGo = 7;
inline constexpr std::uint32_t kOptStructuredReply = 8;
inline constexpr std::uint32_t kOptListMetaContext = 9;
inline constexpr std::uint32_t kOptSetMetaContext = 10;

// Option replies; errors have bit 31 set.
inline constexpr std::uint32_t kRepAck = 1;
inline constexpr std::uint32_t kRepServer = 2;
inline constexpr std::uint32_t kRepInfo = 3;
inline constexpr std::uint32_t kRepErrUnsup = 0x80000001u;
inline constexpr std::uint32_t kRepErrPolicy = 0x80000002u;
inline constexpr std::uint32_t kRepErrInvalid = 0x80000003u;
inline constexpr std::uint32_t kRepErrUnknown = 0x80000006u;
inline constexpr std::uint32_t kRepErrShutdown = 0x80000007u;
inline constexpr std::uint32_t kRepErrTooBig = 0x80000009u;

// NBD_REP_INFO types.
inline constexpr std::uint16_t kInfoExport = 0;
inline constexpr std::uint16_t kInfoName = 1;
inline constexpr std::uint16_t kInfoDescription = 2;
inline constexpr std::uint16_t kInfoBlockSize = 3;

// Commands and command flags.
inline constexpr std::uint16_t kCmdRead = 0;
inline constexpr std::uint16_t kCmdWrite = 1;
inline constexpr std::uint16_t kCmdDisc = 2;
inline constexpr std::uint16_t kCmdFlush = 3;
inline constexpr std::uint16_t kCmdTrim = 4;
inline constexpr std::uint16_t kCmdCache = 5;
inline constexpr std::uint16_t kCmdWriteZeroes = 6;
inline constexpr std::uint16_t kCmdFlagFua = 1u << 0;
inline constexpr std::uint16_t kCmdFlagNoHole = 1u << 1;

// Error values carried in replies (fixed by the protocol, not the host's errno numbering).
inline constexpr std::uint32_t kErrPerm = 1;
inline constexpr std::uint32_t kErrIo = 5;
inline constexpr std::uint32_t kErrNoMem = 12;
inline constexpr std::uint32_t kErrInval = 22;
inline constexpr std::uint32_t kErrNoSpc = 28;
inline constexpr std::uint32_t kErrOverflow = 75;
inline constexpr std::uint32_t kErrNotSup = 95;
inline constexpr std::uint32_t kErrShutdown = 108;

// Sizes of the fixed parts.
inline constexpr std::size_t kServerGreetingSize = 18;   // magic, IHAVEOPT, handshake flags
inline constexpr std::size_t kClientFlagsSize = 4;
inline constexpr std::size_t kOptionHeaderSize = 16;     // IHAVEOPT, option, length
inline constexpr std::size_t kOptionReplyHeaderSize = 20;
inline constexpr std::size_t kRequestSize = 28;
inline constexpr std::size_t kSimpleReplySize = 16;
inline constexpr std::size_t kExportNameReplySize = 10;  // size + transmission flags (+124 zeroes)
inline constexpr std::size_t kExportNameZeroes = 124;
inline constexpr std::size_t kMaxStringLength = 4096;    // export names, descriptions

struct OptionHeader {
    std::uint32_t option = 0;
    std::uint32_t length = 0;  // of the data that follows
};

struct Request {
    std::uint16_t flags = 0;
    std::uint16_t type = 0;
    std::uint64_t handle = 0;
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
};

// NBD_OPT_INFO / NBD_OPT_GO data: the export name and the NBD_INFO_* types asked for.
struct InfoRequest {
    std::string name;
    std::vector<std::uint16_t> info_types;
};

struct BlockSizes {
    std::uint32_t minimum = 1;
    std::uint32_t preferred = 4096;
    std::uint32_t maximum = 1u << 25;
};

// Decoders take exactly the fixed-size part (or the whole option data) and fail with EPROTO.
Result<OptionHeader> decode_option_header(Bytes bytes);
Result<Request> decode_request(Bytes bytes);
Result<InfoRequest> decode_info_request(Bytes data);
Result<std::uint32_t> decode_client_flags(Bytes bytes);

// Encoders append to `out` (handshake and option replies are rare: allocation is fine there).
void append_server_greeting(std::vector<std::uint8_t>& out, std::uint16_t handshake_flags);
void append_option_reply(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint32_t reply,
                         Bytes data = {});
void append_option_error(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint32_t reply,
                         std::string_view message);
void append_rep_server(std::vector<std::uint8_t>& out, std::uint32_t option, std::string_view name);
void append_info_export(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint64_t size,
                        std::uint16_t transmission_flags);
void append_info_string(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint16_t info_type,
                        std::string_view text);
void append_info_block_size(std::vector<std::uint8_t>& out, std::uint32_t option, const BlockSizes& sizes);
void append_export_name_reply(std::vector<std::uint8_t>& out, std::uint64_t size,
                              std::uint16_t transmission_flags, bool no_zeroes);

// Fixed-size encoders into caller storage (the data path: no allocation).
void encode_simple_reply(std::uint8_t (&out)[kSimpleReplySize], std::uint32_t error, std::uint64_t handle);
void encode_request(std::uint8_t (&out)[kRequestSize], const Request& request);  // client side, tests
void encode_option_header(std::uint8_t (&out)[kOptionHeaderSize], const OptionHeader& header);

// errno from a BlockBackend -> the NBD error value for the reply.
std::uint32_t errno_to_nbd_error(int error);

const char* option_name(std::uint32_t option);
const char* command_name(std::uint16_t type);

}  // namespace iser::nbd
