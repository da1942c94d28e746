#include <doctest/doctest.h>

#include "config/mountinfo.hpp"

using namespace iser::config;

TEST_CASE("mountinfo: device, mountpoint and type per line") {
    const char* text =
        "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro\n"
        "36 22 98:0 /mnt1 /srv/with\\040space rw,noatime master:1 shared:2 - xfs /dev/ublkb0 rw\n"
        "40 22 0:5 / /proc rw - proc proc rw\n"
        "garbage line\n"
        "41 22 43:0 / /srv/nbd rw,relatime - ext4 /dev/nbd0 rw";
    auto entries = parse_mountinfo(text);
    REQUIRE(entries.size() == 4);
    CHECK(entries[0].device == "/dev/nvme0n1p2");
    CHECK(entries[0].mountpoint == "/");
    CHECK(entries[0].fstype == "ext4");
    CHECK(entries[1].device == "/dev/ublkb0");
    CHECK(entries[1].mountpoint == "/srv/with space");
    CHECK(entries[1].fstype == "xfs");
    CHECK(entries[2].device == "proc");
    CHECK(entries[3].mountpoint == "/srv/nbd");
    CHECK(parse_mountinfo("").empty());
    CHECK(parse_mountinfo("1 2 3:4 / /x rw -\n").empty());
}
