// VPD 0xB0 (block limits) and 0xB2 (logical block provisioning), SBC-4 §6.6.4 and §6.6.6.
#include "initiator/scsi/inquiry.hpp"

namespace iser::scsi {
namespace {

constexpr std::size_t kLbpBodyMin = 4;  // bytes 4..7 of the page

// Offsets below are page offsets (header included); body = page + 4. A field is read only
// when the page length reaches its last byte.
struct PageReader {
    Bytes body;
    bool has(std::size_t page_off, std::size_t width) const { return page_off - 4 + width <= body.size(); }
    const std::uint8_t* at(std::size_t page_off) const { return &body[page_off - 4]; }
    std::uint32_t be32_or0(std::size_t off) const { return has(off, 4) ? load_be32(at(off)) : 0; }
};

}  // namespace

Result<BlockLimits> parse_block_limits_vpd(Bytes d) {
    auto body = detail::vpd_body(d, 0xb0, "block limits");
    if (!body) return body.take_error();
    PageReader r{*body};
    BlockLimits l;
    if (r.has(4, 1)) l.wsnz = *r.at(4) & 0x01;
    if (r.has(5, 1)) l.max_compare_and_write_blocks = *r.at(5);
    if (r.has(6, 2)) l.optimal_transfer_granularity = load_be16(r.at(6));
    l.max_transfer_blocks = r.be32_or0(8);
    l.optimal_transfer_blocks = r.be32_or0(12);
    l.max_prefetch_blocks = r.be32_or0(16);
    l.max_unmap_lba_count = r.be32_or0(20);
    l.max_unmap_descriptors = r.be32_or0(24);
    l.optimal_unmap_granularity = r.be32_or0(28);
    if (r.has(32, 4)) {
        std::uint32_t v = load_be32(r.at(32));
        l.ugavalid = v & 0x80000000u;
        l.unmap_granularity_alignment = v & 0x7fffffffu;
    }
    if (r.has(36, 8)) l.max_write_same_blocks = load_be64(r.at(36));
    return l;
}

Result<LogicalBlockProvisioning> parse_lbp_vpd(Bytes d) {
    auto body = detail::vpd_body(d, 0xb2, "logical block provisioning");
    if (!body) return body.take_error();
    if (body->size() < kLbpBodyMin)
        return make_error(EPROTO, "VPD page 0xb2 (logical block provisioning) page length " +
                                      std::to_string(body->size()) + " is below the 4 bytes SBC defines");
    Bytes b = *body;
    LogicalBlockProvisioning p;
    p.threshold_exponent = b[0];
    p.lbpu = b[1] & 0x80;
    p.lbpws = b[1] & 0x40;
    p.lbpws10 = b[1] & 0x20;
    // LBPRZ is bits 4..2 since SBC-4 (001b: zeros, 010b: provisioning pattern); in SBC-3 it
    // was bit 2 alone. Bit 2 set means "reads return zeros" under both readings.
    p.lbprz = b[1] & 0x04;
    p.anc_sup = b[1] & 0x02;
    p.dp = b[1] & 0x01;
    p.provisioning_type = b[2] & 0x07;
    return p;
}

}  // namespace iser::scsi
