// What a rescan does with each frontend, and the ublk error line users see on Linux < 6.16.
#include <doctest/doctest.h>

#include "daemon/resize_plan.hpp"

using namespace iser::daemon;

TEST_CASE("plan_resize: same size changes nothing, whatever the frontend") {
    for (const char* f : {"ublk", "nbd", "nbd-server"}) {
        CHECK(plan_resize(f, 64 << 20, 64 << 20, false) == ResizeStep::Unchanged);
        CHECK(plan_resize(f, 64 << 20, 64 << 20, true) == ResizeStep::Unchanged);
    }
}

TEST_CASE("plan_resize: kernel NBD always resizes, growing or shrinking") {
    CHECK(plan_resize("nbd", 64 << 20, 96 << 20, false) == ResizeStep::ResizeDevice);
    CHECK(plan_resize("nbd", 96 << 20, 64 << 20, false) == ResizeStep::ResizeDevice);
}

TEST_CASE("plan_resize: ublk resizes only with UPDATE_SIZE") {
    CHECK(plan_resize("ublk", 64 << 20, 96 << 20, true) == ResizeStep::ResizeDevice);
    CHECK(plan_resize("ublk", 64 << 20, 96 << 20, false) == ResizeStep::CannotResize);
    CHECK(plan_resize("ublk", 96 << 20, 64 << 20, false) == ResizeStep::CannotResize);
}

TEST_CASE("plan_resize: an NBD socket server has no kernel device") {
    CHECK(plan_resize("nbd-server", 64 << 20, 96 << 20, false) == ResizeStep::ServerOnly);
}

TEST_CASE("cannot_resize_message: the line iserctl prints") {
    CHECK(cannot_resize_message(96 << 20, 64 << 20) ==
          "LUN is now 96 MiB but this kernel's ublk cannot resize a live device (needs Linux 6.16, "
          "UBLK_F_UPDATE_SIZE); the device keeps 64 MiB until logout/login");
}
