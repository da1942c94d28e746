#include "initiator/scsi/unmap.hpp"

#include <algorithm>

namespace iser::scsi {

std::size_t build_unmap_parameter_list(std::span<const UnmapExtent> extents, MutableBytes out) {
    if (extents.empty() || extents.size() > kUnmapMaxDescriptors) return 0;
    std::size_t size = unmap_parameter_list_size(extents.size());
    if (out.size() < size) return 0;
    std::fill_n(out.begin(), size, std::uint8_t{0});
    // UNMAP DATA LENGTH excludes its own two bytes; BLOCK DESCRIPTOR DATA LENGTH is the rest.
    store_be16(&out[0], std::uint16_t(size - 2));
    store_be16(&out[2], std::uint16_t(size - kUnmapHeaderSize));
    std::uint8_t* p = &out[kUnmapHeaderSize];
    for (const auto& e : extents) {
        store_be64(p, e.lba);
        store_be32(p + 8, e.blocks);
        p += kUnmapDescriptorSize;
    }
    return size;
}

}  // namespace iser::scsi
