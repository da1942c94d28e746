// Sense data (SPC-5 §4.4): decoding of fixed (0x70/0x71) and descriptor (0x72/0x73) formats,
// the iSCSI sense segment wrapper (RFC 7143 §11.4.7.2), and what a sense means to the caller:
// an errno (as the Linux midlayer would report it) and whether a retry may succeed.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace iser::scsi {

namespace sense_key {
constexpr std::uint8_t NoSense = 0x0;
constexpr std::uint8_t RecoveredError = 0x1;
constexpr std::uint8_t NotReady = 0x2;
constexpr std::uint8_t MediumError = 0x3;
constexpr std::uint8_t HardwareError = 0x4;
constexpr std::uint8_t IllegalRequest = 0x5;
constexpr std::uint8_t UnitAttention = 0x6;
constexpr std::uint8_t DataProtect = 0x7;
constexpr std::uint8_t BlankCheck = 0x8;
constexpr std::uint8_t VendorSpecific = 0x9;
constexpr std::uint8_t CopyAborted = 0xa;
constexpr std::uint8_t AbortedCommand = 0xb;
constexpr std::uint8_t VolumeOverflow = 0xd;
constexpr std::uint8_t Miscompare = 0xe;
constexpr std::uint8_t Completed = 0xf;
}  // namespace sense_key

struct Sense {
    bool valid = false;              // sense data was present and in a known format
    bool descriptor_format = false;  // 0x72/0x73 rather than 0x70/0x71
    bool deferred = false;           // 0x71/0x73: error of an earlier command
    std::uint8_t key = 0;
    std::uint8_t asc = 0;
    std::uint8_t ascq = 0;
    // Fixed format: INFORMATION when the VALID bit is set. Descriptor format: the
    // information descriptor (type 0x00) when its VALID bit is set. For medium errors on
    // READ/WRITE this is the first failing LBA.
    std::optional<std::uint64_t> information;
    std::uint8_t response_code = 0;  // 0x70..0x73
    bool ili = false;                // incorrect length indicator (fixed format only)
};

// Decodes sense data. Short data is accepted as far as it goes (a target may send only the
// first 8 or 14 bytes; missing ASC/ASCQ read as 0) but fewer than the bytes carrying the
// sense key, or an unknown response code, fail with EPROTO.
Result<Sense> parse_sense(Bytes data);

// Decodes the data segment of an iSCSI SCSI Response: a 2-byte big-endian SenseLength, the
// sense data, then possibly response data and padding. An empty segment or SenseLength 0
// means "no sense" (Sense::valid == false). SenseLength beyond the segment fails (EPROTO).
Result<Sense> parse_iscsi_sense_segment(Bytes segment);

// "NO SENSE", "NOT READY", ...
const char* sense_key_name(std::uint8_t key);

// Positive errno for a CHECK CONDITION with this sense, 0 when the command must be treated
// as successful (RECOVERED ERROR). See sense_errno.cpp for the table and its reasons.
int sense_to_errno(const Sense& sense);
// Same, knowing the command's opcode: like Linux sd, an UNMAP or WRITE SAME rejected with
// INVALID FIELD IN CDB (24/00) means "not supported" (EOPNOTSUPP), so discard gets disabled.
int sense_to_errno(const Sense& sense, std::uint8_t cdb_opcode);
// True when reissuing the same command may succeed (transient conditions the Linux midlayer
// retries: unit attentions, "becoming ready" family, ALUA transitions, aborted commands).
// Exactly the senses for which sense_to_errno returns EAGAIN.
bool sense_is_retryable(const Sense& sense);

// One line: "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (asc 0x21 ascq 0x00)".
std::string describe(const Sense& sense);
// Text of an ASC/ASCQ pair, or nullptr when it is not in the table.
const char* asc_ascq_text(std::uint8_t asc, std::uint8_t ascq);

}  // namespace iser::scsi
