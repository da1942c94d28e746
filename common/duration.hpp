// Durations as people write them in flags and config files: "5s", "500ms", "2m", "1h", or a
// bare number of seconds ("5", "0.5"). One parser so iserctl and iser.yaml agree.
#pragma once
#include <chrono>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace iser {

// Milliseconds, at most 30 days; errors name the text and the accepted forms.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);
// The shortest exact form: "5s", "1500ms", "2m", "0".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace iser
