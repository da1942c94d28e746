#include <algorithm>

#include "initiator/lun/lun_info.hpp"

namespace iser::lun {

BlockGeometry geometry_for(const LunInfo& info, std::string name, std::uint32_t transport_max_io) {
    BlockGeometry g;
    const std::uint32_t bs = info.capacity.block_size;
    g.name = std::move(name);
    g.size_bytes = info.capacity.num_blocks * bs;
    g.logical_block_size = bs;
    g.physical_block_size = bs << std::min<std::uint8_t>(info.capacity.physical_exponent, 8);

    std::uint64_t max_io = std::min(transport_max_io, kDefaultMaxIoBytes);
    if (info.limits && info.limits->max_transfer_blocks)
        max_io = std::min<std::uint64_t>(max_io, std::uint64_t(info.limits->max_transfer_blocks) * bs);
    g.max_io_bytes = std::max<std::uint32_t>(bs, std::uint32_t(max_io / bs * bs));

    g.volatile_cache = info.write_cache;
    g.fua = info.write_cache && info.dpofua;

    // UNMAP needs thin provisioning enabled (LBPME), the UNMAP command offered (LBPU) and a limit.
    if (info.capacity.lbpme && info.provisioning && info.provisioning->lbpu && info.limits &&
        info.limits->max_unmap_lba_count > 0) {
        g.discard = true;
        std::uint32_t gran = std::max<std::uint32_t>(1, info.limits->optimal_unmap_granularity);
        g.discard_granularity_bytes = gran * bs;
        g.max_discard_bytes = std::uint64_t(std::min<std::uint32_t>(info.limits->max_unmap_lba_count, 0x3fffff)) * bs;
    }
    // WRITE SAME(16) with one block of zeros; a target without it answers EOPNOTSUPP and the
    // frontend's kernel falls back to writing zeroes itself.
    g.write_zeroes = true;
    // Without a limit from the Block Limits page, stay under LIO's default max_write_same_len
    // (4096 blocks): a larger WRITE SAME is refused as INVALID FIELD IN CDB.
    std::uint64_t ws_blocks = info.limits && info.limits->max_write_same_blocks ? info.limits->max_write_same_blocks : 2048;
    g.max_write_zeroes_bytes = std::min<std::uint64_t>(ws_blocks, 0x3fffff) * bs;
    return g;
}

}  // namespace iser::lun
