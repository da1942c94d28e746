// RegionTable: which registered region (and so which rkey/lkey) holds a task buffer.
#include <doctest/doctest.h>

#include <vector>

#include "initiator/datamover/iser/region_table.hpp"

using namespace iser::datamover;

TEST_CASE("find returns the region holding the whole range, nullptr otherwise") {
    std::vector<std::uint8_t> a(4096), b(8192);
    RegionTable t;
    REQUIRE(t.add(Region{a.data(), a.size(), 1, 101, nullptr}));
    REQUIRE(t.add(Region{b.data(), b.size(), 2, 102, nullptr}));

    const Region* r = t.find(a.data(), 4096);
    REQUIRE(r);
    CHECK(r->rkey == 101);
    r = t.find(b.data() + 100, 8000);
    REQUIRE(r);
    CHECK(r->rkey == 102);
    r = t.find(b.data() + 8191, 1);
    REQUIRE(r);
    CHECK(r->lkey == 2);

    CHECK(t.find(a.data() + 1, 4096) == nullptr);   // runs past the end
    CHECK(t.find(b.data() + 8192, 1) == nullptr);   // just past the end
    std::uint8_t outside = 0;
    CHECK(t.find(&outside, 1) == nullptr);
}

TEST_CASE("overlapping regions are refused, removal works") {
    std::vector<std::uint8_t> a(4096);
    RegionTable t;
    REQUIRE(t.add(Region{a.data() + 1024, 1024, 1, 1, nullptr}));
    CHECK_FALSE(t.add(Region{a.data(), 2048, 2, 2, nullptr}));          // overlaps the start
    CHECK_FALSE(t.add(Region{a.data() + 1500, 100, 3, 3, nullptr}));    // inside
    CHECK_FALSE(t.add(Region{a.data() + 2047, 10, 3, 3, nullptr}));     // overlaps the end
    CHECK(t.add(Region{a.data(), 1024, 4, 4, nullptr}));                // adjacent below
    CHECK(t.add(Region{a.data() + 2048, 1024, 5, 5, nullptr}));         // adjacent above
    CHECK(t.all().size() == 3);
    CHECK(t.find(a.data() + 1024, 1024)->rkey == 1);
    CHECK(t.remove(a.data() + 1024));
    CHECK_FALSE(t.remove(a.data() + 1024));
    CHECK(t.find(a.data() + 1024, 1) == nullptr);
    CHECK_FALSE(t.add(Region{a.data(), 0, 6, 6, nullptr}));             // empty
}
