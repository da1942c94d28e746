// Test helpers: golden BHS images written out byte by byte from the RFC 7143 §11 layouts,
// and a comparison that names the first differing offset.
#pragma once
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>

#include "initiator/pdu/pdu.hpp"

namespace pdu_test {

using Golden = std::array<std::uint8_t, iser::pdu::kBhsSize>;

inline iser::pdu::Bhs to_bhs(const Golden& g) {
    iser::pdu::Bhs b;
    b.bytes = g;
    return b;
}

inline std::string first_difference(const Golden& got, const Golden& want) {
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (got[i] != want[i]) {
            char msg[80];
            std::snprintf(msg, sizeof msg, "byte %zu: got 0x%02x, want 0x%02x", i, got[i], want[i]);
            return msg;
        }
    }
    return "identical";
}

}  // namespace pdu_test

#define CHECK_BHS(bhs, golden) \
    CHECK_MESSAGE((bhs).bytes == (golden), pdu_test::first_difference((bhs).bytes, (golden)))

// Field-by-field equality of two decoded structs.
#define CHECK_FIELD(a, b, f) CHECK_MESSAGE((a).f == (b).f, #f)
