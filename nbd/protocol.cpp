#include "nbd/protocol.hpp"

#include <cerrno>

namespace iser::nbd {
namespace {

Error protocol_error(std::string message) { return make_error(EPROTO, std::move(message)); }

void append_be16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    std::uint8_t b[2];
    store_be16(b, v);
    out.insert(out.end(), b, b + 2);
}
void append_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    std::uint8_t b[4];
    store_be32(b, v);
    out.insert(out.end(), b, b + 4);
}
void append_be64(std::vector<std::uint8_t>& out, std::uint64_t v) {
    std::uint8_t b[8];
    store_be64(b, v);
    out.insert(out.end(), b, b + 8);
}
void append_text(std::vector<std::uint8_t>& out, std::string_view text) {
    out.insert(out.end(), text.begin(), text.end());
}

}  // namespace

Result<std::uint32_t> decode_client_flags(Bytes bytes) {
    if (bytes.size() != kClientFlagsSize) return protocol_error("nbd: client flags must be 4 bytes");
    std::uint32_t flags = load_be32(bytes.data());
    if (flags & ~(kClientFlagFixedNewstyle | kClientFlagNoZeroes))
        return protocol_error("nbd: client set unknown handshake flags " + std::to_string(flags));
    return flags;
}

Result<OptionHeader> decode_option_header(Bytes bytes) {
    if (bytes.size() != kOptionHeaderSize) return protocol_error("nbd: option header must be 16 bytes");
    if (load_be64(bytes.data()) != kOptionMagic) return protocol_error("nbd: bad option magic");
    return OptionHeader{load_be32(bytes.data() + 8), load_be32(bytes.data() + 12)};
}

Result<Request> decode_request(Bytes bytes) {
    if (bytes.size() != kRequestSize) return protocol_error("nbd: request header must be 28 bytes");
    if (load_be32(bytes.data()) != kRequestMagic) return protocol_error("nbd: bad request magic");
    Request r;
    r.flags = load_be16(bytes.data() + 4);
    r.type = load_be16(bytes.data() + 6);
    r.handle = load_be64(bytes.data() + 8);
    r.offset = load_be64(bytes.data() + 16);
    r.length = load_be32(bytes.data() + 24);
    return r;
}

Result<InfoRequest> decode_info_request(Bytes data) {
    // 32-bit name length, name, 16-bit count, count x 16-bit info types; nothing more.
    if (data.size() < 6) return protocol_error("nbd: INFO/GO data shorter than 6 bytes");
    std::uint32_t name_length = load_be32(data.data());
    if (name_length > kMaxStringLength) return protocol_error("nbd: export name longer than 4096 bytes");
    if (name_length > data.size() - 6) return protocol_error("nbd: export name overruns INFO/GO data");
    InfoRequest info;
    info.name.assign(reinterpret_cast<const char*>(data.data() + 4), name_length);
    const std::uint8_t* p = data.data() + 4 + name_length;
    std::uint16_t count = load_be16(p);
    p += 2;
    std::size_t rest = data.size() - 6 - name_length;
    if (rest != std::size_t(count) * 2) return protocol_error("nbd: INFO/GO info count does not match length");
    info.info_types.reserve(count);
    for (std::uint16_t i = 0; i < count; ++i) info.info_types.push_back(load_be16(p + 2 * i));
    return info;
}

void append_server_greeting(std::vector<std::uint8_t>& out, std::uint16_t handshake_flags) {
    append_be64(out, kNbdMagic);
    append_be64(out, kOptionMagic);
    append_be16(out, handshake_flags);
}

void append_option_reply(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint32_t reply, Bytes data) {
    append_be64(out, kOptionReplyMagic);
    append_be32(out, option);
    append_be32(out, reply);
    append_be32(out, std::uint32_t(data.size()));
    out.insert(out.end(), data.begin(), data.end());
}

void append_option_error(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint32_t reply,
                         std::string_view message) {
    append_option_reply(out, option, reply,
                        Bytes(reinterpret_cast<const std::uint8_t*>(message.data()), message.size()));
}

void append_rep_server(std::vector<std::uint8_t>& out, std::uint32_t option, std::string_view name) {
    append_be64(out, kOptionReplyMagic);
    append_be32(out, option);
    append_be32(out, kRepServer);
    append_be32(out, std::uint32_t(4 + name.size()));
    append_be32(out, std::uint32_t(name.size()));
    append_text(out, name);
}

void append_info_export(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint64_t size,
                        std::uint16_t transmission_flags) {
    append_be64(out, kOptionReplyMagic);
    append_be32(out, option);
    append_be32(out, kRepInfo);
    append_be32(out, 12);
    append_be16(out, kInfoExport);
    append_be64(out, size);
    append_be16(out, transmission_flags);
}

void append_info_string(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint16_t info_type,
                        std::string_view text) {
    append_be64(out, kOptionReplyMagic);
    append_be32(out, option);
    append_be32(out, kRepInfo);
    append_be32(out, std::uint32_t(2 + text.size()));
    append_be16(out, info_type);
    append_text(out, text);
}

void append_info_block_size(std::vector<std::uint8_t>& out, std::uint32_t option, const BlockSizes& sizes) {
    append_be64(out, kOptionReplyMagic);
    append_be32(out, option);
    append_be32(out, kRepInfo);
    append_be32(out, 14);
    append_be16(out, kInfoBlockSize);
    append_be32(out, sizes.minimum);
    append_be32(out, sizes.preferred);
    append_be32(out, sizes.maximum);
}

void append_export_name_reply(std::vector<std::uint8_t>& out, std::uint64_t size,
                              std::uint16_t transmission_flags, bool no_zeroes) {
    append_be64(out, size);
    append_be16(out, transmission_flags);
    if (!no_zeroes) out.insert(out.end(), kExportNameZeroes, std::uint8_t{0});
}

void encode_simple_reply(std::uint8_t (&out)[kSimpleReplySize], std::uint32_t error, std::uint64_t handle) {
    store_be32(out, kSimpleReplyMagic);
    store_be32(out + 4, error);
    store_be64(out + 8, handle);
}

void encode_request(std::uint8_t (&out)[kRequestSize], const Request& r) {
    store_be32(out, kRequestMagic);
    store_be16(out + 4, r.flags);
    store_be16(out + 6, r.type);
    store_be64(out + 8, r.handle);
    store_be64(out + 16, r.offset);
    store_be32(out + 24, r.length);
}

void encode_option_header(std::uint8_t (&out)[kOptionHeaderSize], const OptionHeader& h) {
    store_be64(out, kOptionMagic);
    store_be32(out + 8, h.option);
    store_be32(out + 12, h.length);
}

std::uint32_t errno_to_nbd_error(int error) {
    switch (error) {
        case 0: return 0;
        case EPERM:
        case EROFS:
        case EACCES: return kErrPerm;
        case ENOMEM: return kErrNoMem;
        case EINVAL: return kErrInval;
        case ENOSPC:
        case EDQUOT: return kErrNoSpc;
        case EOVERFLOW: return kErrOverflow;
        case ENOTSUP: return kErrNotSup;  // == EOPNOTSUPP on Linux
        case ESHUTDOWN: return kErrShutdown;
        default: return kErrIo;
    }
}

const char* option_name(std::uint32_t option) {
    switch (option) {
        case kOptExportName: return "EXPORT_NAME";
        case kOptAbort: return "ABORT";
        case kOptList: return "LIST";
        case kOptStartTls: return "STARTTLS";
        case kOptInfo: return "INFO";
        case kOptGo: return "GO";
        case kOptStructuredReply: return "STRUCTURED_REPLY";
        case kOptListMetaContext: return "LIST_META_CONTEXT";
        case kOptSetMetaContext: return "SET_META_CONTEXT";
        default: return "unknown";
    }
}

const char* command_name(std::uint16_t type) {
    switch (type) {
        case kCmdRead: return "READ";
        case kCmdWrite: return "WRITE";
        case kCmdDisc: return "DISC";
        case kCmdFlush: return "FLUSH";
        case kCmdTrim: return "TRIM";
        case kCmdCache: return "CACHE";
        case kCmdWriteZeroes: return "WRITE_ZEROES";
        default: return "unknown";
    }
}

}  // namespace iser::nbd
