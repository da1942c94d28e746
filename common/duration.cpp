#include "common/duration.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace iser {
namespace {

constexpr double kMaxMs = 30.0 * 24 * 3600 * 1000;

Error bad(std::string_view text, const char* why) {
    return make_error(EINVAL, "'" + std::string(text) + "' is not a duration (" + why +
                                  "; write e.g. 5s, 500ms, 2m, 1h or a number of seconds)");
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    if (text.empty()) return bad(text, "empty");
    std::size_t end = 0;
    while (end < text.size() && ((text[end] >= '0' && text[end] <= '9') || text[end] == '.')) ++end;
    if (end == 0) return bad(text, "no number");
    std::string number(text.substr(0, end));
    if (number.front() == '.' || number.back() == '.' || number.find('.') != number.rfind('.'))
        return bad(text, "malformed number");
    char* stop = nullptr;
    errno = 0;
    double value = std::strtod(number.c_str(), &stop);
    if (errno || stop != number.c_str() + number.size()) return bad(text, "malformed number");
    std::string_view unit = text.substr(end);
    double scale;
    if (unit.empty() || unit == "s") scale = 1000;
    else if (unit == "ms") scale = 1;
    else if (unit == "m" || unit == "min") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else return bad(text, "unknown unit");
    double ms = value * scale;
    if (!std::isfinite(ms) || ms > kMaxMs) return bad(text, "longer than 30 days");
    return std::chrono::milliseconds(std::llround(ms));
}

std::string format_duration(std::chrono::milliseconds d) {
    long long ms = d.count();
    if (ms == 0) return "0";
    if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace iser
