#include "initiator/datamover/iser/region_table.hpp"

#include <algorithm>
#include <functional>

namespace iser::datamover {
namespace {
// Addresses compared as integers: std::less on unrelated pointers is well defined, '<' is not.
std::uintptr_t addr(const std::uint8_t* p) { return reinterpret_cast<std::uintptr_t>(p); }
}  // namespace

bool RegionTable::add(const Region& region) {
    if (region.size == 0) return false;
    auto it = std::upper_bound(regions_.begin(), regions_.end(), addr(region.base),
                               [](std::uintptr_t a, const Region& r) { return a < addr(r.base); });
    if (it != regions_.end() && addr(region.base) + region.size > addr(it->base)) return false;
    if (it != regions_.begin()) {
        const Region& prev = *(it - 1);
        if (addr(prev.base) + prev.size > addr(region.base)) return false;
    }
    regions_.insert(it, region);
    return true;
}

bool RegionTable::remove(const std::uint8_t* base) {
    auto it = std::find_if(regions_.begin(), regions_.end(), [&](const Region& r) { return r.base == base; });
    if (it == regions_.end()) return false;
    regions_.erase(it);
    return true;
}

const Region* RegionTable::find(const std::uint8_t* p, std::size_t length) const {
    const std::uintptr_t a = addr(p);
    // The last region starting at or below p.
    auto it = std::upper_bound(regions_.begin(), regions_.end(), a,
                               [](std::uintptr_t v, const Region& r) { return v < addr(r.base); });
    if (it == regions_.begin()) return nullptr;
    const Region& r = *(it - 1);
    const std::uintptr_t offset = a - addr(r.base);
    if (offset >= r.size || length > r.size - offset) return nullptr;
    return &r;
}

}  // namespace iser::datamover
