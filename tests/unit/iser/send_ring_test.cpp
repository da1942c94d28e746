// SendRing: selective signaling and in-order reclaim of the iSER send slots.
#include <doctest/doctest.h>

#include <cstdint>

#include "initiator/datamover/iser/send_ring.hpp"

using namespace iser::datamover;

TEST_CASE("one send in the interval is signaled, and every one once the ring runs low") {
    SendRing r;
    r.reset(8, 4);
    CHECK(r.free() == 8);
    bool signaled[8];
    for (int i = 0; i < 8; ++i) signaled[i] = r.reserve().signal;
    // 4th (interval) ... then free() after reserving drops below 4 from the 5th on.
    CHECK(!signaled[0]);
    CHECK(!signaled[1]);
    CHECK(!signaled[2]);
    CHECK(signaled[3]);
    CHECK(signaled[4]);  // 3 left
    CHECK(signaled[7]);  // ring full: the last one is always signaled
    CHECK(r.free() == 0);
}

TEST_CASE("a completion frees its slot and every earlier one; stale or unposted ones are ignored") {
    SendRing r;
    r.reset(16, 16);
    for (int i = 0; i < 10; ++i) r.reserve();
    r.complete(3);  // not posted yet
    CHECK(r.free() == 6);
    r.mark_posted();
    CHECK(!r.has_unposted());
    CHECK(r.has_outstanding());
    r.complete(3);
    CHECK(r.free() == 10);
    r.complete(2);  // older than the tail already: no change
    CHECK(r.free() == 10);
    r.complete(9);
    CHECK(r.free() == 16);
    CHECK(!r.has_outstanding());
}

TEST_CASE("chains: the first unposted position links nothing, the next ones link their predecessor") {
    SendRing r;
    r.reset(4, 2);
    auto a = r.reserve();
    auto b = r.reserve();
    CHECK(!a.links_previous);
    CHECK(b.links_previous);
    CHECK(r.first_unposted() == a.pos);
    r.mark_posted();
    auto c = r.reserve();
    CHECK(!c.links_previous);
    r.drop_unposted();  // close(): chained but never posted
    CHECK(!r.has_unposted());
    CHECK(r.free() == 2);
}

TEST_CASE("positions wrap around 2^32 without losing slots") {
    SendRing r;
    r.reset(4, 4, 0xFFFFFFFEu);
    auto a = r.reserve();
    auto b = r.reserve();
    auto c = r.reserve();
    CHECK(a.pos == 0xFFFFFFFEu);
    CHECK(c.pos == 0u);
    CHECK(r.free() == 1);
    r.mark_posted();
    r.complete(a.pos - 1);  // before the tail (modulo 2^32): ignored
    CHECK(r.free() == 1);
    r.complete(b.pos);  // 0xFFFFFFFF frees a and b
    CHECK(r.free() == 3);
    r.complete(c.pos);  // 0, across the wrap
    CHECK(r.free() == 4);
    CHECK(!r.has_outstanding());
}
