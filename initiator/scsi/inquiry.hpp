// INQUIRY data (SPC-5 §6.7) and the VPD pages the initiator reads to set up a block device:
// 0x00 supported pages, 0x80 unit serial number, 0x83 device identification (SPC-5 §7.7),
// 0xB0 block limits and 0xB2 logical block provisioning (SBC-4 §6.6).
// Parsers fail with EPROTO on short or self-contradicting data; a VPD page whose length
// field exceeds what was received means the allocation length was too small: read
// vpd_total_length() and reissue.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace iser::scsi {

namespace device_type {
constexpr std::uint8_t DirectAccess = 0x00;  // disk
constexpr std::uint8_t Enclosure = 0x0d;
constexpr std::uint8_t NoDevice = 0x1f;      // unknown or no device type
}  // namespace device_type

// Peripheral qualifier 0: a LUN is connected; 1: supported but not connected now;
// 3: the target cannot have a device at this LUN.
struct StandardInquiry {
    std::uint8_t peripheral_qualifier = 0;
    std::uint8_t device_type = 0;
    bool removable = false;
    std::uint8_t version = 0;  // 0x05 SPC-3, 0x06 SPC-4, 0x07 SPC-5
    bool cmdque = false;
    std::string vendor;    // T10 vendor identification, trailing spaces trimmed
    std::string product;
    std::string revision;
    std::uint8_t response_data_format = 0;  // 2 for every target since SCSI-3
    std::uint8_t tpgs = 0;                  // ALUA support (0 none, 1 implicit, 2 explicit, 3 both)
    bool protect = false;                   // supports protection information
    bool hisup = false;                     // hierarchical LUN addressing
};
Result<StandardInquiry> parse_standard_inquiry(Bytes data);

// Total size the target wants to return for a VPD page (4-byte header + PAGE LENGTH), so a
// caller that received a truncated page can reissue INQUIRY with a larger allocation length.
Result<std::size_t> vpd_total_length(Bytes data);

// Page codes listed in VPD page 0x00.
Result<std::vector<std::uint8_t>> parse_supported_vpd_pages(Bytes data);
// Product serial number of VPD page 0x80, leading/trailing spaces and NULs trimmed.
Result<std::string> parse_unit_serial(Bytes data);

namespace designator_type {
constexpr std::uint8_t VendorSpecific = 0x0;
constexpr std::uint8_t T10VendorId = 0x1;
constexpr std::uint8_t Eui64 = 0x2;
constexpr std::uint8_t Naa = 0x3;
constexpr std::uint8_t RelativeTargetPort = 0x4;
constexpr std::uint8_t TargetPortGroup = 0x5;
constexpr std::uint8_t LogicalUnitGroup = 0x6;
constexpr std::uint8_t Md5LogicalUnit = 0x7;
constexpr std::uint8_t ScsiNameString = 0x8;
}  // namespace designator_type

namespace code_set {
constexpr std::uint8_t Binary = 0x1;
constexpr std::uint8_t Ascii = 0x2;
constexpr std::uint8_t Utf8 = 0x3;
}  // namespace code_set

// One designation descriptor of VPD page 0x83. association: 0 logical unit, 1 target port,
// 2 target device.
struct Designator {
    std::uint8_t code_set = 0;
    std::uint8_t type = 0;
    std::uint8_t association = 0;
    std::vector<std::uint8_t> value;
    std::uint8_t protocol_identifier = 0;  // meaningful only when piv
    bool piv = false;
};
Result<std::vector<Designator>> parse_device_identification(Bytes data);

// A stable name for the logical unit from its LU-associated designators: the longest NAA as
// lowercase hex (LIO: "6001405..."), else the longest EUI-64 as hex, else the T10 vendor ID
// text (tgtd: "IET     VIRTUAL-DISK...", trimmed), else the SCSI name string; "" if none.
std::string preferred_device_id(const std::vector<Designator>& designators);

// VPD 0xB0. Fields the page does not reach (old targets send 0x0C or 0x10 bytes of page
// instead of 0x3C) are 0, which SBC defines as "no limit reported".
struct BlockLimits {
    std::uint32_t max_transfer_blocks = 0;
    std::uint32_t optimal_transfer_blocks = 0;
    std::uint32_t max_unmap_lba_count = 0;
    std::uint32_t max_unmap_descriptors = 0;
    std::uint32_t optimal_unmap_granularity = 0;
    std::uint32_t unmap_granularity_alignment = 0;
    bool ugavalid = false;
    std::uint64_t max_write_same_blocks = 0;
    std::uint16_t optimal_transfer_granularity = 0;
    std::uint8_t max_compare_and_write_blocks = 0;
    bool wsnz = false;  // WRITE SAME with 0 blocks is refused (it would mean "to the end")
    std::uint32_t max_prefetch_blocks = 0;
};
Result<BlockLimits> parse_block_limits_vpd(Bytes data);

// VPD 0xB2.
struct LogicalBlockProvisioning {
    bool lbpu = false;     // UNMAP supported
    bool lbpws = false;    // WRITE SAME(16) with UNMAP supported
    bool lbpws10 = false;  // WRITE SAME(10) with UNMAP supported
    bool lbprz = false;    // unmapped blocks read as zeros (LBPRZ field 001b)
    bool anc_sup = false;  // ANCHOR supported
    bool dp = false;       // a provisioning group descriptor follows
    std::uint8_t provisioning_type = 0;  // 0 full, 1 resource provisioned, 2 thin
    std::uint8_t threshold_exponent = 0;
};
Result<LogicalBlockProvisioning> parse_lbp_vpd(Bytes data);

namespace detail {
// The page body after the 4-byte VPD header, checked against the expected page code and
// the PAGE LENGTH field.
Result<Bytes> vpd_body(Bytes data, std::uint8_t page, const char* page_name);
// Bytes of a fixed-width ASCII field with trailing spaces/NULs removed and non-printable
// bytes replaced by '?', so a hostile target cannot put escapes into logs.
std::string ascii_field(Bytes field, bool trim_leading);
std::string hex_byte(std::uint8_t v);  // "0x5a"
}  // namespace detail

}  // namespace iser::scsi
