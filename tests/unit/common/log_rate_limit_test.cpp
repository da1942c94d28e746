// LogRateLimit: a burst per window, the rest counted and reported once.
#include <doctest/doctest.h>

#include "common/log_rate_limit.hpp"

using namespace iser;
using namespace std::chrono_literals;

TEST_CASE("a burst of lines per window, the rest suppressed and counted, then a new window") {
    LogRateLimit limit(3, 10s);
    const auto t0 = LogRateLimit::Clock::time_point{} + 100s;
    int allowed = 0;
    for (int i = 0; i < 50; ++i) allowed += limit.allow(t0 + std::chrono::milliseconds(i));
    CHECK(allowed == 3);
    CHECK(limit.take_suppressed() == 47u);
    CHECK(limit.take_suppressed() == 0u);  // reported once
    CHECK_FALSE(limit.allow(t0 + 9s));      // same window
    CHECK(limit.allow(t0 + 10s));           // a new one
    CHECK(limit.take_suppressed() == 1u);
}
