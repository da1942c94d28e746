#include "common/byte_size.hpp"

#include <cerrno>
#include <charconv>

namespace iser {

Result<std::uint64_t> parse_byte_size(std::string_view text, std::uint64_t max) {
    auto bad = [&](const std::string& why) {
        return make_error(EINVAL, "bad size '" + std::string(text) + "': " + why +
                                      " (a number of bytes, or with K, M, G: 512K, 32M, 1G)");
    };
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end == text.data()) return bad("no number");
    std::string_view unit(end, std::size_t(text.data() + text.size() - end));
    if (unit.size() == 3 && unit.substr(1) == "iB") unit = unit.substr(0, 1);
    unsigned shift = 0;
    if (unit.empty()) shift = 0;
    else if (unit == "K" || unit == "k") shift = 10;
    else if (unit == "M") shift = 20;
    else if (unit == "G") shift = 30;
    else if (unit == "T") shift = 40;
    else return bad("unknown unit '" + std::string(unit) + "'");
    if (n == 0) return bad("must not be 0");
    if (n > (max >> shift) || (n << shift) > max) return bad("more than " + format_byte_size(max));
    return n << shift;
}

std::string format_byte_size(std::uint64_t bytes) {
    static const char* units[] = {"", "K", "M", "G", "T"};
    unsigned u = 0;
    while (u < 4 && bytes != 0 && bytes % 1024 == 0) {
        bytes /= 1024;
        ++u;
    }
    return std::to_string(bytes) + units[u];
}

}  // namespace iser
