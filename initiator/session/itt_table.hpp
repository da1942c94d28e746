// Initiator Task Tags: a fixed table of in-flight tasks indexed by the low bits of the ITT, with
// a generation in the high bits so a late or forged response for a reused slot is recognised.
#pragma once
#include <cstdint>
#include <vector>

namespace iser::session {

template <class T>
class IttTable {
public:
    explicit IttTable(std::uint32_t capacity) : slots_(capacity), gens_(capacity, 0) {
        free_.reserve(capacity);
        for (std::uint32_t i = capacity; i-- > 0;) free_.push_back(i);
    }
    bool full() const { return free_.empty(); }
    std::uint32_t in_use() const { return std::uint32_t(slots_.size() - free_.size()); }
    std::uint32_t capacity() const { return std::uint32_t(slots_.size()); }

    // Returns the ITT for a newly inserted entry (never 0xffffffff).
    std::uint32_t insert(T* item) {
        std::uint32_t idx = free_.back();
        free_.pop_back();
        slots_[idx] = item;
        gens_[idx] = (gens_[idx] + 1) & 0x7fff;
        return gens_[idx] << 16 | idx;
    }
    T* find(std::uint32_t itt) const {
        std::uint32_t idx = itt & 0xffff;
        if (idx >= slots_.size() || slots_[idx] == nullptr || gens_[idx] != (itt >> 16)) return nullptr;
        return slots_[idx];
    }
    T* remove(std::uint32_t itt) {
        T* item = find(itt);
        if (item) {
            slots_[itt & 0xffff] = nullptr;
            free_.push_back(itt & 0xffff);
        }
        return item;
    }
    template <class F>
    void for_each(F&& f) const {
        for (auto* s : slots_)
            if (s) f(s);
    }

private:
    std::vector<T*> slots_;
    std::vector<std::uint32_t> gens_;
    std::vector<std::uint32_t> free_;
};

}  // namespace iser::session
