// READ CAPACITY (10) and (16) parameter data (SBC-4 §5.20, §5.21).
#pragma once
#include <cstdint>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace iser::scsi {

struct ReadCapacity16 {
    std::uint64_t num_blocks = 0;  // RETURNED LOGICAL BLOCK ADDRESS + 1
    std::uint32_t block_size = 0;  // bytes per logical block
    std::uint8_t physical_exponent = 0;  // 2^n logical blocks per physical block
    bool lbpme = false;  // thin provisioning enabled (UNMAP/WRITE SAME may deallocate)
    bool lbprz = false;  // unmapped blocks read as zeros
    std::uint16_t lowest_aligned_lba = 0;
    bool prot_en = false;             // protection information enabled
    std::uint8_t p_type = 0;          // protection type - 1 when prot_en
    std::uint8_t p_i_exponent = 0;
};
// Needs the first 16 bytes (every field above); a block size of 0 or a last LBA of
// 2^64-1 (no room for "+1") fail with EPROTO.
Result<ReadCapacity16> parse_read_capacity16(Bytes data);

struct ReadCapacity10 {
    std::uint64_t num_blocks = 0;
    std::uint32_t block_size = 0;
    // RETURNED LBA was 0xFFFFFFFF: the medium is too large for this command and num_blocks
    // is meaningless; issue READ CAPACITY(16).
    bool use_read_capacity16 = false;
};
Result<ReadCapacity10> parse_read_capacity10(Bytes data);

}  // namespace iser::scsi
