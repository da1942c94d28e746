// CDB builders for the commands the initiator sends (SBC-4, SPC-5). Every builder returns a
// full 16-byte array as the iSCSI SCSI Command BHS carries it; bytes past the command's own
// length are zero. Control bytes are zero (no NACA, no linking).
#pragma once
#include <array>
#include <cstdint>

namespace iser::scsi {

using Cdb = std::array<std::uint8_t, 16>;

namespace opcode {
constexpr std::uint8_t TestUnitReady = 0x00;
constexpr std::uint8_t Inquiry = 0x12;
constexpr std::uint8_t ModeSense6 = 0x1a;
constexpr std::uint8_t ReadCapacity10 = 0x25;
constexpr std::uint8_t Read10 = 0x28;
constexpr std::uint8_t Write10 = 0x2a;
constexpr std::uint8_t SynchronizeCache10 = 0x35;
constexpr std::uint8_t WriteSame10 = 0x41;
constexpr std::uint8_t Unmap = 0x42;
constexpr std::uint8_t ModeSense10 = 0x5a;
constexpr std::uint8_t Read16 = 0x88;
constexpr std::uint8_t Write16 = 0x8a;
constexpr std::uint8_t SynchronizeCache16 = 0x91;
constexpr std::uint8_t WriteSame16 = 0x93;
constexpr std::uint8_t ServiceActionIn16 = 0x9e;  // READ CAPACITY(16) is service action 0x10
constexpr std::uint8_t ReportLuns = 0xa0;
}  // namespace opcode

constexpr std::uint8_t kServiceActionReadCapacity16 = 0x10;

// Mode page codes the initiator asks for.
namespace mode_page {
constexpr std::uint8_t Caching = 0x08;
constexpr std::uint8_t Control = 0x0a;
constexpr std::uint8_t AllPages = 0x3f;
}  // namespace mode_page

// VPD page codes (INQUIRY with EVPD=1).
namespace vpd_page {
constexpr std::uint8_t SupportedPages = 0x00;
constexpr std::uint8_t UnitSerial = 0x80;
constexpr std::uint8_t DeviceIdentification = 0x83;
constexpr std::uint8_t BlockLimits = 0xb0;
constexpr std::uint8_t BlockDeviceCharacteristics = 0xb1;
constexpr std::uint8_t LogicalBlockProvisioning = 0xb2;
}  // namespace vpd_page

// Length of a CDB from the group code in the top three opcode bits (SPC-5 §4.2.5.1):
// group 0 -> 6, 1 and 2 -> 10, 4 -> 16, 5 -> 12. Groups 3 (reserved / variable length)
// and 6, 7 (vendor specific) have no length implied by the opcode: 0 is returned.
std::uint8_t cdb_length(const Cdb& cdb);

Cdb test_unit_ready();
Cdb read10(std::uint32_t lba, std::uint16_t blocks, bool fua = false);
Cdb write10(std::uint32_t lba, std::uint16_t blocks, bool fua = false);
Cdb read16(std::uint64_t lba, std::uint32_t blocks, bool fua = false);
Cdb write16(std::uint64_t lba, std::uint32_t blocks, bool fua = false);
Cdb read_capacity10();
Cdb read_capacity16(std::uint32_t alloc_len = 32);
// SPC-4 and later: 16-bit allocation length in bytes 3-4. With evpd=false, page must be 0.
Cdb inquiry(bool evpd, std::uint8_t page, std::uint16_t alloc_len);
// SELECT REPORT 0: all LUNs addressable through this I_T nexus (well-known LUNs excluded).
Cdb report_luns(std::uint32_t alloc_len);
// blocks = 0 means "from lba to the end of the medium". IMMED = 0: status after the flush.
Cdb synchronize_cache10(std::uint32_t lba = 0, std::uint16_t blocks = 0);
Cdb synchronize_cache16(std::uint64_t lba, std::uint32_t blocks);
// The parameter list (build_unmap_parameter_list) travels as Data-Out.
Cdb unmap(std::uint16_t param_list_len);
// unmap: deallocate instead of writing when the target can. ndob: no Data-Out buffer, the
// blocks become zeros (SBC-4); without ndob one block of data goes out as Data-Out.
Cdb write_same16(std::uint64_t lba, std::uint32_t blocks, bool unmap, bool ndob);
// Current values (PC = 0). dbd=true asks the target to leave out block descriptors.
Cdb mode_sense10(std::uint8_t page, std::uint8_t subpage, std::uint16_t alloc_len, bool dbd = true);
Cdb mode_sense6(std::uint8_t page, std::uint8_t subpage, std::uint8_t alloc_len, bool dbd = true);

}  // namespace iser::scsi
