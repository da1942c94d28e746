// The iSER header (RFC 7145 §9.2) that precedes every iSCSI PDU in an RDMA Send.
#pragma once
#include <cstdint>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace iser::pdu {

inline constexpr std::size_t kIserHeaderSize = 28;
inline constexpr std::uint8_t kIserOpcodeControl = 0x10;   // iSCSI control-type PDU
inline constexpr std::uint8_t kIserOpcodeHello = 0x20;
inline constexpr std::uint8_t kIserOpcodeHelloReply = 0x30;
inline constexpr std::uint8_t kIserWriteStagValid = 0x08;  // WSV
inline constexpr std::uint8_t kIserReadStagValid = 0x04;   // RSV

struct IserHeader {
    std::uint8_t flags = kIserOpcodeControl;  // opcode in the high nibble, WSV/RSV bits
    std::uint32_t write_stag = 0;
    std::uint64_t write_va = 0;
    std::uint32_t read_stag = 0;
    std::uint64_t read_va = 0;
};

// Writes exactly kIserHeaderSize bytes to out (out.size() must be >= 28).
void encode_iser_header(const IserHeader&, MutableBytes out);
// Fails (EPROTO) on a short buffer or an opcode other than control/hello/helloreply.
Result<IserHeader> decode_iser_header(Bytes in);

}  // namespace iser::pdu
