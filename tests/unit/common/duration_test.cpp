#include <doctest/doctest.h>

#include "common/duration.hpp"

using namespace std::chrono_literals;

TEST_CASE("durations in the forms people write") {
    CHECK(*iser::parse_duration("5") == 5000ms);
    CHECK(*iser::parse_duration("5s") == 5000ms);
    CHECK(*iser::parse_duration("0.5") == 500ms);
    CHECK(*iser::parse_duration("250ms") == 250ms);
    CHECK(*iser::parse_duration("2m") == 120000ms);
    CHECK(*iser::parse_duration("2min") == 120000ms);
    CHECK(*iser::parse_duration("1h") == 3600000ms);
    CHECK(*iser::parse_duration("0") == 0ms);
}

TEST_CASE("malformed durations are refused with the text in the message") {
    for (const char* bad : {"", "s", "5x", "-1", "1.2.3", ".5", "5.", "31d", "99999999h", "5 s", "nan"}) {
        auto r = iser::parse_duration(bad);
        CHECK_MESSAGE(!r.ok(), bad);
        if (!r.ok()) CHECK(r.error().message.find(std::string("'") + bad + "'") != std::string::npos);
    }
}

TEST_CASE("formatting gives the shortest exact form and parses back") {
    CHECK(iser::format_duration(0ms) == "0");
    CHECK(iser::format_duration(5000ms) == "5s");
    CHECK(iser::format_duration(1500ms) == "1500ms");
    CHECK(iser::format_duration(120000ms) == "2m");
    CHECK(iser::format_duration(7200000ms) == "2h");
    for (auto d : {1ms, 999ms, 61000ms, 3600000ms})
        CHECK(*iser::parse_duration(iser::format_duration(d)) == d);
}
