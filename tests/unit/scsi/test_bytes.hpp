// Small helpers to write captured responses as byte arrays with readable ASCII parts.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace scsi_test {

using Vec = std::vector<std::uint8_t>;

inline Vec ascii(std::string_view s) { return Vec(s.begin(), s.end()); }

inline Vec cat(std::initializer_list<Vec> parts) {
    Vec out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

inline Vec zeros(std::size_t n) { return Vec(n, 0); }

}  // namespace scsi_test
