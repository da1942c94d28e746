// MODE SENSE(6)/(10) parameter data (SPC-5 §7.5): the mode parameter header, optional block
// descriptors, then mode pages. The initiator reads the caching page (SBC-4 §6.5.5) to
// learn whether the target has a volatile write cache (WCE), and the header's DPOFUA bit to
// learn whether FUA writes are honoured.
#pragma once
#include <cstdint>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace iser::scsi {

struct ModeHeader {
    std::size_t header_size = 0;           // 4 (MODE SENSE 6) or 8 (MODE SENSE 10)
    std::size_t data_length = 0;           // bytes the target holds, header included
    std::uint8_t medium_type = 0;
    bool write_protect = false;            // device-specific parameter bit 7 (WP)
    bool dpofua = false;                   // device-specific parameter bit 4 (DPO and FUA)
    bool long_lba = false;                 // 16-byte block descriptors (MODE SENSE 10 only)
    std::uint16_t block_descriptor_length = 0;
};
Result<ModeHeader> parse_mode_header10(Bytes data);
Result<ModeHeader> parse_mode_header6(Bytes data);

struct CachingPage {
    bool wce = false;  // write cache enabled: SYNCHRONIZE CACHE / FUA needed for durability
    bool rcd = false;  // read cache disabled
};
// Walks header and block descriptors to page 0x08. EPROTO when the page is absent,
// truncated or the lengths contradict each other.
Result<CachingPage> parse_caching_page_mode_sense10(Bytes data);
Result<CachingPage> parse_caching_page_mode_sense6(Bytes data);

// DPOFUA of a MODE SENSE(10) header; false when the header is short or malformed.
bool parse_dpofua_mode_sense10(Bytes data);

}  // namespace iser::scsi
