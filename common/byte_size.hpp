// Sizes as people write them in flags and config files: "32M", "512K", "1G", "1048576" (bytes),
// with an optional "iB" ("32MiB"). Powers of 1024. One parser so iserd and iser.yaml agree.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace iser {

// Bytes, 1..max; errors name the text and the accepted forms.
Result<std::uint64_t> parse_byte_size(std::string_view text, std::uint64_t max = std::uint64_t(1) << 40);
// The shortest exact form: "32M", "1536K", "100".
std::string format_byte_size(std::uint64_t bytes);

}  // namespace iser
