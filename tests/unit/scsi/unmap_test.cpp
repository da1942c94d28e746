// UNMAP parameter list golden bytes (SBC-4 §5.30.2).
#include <doctest/doctest.h>

#include <array>

#include "initiator/scsi/unmap.hpp"
#include "test_bytes.hpp"

using namespace iser::scsi;
using namespace scsi_test;

TEST_CASE("two extents: 8-byte header + 2 x 16-byte descriptors") {
    std::array<UnmapExtent, 2> ext = {{{0x1000, 0x800}, {0x0102030405060708ull, 0xa0b0c0d0}}};
    std::array<std::uint8_t, 64> buf;
    buf.fill(0xee);
    std::size_t n = build_unmap_parameter_list(ext, buf);
    CHECK(n == 40);
    Vec expect = {0x00, 0x26, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00,
                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x08, 0x00, 0, 0, 0, 0,
                  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xa0, 0xb0, 0xc0, 0xd0, 0, 0, 0, 0};
    CHECK(Vec(buf.begin(), buf.begin() + 40) == expect);
    CHECK(buf[40] == 0xee);  // nothing written past the list
    CHECK(unmap_parameter_list_size(2) == 40);
}

TEST_CASE("one extent fits exactly in 24 bytes") {
    UnmapExtent e{7, 1};
    std::array<std::uint8_t, 24> buf{};
    CHECK(build_unmap_parameter_list(std::span(&e, 1), buf) == 24);
    CHECK(buf[1] == 0x16);
    CHECK(buf[3] == 0x10);
    CHECK(buf[15] == 7);
    CHECK(buf[19] == 1);
}

TEST_CASE("refuses empty input, a short buffer and more descriptors than the CDB can carry") {
    std::array<std::uint8_t, 64> buf{};
    CHECK(build_unmap_parameter_list({}, buf) == 0);
    std::array<UnmapExtent, 4> four{};
    buf.fill(0xaa);
    CHECK(build_unmap_parameter_list(four, std::span(buf).first(71 - 8)) == 0);
    CHECK(buf[0] == 0xaa);
    std::vector<UnmapExtent> many(kUnmapMaxDescriptors + 1);
    std::vector<std::uint8_t> big(unmap_parameter_list_size(many.size()));
    CHECK(build_unmap_parameter_list(many, big) == 0);
    many.pop_back();
    CHECK(build_unmap_parameter_list(many, big) == unmap_parameter_list_size(kUnmapMaxDescriptors));
    CHECK(unmap_parameter_list_size(kUnmapMaxDescriptors) <= 0xffff);
}
