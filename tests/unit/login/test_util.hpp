// Helpers shared by the login unit tests: text segments written as readable key lists.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "initiator/login/text.hpp"

namespace login_test {

// "a=1\0b=2\0" from {{"a","1"},{"b","2"}}.
inline std::vector<std::uint8_t> text(const iser::login::KeyValues& keys) {
    std::vector<std::uint8_t> out;
    iser::login::append_keys(out, keys);
    return out;
}

// Bytes of a string literal that may contain NULs: bytes_of("a=b\0"sv).
inline iser::Bytes bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace login_test
