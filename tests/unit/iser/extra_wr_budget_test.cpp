// ExtraWrBudget: the memory-window binds and invalidates that share the iSER send queue.
#include <doctest/doctest.h>

#include <cstdint>

#include "initiator/datamover/iser/extra_wr_budget.hpp"

using namespace iser::datamover;

TEST_CASE("window requests fit until the capacity; a completion gives back what was posted before its mark") {
    ExtraWrBudget b;
    b.reset(8);
    CHECK(b.fits(8));
    CHECK_FALSE(b.fits(9));
    b.take(3);
    const std::uint32_t first = b.mark();  // a signaled send after three window requests
    b.take(5);
    CHECK(b.in_flight() == 8);
    CHECK_FALSE(b.fits(1));
    b.reclaimed(first);
    CHECK(b.in_flight() == 5);
    CHECK(b.fits(3));
    b.reclaimed(b.mark());
    CHECK(b.in_flight() == 0);
}

TEST_CASE("an older mark after a newer one changes nothing; marks cross the 2^32 wrap") {
    ExtraWrBudget b;
    b.reset(64, 0xFFFFFFF0u);
    b.take(10);
    const std::uint32_t old_mark = b.mark();
    b.take(20);  // crosses the wrap
    const std::uint32_t new_mark = b.mark();
    b.reclaimed(new_mark);
    CHECK(b.in_flight() == 0);
    b.reclaimed(old_mark);  // a completion reported late, or out of order: ignored
    CHECK(b.in_flight() == 0);
    b.take(4);
    b.reclaimed(new_mark + 100);  // a mark never handed out: ignored
    CHECK(b.in_flight() == 4);
}

TEST_CASE("past half the budget the next request asks for a completion") {
    ExtraWrBudget b;
    b.reset(10);
    b.take(4);
    CHECK_FALSE(b.wants_signal());
    b.take(1);
    CHECK(b.wants_signal());
}
