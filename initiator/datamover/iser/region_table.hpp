// Registered memory regions by address range: which memory key covers a task buffer.
// Regions are registered once (add_io_memory) and looked up per command, so lookup is a
// binary search over a small sorted vector; no allocation on lookup.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace iser::datamover {

struct Region {
    std::uint8_t* base = nullptr;
    std::size_t size = 0;
    std::uint32_t lkey = 0;  // local key: our own SGEs pointing into it
    std::uint32_t rkey = 0;  // remote key (STag) the target uses for RDMA Read/Write
    void* handle = nullptr;  // the ibv_mr, opaque here
};

class RegionTable {
public:
    // Regions must not overlap (they come from distinct mmaps); false if one would.
    bool add(const Region& region);
    // Removes the region starting at base; false when there is none.
    bool remove(const std::uint8_t* base);
    // The region holding all of [p, p + length), or nullptr.
    const Region* find(const std::uint8_t* p, std::size_t length) const;
    const std::vector<Region>& all() const { return regions_; }
    void clear() { regions_.clear(); }

private:
    std::vector<Region> regions_;  // sorted by base
};

}  // namespace iser::datamover
