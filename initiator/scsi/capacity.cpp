#include "initiator/scsi/capacity.hpp"

#include <string>

namespace iser::scsi {

Result<ReadCapacity16> parse_read_capacity16(Bytes d) {
    if (d.size() < 16)
        return make_error(EPROTO, "READ CAPACITY(16) data too short: " + std::to_string(d.size()) +
                                      " bytes, need 16");
    std::uint64_t last = load_be64(&d[0]);
    if (last == UINT64_MAX)
        return make_error(EPROTO, "READ CAPACITY(16) returned last LBA 2^64-1: capacity overflows");
    ReadCapacity16 c;
    c.num_blocks = last + 1;
    c.block_size = load_be32(&d[8]);
    if (c.block_size == 0) return make_error(EPROTO, "READ CAPACITY(16) returned a block size of 0");
    c.p_type = (d[12] >> 1) & 0x07;
    c.prot_en = d[12] & 0x01;
    c.p_i_exponent = d[13] >> 4;
    c.physical_exponent = d[13] & 0x0f;
    c.lbpme = d[14] & 0x80;
    c.lbprz = d[14] & 0x40;
    c.lowest_aligned_lba = std::uint16_t((d[14] & 0x3f) << 8 | d[15]);
    return c;
}

Result<ReadCapacity10> parse_read_capacity10(Bytes d) {
    if (d.size() < 8)
        return make_error(EPROTO, "READ CAPACITY(10) data too short: " + std::to_string(d.size()) +
                                      " bytes, need 8");
    std::uint32_t last = load_be32(&d[0]);
    ReadCapacity10 c;
    c.block_size = load_be32(&d[4]);
    c.use_read_capacity16 = last == UINT32_MAX;
    c.num_blocks = c.use_read_capacity16 ? 0 : std::uint64_t(last) + 1;
    if (c.block_size == 0) return make_error(EPROTO, "READ CAPACITY(10) returned a block size of 0");
    return c;
}

}  // namespace iser::scsi
