// Numeric tuning knobs from the environment (common/env_number.hpp).
#include <stdlib.h>

#include <string>

#include "common/env_number.hpp"
#include <doctest/doctest.h>

namespace {
constexpr const char* kName = "ISER_TEST_KNOB";
struct Knob {
    explicit Knob(const char* value) {
        if (value) setenv(kName, value, 1);
        else unsetenv(kName);
    }
    ~Knob() { unsetenv(kName); }
};
}  // namespace

TEST_CASE("env_number: unset or empty gives the caller's default") {
    {
        Knob k(nullptr);
        auto n = iser::env_number(kName, 7, 100);
        REQUIRE(n);
        CHECK(*n == 7);
    }
    Knob k("");
    auto n = iser::env_number(kName, 7, 100);
    REQUIRE(n);
    CHECK(*n == 7);
}

TEST_CASE("env_number: decimal numbers from 0 to the maximum") {
    for (auto [text, want] : {std::pair{"0", 0ull}, std::pair{"1", 1ull}, std::pair{"0100", 100ull}, std::pair{"1000000", 1000000ull}}) {
        Knob k(text);
        auto n = iser::env_number(kName, 7, 1000000);
        REQUIRE(n);
        CHECK(*n == want);
    }
}

TEST_CASE("env_number: anything else is an error naming the variable, its value and the range") {
    // A sign, blanks, a unit, hex, or too large: strtoul would have read "-1" as a huge number,
    // " 5" and "5us" as 5 and "abc" as 0, with no word to the user.
    for (const char* bad : {"-1", "+5", " 5", "5 ", "5us", "3ms", "0x10", "abc", "1000001", "99999999999999999999999"}) {
        Knob k(bad);
        auto n = iser::env_number(kName, 7, 1000000);
        REQUIRE_FALSE(n);
        CHECK(n.error().message == std::string(kName) + "=" + bad + " is not a number from 0 to 1000000");
    }
}
