// UNMAP parameter list (SBC-4 §5.30.2): 8-byte header, then one 16-byte block descriptor
// per extent. The CDB is unmap(list length) from cdb.hpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/bytes.hpp"

namespace iser::scsi {

struct UnmapExtent {
    std::uint64_t lba = 0;
    std::uint32_t blocks = 0;
};

constexpr std::size_t kUnmapHeaderSize = 8;
constexpr std::size_t kUnmapDescriptorSize = 16;
// The PARAMETER LIST LENGTH of the CDB is 16 bits.
constexpr std::size_t kUnmapMaxDescriptors = (0xffff - kUnmapHeaderSize) / kUnmapDescriptorSize;

constexpr std::size_t unmap_parameter_list_size(std::size_t extents) {
    return kUnmapHeaderSize + extents * kUnmapDescriptorSize;
}

// Writes the list into out and returns its size in bytes. Returns 0 and writes nothing when
// extents is empty, has more than kUnmapMaxDescriptors entries, or out is too small: a
// partial list would silently leave blocks mapped. (Check the target's
// max_unmap_descriptors / max_unmap_lba_count from VPD 0xB0 before building.)
std::size_t build_unmap_parameter_list(std::span<const UnmapExtent> extents, MutableBytes out);

}  // namespace iser::scsi
