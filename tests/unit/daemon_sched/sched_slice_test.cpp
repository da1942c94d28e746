// ISER_QUEUE_SLICE_US parsing and the request itself (daemon/sched_slice.hpp).
#include <sched.h>
#include <stdlib.h>

#include <string>

#include "daemon/sched_slice.hpp"
#include <doctest/doctest.h>

using iser::daemon::kDefaultQueueSlice;
using iser::daemon::queue_slice_from_env;
using iser::daemon::request_scheduler_slice;
using namespace std::chrono_literals;

namespace {
struct SliceEnv {
    explicit SliceEnv(const char* value) {
        if (value) setenv("ISER_QUEUE_SLICE_US", value, 1);
        else unsetenv("ISER_QUEUE_SLICE_US");
    }
    ~SliceEnv() { unsetenv("ISER_QUEUE_SLICE_US"); }
};
}  // namespace

TEST_CASE("queue slice: unset or empty gives the default, which is the kernel's own") {
    CHECK(kDefaultQueueSlice == 0us);
    {
        SliceEnv env(nullptr);
        auto s = queue_slice_from_env();
        REQUIRE(s);
        CHECK(*s == kDefaultQueueSlice);
    }
    SliceEnv env("");
    auto s = queue_slice_from_env();
    REQUIRE(s);
    CHECK(*s == kDefaultQueueSlice);
}

TEST_CASE("queue slice: microseconds from 0 to 100000") {
    for (auto [text, want] : {std::pair{"0", 0us}, std::pair{"300", 300us}, std::pair{"100000", 100000us}}) {
        SliceEnv env(text);
        auto s = queue_slice_from_env();
        REQUIRE(s);
        CHECK(*s == want);
    }
}

TEST_CASE("queue slice: anything else is an error that names the variable") {
    for (const char* bad : {"-1", "100001", "3ms", "abc", "99999999999999999999999"}) {
        SliceEnv env(bad);
        auto s = queue_slice_from_env();
        REQUIRE_FALSE(s);
        CHECK(s.error().message.find("ISER_QUEUE_SLICE_US=" + std::string(bad)) != std::string::npos);
    }
}

TEST_CASE("queue slice: the kernel takes the request for this thread") {
    // Any kernel with sched_setattr (3.14+) accepts SCHED_OTHER with a runtime: 6.12+ uses it as
    // the slice, older ones ignore it. 0 puts the default back.
    CHECK(request_scheduler_slice(300us));
    CHECK(sched_getscheduler(0) == SCHED_OTHER);
    CHECK(request_scheduler_slice(0us));
}
