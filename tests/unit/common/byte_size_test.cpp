#include <doctest/doctest.h>

#include "common/byte_size.hpp"

using namespace iser;

TEST_CASE("sizes: bytes, K, M, G, with or without iB") {
    CHECK(*parse_byte_size("1048576") == 1048576);
    CHECK(*parse_byte_size("512K") == 512 * 1024);
    CHECK(*parse_byte_size("32M") == 32u << 20);
    CHECK(*parse_byte_size("32MiB") == 32u << 20);
    CHECK(*parse_byte_size("1G") == 1u << 30);
    CHECK(format_byte_size(32u << 20) == "32M");
    CHECK(format_byte_size(1536 * 1024) == "1536K");
    CHECK(format_byte_size(100) == "100");
}

TEST_CASE("sizes: bad forms are refused with the text named") {
    for (const char* bad : {"", "M", "-1M", "32X", "32 M", "0", "1.5G", "32MB", "99999999999999999999"}) {
        auto r = parse_byte_size(bad);
        CHECK_MESSAGE(!r, bad);
        if (!r) CHECK(r.error().message.find(std::string("'") + bad + "'") != std::string::npos);
    }
    CHECK(!parse_byte_size("2G", 1u << 30));
}
