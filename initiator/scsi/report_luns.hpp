// REPORT LUNS parameter data (SPC-5 §6.33) and SAM-5 single-level LUN addressing (§4.7).
#pragma once
#include <cstdint>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace iser::scsi {

// One LUN of the list: its number and the 8-byte LUN field exactly as the target sent it
// (big-endian, as a uint64). Send `wire` back in the iSCSI LUN field: LIO reports LUNs of
// 256 and above in Linux's int_to_scsilun() form (peripheral method, "bus" = high byte),
// tgtd in flat form, and each target only understands its own spelling.
struct ReportedLun {
    std::uint32_t lun = 0;
    std::uint64_t wire = 0;
};

// Single-level LUNs in list order. Decoded: peripheral device addressing (byte 0 bits 7-6
// = 00: LUN = byte 1, or (bus << 8) | byte 1 for LIO's LUNs >= 256) and flat space
// addressing (01: ((byte0 & 0x3f) << 8) | byte 1), with bytes 2..7 zero. Skipped: logical
// unit and extended addressing, well-known LUNs, multi-level LUNs.
// LUN LIST LENGTH larger than the data received is normal (allocation length too small):
// the entries present are returned. Fewer than 8 header bytes, or a LUN LIST LENGTH that is
// not a multiple of 8, fail with EPROTO.
Result<std::vector<ReportedLun>> parse_report_luns_entries(Bytes data);
Result<std::vector<std::uint32_t>> parse_report_luns(Bytes data);

// Bytes the full list needs (8 + LUN LIST LENGTH): reissue with this allocation length when
// it exceeds the one used.
Result<std::uint32_t> report_luns_total_length(Bytes data);

// The standard SAM single-level encoding of a LUN for the iSCSI LUN field: peripheral
// (00 LL) below 256, flat space (4H LL) up to 16383. Prefer ReportedLun::wire when known.
// LUNs above 16383 cannot be expressed in one level; they are masked to 14 bits.
std::uint64_t encode_lun(std::uint32_t lun);

}  // namespace iser::scsi
