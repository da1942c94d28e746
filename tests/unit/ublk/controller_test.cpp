// On a host without ublk_drv, Controller::open must say so in one clear line.
#include <doctest/doctest.h>

#include <unistd.h>

#include "ublk/controller.hpp"

using namespace iser::ublk;

TEST_CASE("Controller::open without /dev/ublk-control: clear 'not available' error") {
    if (::access("/dev/ublk-control", F_OK) == 0) {
        MESSAGE("ublk_drv is loaded here; the lab tests cover this machine");
        return;
    }
    auto c = Controller::open();
    REQUIRE(!c);
    CHECK(c.error().code == ENODEV);
    CHECK(c.error().message == "ublk is not available: /dev/ublk-control is missing (modprobe ublk_drv)");
}
