// The 28-byte iSER header (RFC 7145 §9.2), big-endian and packed.
#include "initiator/pdu/iser_header.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace iser::pdu {
namespace {

constexpr std::uint8_t kOpcodeMask = 0xf0;
constexpr std::size_t kWriteStagOffset = 4, kWriteVaOffset = 8, kReadStagOffset = 16, kReadVaOffset = 20;

}  // namespace

void encode_iser_header(const IserHeader& h, MutableBytes out) {
    // A short buffer is a bug in the caller, never input from the wire: stop loudly rather
    // than write past the end.
    if (out.size() < kIserHeaderSize) {
        std::fprintf(stderr, "encode_iser_header: buffer of %zu bytes, need %zu\n", out.size(), kIserHeaderSize);
        std::abort();
    }
    std::uint8_t* p = out.data();
    p[0] = h.flags;
    p[1] = p[2] = p[3] = 0;
    store_be32(p + kWriteStagOffset, h.write_stag);
    store_be64(p + kWriteVaOffset, h.write_va);
    store_be32(p + kReadStagOffset, h.read_stag);
    store_be64(p + kReadVaOffset, h.read_va);
}

Result<IserHeader> decode_iser_header(Bytes in) {
    if (in.size() < kIserHeaderSize)
        return make_error(EPROTO, "iSER header: " + std::to_string(in.size()) + " bytes, need 28");
    const std::uint8_t* p = in.data();
    const std::uint8_t opcode = p[0] & kOpcodeMask;
    if (opcode != kIserOpcodeControl && opcode != kIserOpcodeHello && opcode != kIserOpcodeHelloReply) {
        char msg[48];
        std::snprintf(msg, sizeof msg, "iSER header: unknown opcode 0x%02x", opcode);
        return make_error(EPROTO, msg);
    }
    IserHeader h;
    h.flags = p[0];
    h.write_stag = load_be32(p + kWriteStagOffset);
    h.write_va = load_be64(p + kWriteVaOffset);
    h.read_stag = load_be32(p + kReadStagOffset);
    h.read_va = load_be64(p + kReadVaOffset);
    return h;
}

}  // namespace iser::pdu
