// MODE SENSE data as LIO (spc_emulate_modesense) returns it.
#include <doctest/doctest.h>

#include <cerrno>

#include "initiator/scsi/mode_sense.hpp"
#include "test_bytes.hpp"

using namespace iser::scsi;
using namespace scsi_test;

namespace {
// LIO caching page with write cache enabled (emulate_write_cache=1): WCE, DRA, and the
// prefetch fields LIO fills in.
Vec caching_page(bool wce) {
    return {0x08, 0x12, std::uint8_t(wce ? 0x04 : 0x00), 0x00, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff,
            0xff, 0xff, 0x20, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
}
Vec rw_error_recovery_page() { return {0x01, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0}; }
Vec control_page() { return {0x0a, 0x0a, 0x02, 0x10, 0, 0, 0, 0, 0, 0, 0x02, 0x4b}; }
}  // namespace

TEST_CASE("MODE SENSE(10) with DBD: header + caching page, DPOFUA set") {
    Vec d = cat({{0x00, 0x1a, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00}, caching_page(true)});
    auto r = parse_caching_page_mode_sense10(d);
    REQUIRE(r.ok());
    CHECK(r->wce);
    CHECK_FALSE(r->rcd);
    CHECK(parse_dpofua_mode_sense10(d));
    auto h = parse_mode_header10(d);
    REQUIRE(h.ok());
    CHECK(h->data_length == 28);
    CHECK_FALSE(h->write_protect);
}

TEST_CASE("MODE SENSE(10) with one block descriptor and all pages") {
    Vec d = cat({{0x00, 0x3a, 0x00, 0x80, 0x00, 0x00, 0x00, 0x08},
                 {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00},
                 rw_error_recovery_page(), caching_page(false), control_page()});
    REQUIRE(d.size() == 0x3a + 2);
    auto r = parse_caching_page_mode_sense10(d);
    REQUIRE(r.ok());
    CHECK_FALSE(r->wce);
    CHECK_FALSE(parse_dpofua_mode_sense10(d));
    CHECK(parse_mode_header10(d)->write_protect);
    CHECK(parse_mode_header10(d)->block_descriptor_length == 8);
}

TEST_CASE("MODE SENSE(6) with and without block descriptor") {
    Vec dbd = cat({{0x17, 0x00, 0x10, 0x00}, caching_page(true)});
    auto r = parse_caching_page_mode_sense6(dbd);
    REQUIRE(r.ok());
    CHECK(r->wce);
    CHECK(parse_mode_header6(dbd)->dpofua);
    Vec bd = cat({{0x1f, 0x00, 0x00, 0x08}, {0, 0, 0, 0, 0, 0, 0x02, 0x00}, caching_page(false)});
    auto b = parse_caching_page_mode_sense6(bd);
    REQUIRE(b.ok());
    CHECK_FALSE(b->wce);
}

TEST_CASE("RCD and a subpage-format page before the caching page") {
    Vec sub = {0x4a, 0x01, 0x00, 0x04, 0, 0, 0, 0};  // control extension (0x0a/0x01)
    Vec page = caching_page(true);
    page[2] |= 0x01;
    Vec d = cat({{0x00, std::uint8_t(6 + sub.size() + page.size()), 0x00, 0x00, 0, 0, 0, 0}, sub, page});
    auto r = parse_caching_page_mode_sense10(d);
    REQUIRE(r.ok());
    CHECK(r->wce);
    CHECK(r->rcd);
}

TEST_CASE("MODE SENSE errors") {
    // Caching page absent.
    Vec no_cache = cat({{0x00, 0x12, 0x00, 0x00, 0, 0, 0, 0}, control_page()});
    auto r = parse_caching_page_mode_sense10(no_cache);
    CHECK(r.error().code == EPROTO);
    CHECK(r.error().message == "MODE SENSE data does not contain the caching page (0x08)");
    // Cut by allocation length inside the previous page.
    Vec cut = cat({{0x00, 0x2e, 0x00, 0x00, 0, 0, 0, 0}, rw_error_recovery_page()});
    cut.resize(14);
    CHECK(parse_caching_page_mode_sense10(cut).error().code == EPROTO);
    // Caching page header present but byte 2 missing.
    Vec cut_page = {0x00, 0x1a, 0x00, 0x00, 0, 0, 0, 0, 0x08, 0x12};
    CHECK(parse_caching_page_mode_sense10(cut_page).error().code == EPROTO);
    // Block descriptor length beyond the data.
    Vec bad_bd = {0x00, 0x06, 0x00, 0x00, 0, 0, 0x01, 0x00};
    CHECK(parse_caching_page_mode_sense10(bad_bd).error().code == EPROTO);
    CHECK(parse_caching_page_mode_sense6(Vec{0x03, 0x00, 0x00}).error().code == EPROTO);
    CHECK(parse_mode_header10(Vec{0x00, 0x02, 0, 0x10, 0, 0, 0, 0}).error().code == EPROTO);
    CHECK_FALSE(parse_dpofua_mode_sense10(Vec{0x00, 0x06, 0x00, 0x10}));
}
