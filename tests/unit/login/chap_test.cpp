#include <doctest/doctest.h>

#include <deque>

#include "initiator/login/chap.hpp"

using namespace iser;
using namespace iser::login;
using namespace iser::login::chap;

namespace {

std::vector<std::uint8_t> seq(std::uint8_t from, std::size_t n) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = std::uint8_t(from + i);
    return v;
}

// Scripted randomness: hands out the queued byte strings in order.
RandomSource scripted(std::deque<std::vector<std::uint8_t>> chunks) {
    auto q = std::make_shared<std::deque<std::vector<std::uint8_t>>>(std::move(chunks));
    return [q](MutableBytes out) -> Status {
        REQUIRE(!q->empty());
        REQUIRE(q->front().size() == out.size());
        std::copy(q->front().begin(), q->front().end(), out.begin());
        q->pop_front();
        return {};
    };
}

AuthConfig auth(bool mutual) {
    AuthConfig a;
    a.chap = ChapCredentials{"iqn.2024-01.org.example:host", "abcdefghijkl"};
    a.algorithms = {ChapAlgorithm::Sha3_256, ChapAlgorithm::Sha256, ChapAlgorithm::Sha1, ChapAlgorithm::Md5};
    if (mutual) a.mutual = ChapCredentials{"target-user", "target-secret-1"};
    return a;
}

}  // namespace

// Expected digests computed outside this code base:
//   printf '\x2aabcdefghijkl' + bytes 00..0f | md5sum / sha1sum / sha256sum, and Python's
//   hashlib.sha3_256 for SHA3-256.
TEST_CASE("CHAP response = H(identifier || secret || challenge) for every algorithm") {
    struct Case {
        ChapAlgorithm algorithm;
        const char* hex;
    };
    const Case cases[] = {
        {ChapAlgorithm::Md5, "0xcec6cff406e03600ec3585732fc9de13"},
        {ChapAlgorithm::Sha1, "0x2e090624943aad63e3f610e6b168f367e57f3c1c"},
        {ChapAlgorithm::Sha256, "0xc311614443e3469a010a5bdcb3b6b575b19e315a81aeec1c6e62a117e66c48aa"},
        {ChapAlgorithm::Sha3_256, "0x322439d7eaa82322aa64bb1bb68e0775847af0806118efa4c2261ae204445bf9"},
    };
    const auto challenge = seq(0, 16);
    for (const auto& c : cases) {
        CAPTURE(algorithm_name(c.algorithm));
        auto r = compute_response(c.algorithm, 0x2a, "abcdefghijkl", challenge);
        REQUIRE(r.ok());
        CHECK(r->size() == digest_length(c.algorithm));
        CHECK(encode_hex(*r) == c.hex);
    }
}

TEST_CASE("algorithm numbers follow the IANA registry") {
    CHECK(algorithm_from_number(5) == ChapAlgorithm::Md5);
    CHECK(algorithm_from_number(6) == ChapAlgorithm::Sha1);
    CHECK(algorithm_from_number(7) == ChapAlgorithm::Sha256);
    CHECK(algorithm_from_number(8) == ChapAlgorithm::Sha3_256);
    CHECK_FALSE(algorithm_from_number(4));
    CHECK_FALSE(algorithm_from_number(0x105));
}

TEST_CASE("binary values in hex and base64") {
    CHECK(decode_binary("0x000102030405060708090a0b0c0d0e0f").value() == seq(0, 16));
    CHECK(decode_binary("0X000102030405060708090A0B0C0D0E0F").value() == seq(0, 16));
    CHECK(decode_binary("0xabc").value() == std::vector<std::uint8_t>{0x0a, 0xbc});
    CHECK(decode_binary("0bAAECAwQFBgcICQoLDA0ODw==").value() == seq(0, 16));
    CHECK(decode_binary("0BAAECAwQFBgcICQoLDA0ODw==").value() == seq(0, 16));
    CHECK(decode_binary("0b+/8=").value() == std::vector<std::uint8_t>{0xfb, 0xff});
    CHECK(decode_binary("0bTWFu").value() == std::vector<std::uint8_t>{'M', 'a', 'n'});
    for (auto bad : {"", "0x", "1234", "0xzz", "0q12", "0bAAE", "0bA=AA", "0bAA*A", "0b====x==="}) {
        CAPTURE(bad);
        auto r = decode_binary(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == EPROTO);
    }
    CHECK(encode_hex(seq(0xfe, 2)) == "0xfeff");
}

TEST_CASE("the default CHAP_A offer lists every algorithm once") {
    AuthConfig a;
    a.chap = ChapCredentials{"u", "abcdefghijkl"};
    auto offer = ChapInitiator(a).algorithm_offer();
    for (auto n : {"5", "6", "7", "8"}) CHECK(offer.find(n) != std::string::npos);
    CHECK(offer.size() == 7);
}

TEST_CASE("constant_time_equal") {
    CHECK(constant_time_equal(seq(1, 16), seq(1, 16)));
    CHECK_FALSE(constant_time_equal(seq(1, 16), seq(2, 16)));
    CHECK_FALSE(constant_time_equal(seq(1, 16), seq(1, 15)));
}

TEST_CASE("one-way CHAP answer") {
    ChapInitiator c(auth(false));
    CHECK(c.algorithm_offer() == "8,7,6,5");
    auto r = c.answer({{"CHAP_A", "5"}, {"CHAP_I", "42"}, {"CHAP_C", "0x000102030405060708090a0b0c0d0e0f"}});
    REQUIRE(r.ok());
    CHECK(*r == KeyValues{{"CHAP_N", "iqn.2024-01.org.example:host"},
                          {"CHAP_R", "0xcec6cff406e03600ec3585732fc9de13"}});
    CHECK(c.verify({}).ok());  // nothing to verify one-way
}

TEST_CASE("mutual CHAP: our challenge, and verification of the target's answer") {
    // Identifier 7, challenge a0..bf (32 bytes for SHA-256). Expected target response from
    // Python: hashlib.sha256(bytes([7]) + b"target-secret-1" + bytes(range(0xa0, 0xc0))).
    const char* expected = "0x72df557afaa5ab6ca569c32fb4f745876d87503f00a98c6988ab7c672ebfe59f";
    auto make = [] { return ChapInitiator(auth(true), scripted({{7}, seq(0xa0, 32)})); };
    auto c = make();
    auto r = c.answer({{"CHAP_A", "7"}, {"CHAP_I", "0x2a"}, {"CHAP_C", "0b" "AAECAwQFBgcICQoLDA0ODw=="}});
    REQUIRE(r.ok());
    CHECK(*find_key(*r, "CHAP_R") == "0xc311614443e3469a010a5bdcb3b6b575b19e315a81aeec1c6e62a117e66c48aa");
    CHECK(*find_key(*r, "CHAP_I") == "7");
    CHECK(*find_key(*r, "CHAP_C") == encode_hex(seq(0xa0, 32)));
    CHECK(c.verify({{"CHAP_N", "target-user"}, {"CHAP_R", expected}}).ok());

    auto wrong = c.verify({{"CHAP_N", "target-user"}, {"CHAP_R", "0x72df557afaa5ab6ca569c32fb4f745876d87503f00a98c6988ab7c672ebfe590"}});
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().code == EACCES);
    auto name = c.verify({{"CHAP_N", "impostor"}, {"CHAP_R", expected}});
    REQUIRE_FALSE(name.ok());
    CHECK(name.error().code == EACCES);
    auto missing = c.verify({});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message == "login failed: target did not authenticate itself (mutual CHAP)");
    auto shortr = c.verify({{"CHAP_N", "target-user"}, {"CHAP_R", "0x72df"}});
    CHECK_FALSE(shortr.ok());
    for (const auto& e : {wrong.error(), name.error(), missing.error()}) {
        CHECK(e.message.find("abcdefghijkl") == std::string::npos);
        CHECK(e.message.find("target-secret-1") == std::string::npos);
    }
}

TEST_CASE("mutual CHAP challenge is at least 16 bytes (MD5)") {
    ChapInitiator c(auth(true), scripted({{1}, seq(0x10, 16)}));
    auto r = c.answer({{"CHAP_A", "5"}, {"CHAP_I", "1"}, {"CHAP_C", "0x00112233445566778899aabbccddeeff"}});
    REQUIRE(r.ok());
    CHECK(find_key(*r, "CHAP_C")->size() == 2 + 32);
}

TEST_CASE("bad challenges from the target") {
    struct Case {
        KeyValues keys;
        int code;
    };
    const Case cases[] = {
        {{{"CHAP_A", "Reject"}}, EACCES},
        {{{"CHAP_A", "4"}, {"CHAP_I", "1"}, {"CHAP_C", "0x00"}}, EPROTO},     // unknown algorithm
        {{{"CHAP_A", "5"}, {"CHAP_I", "256"}, {"CHAP_C", "0x00"}}, EPROTO},   // identifier > 255
        {{{"CHAP_A", "5"}, {"CHAP_I", "1"}, {"CHAP_C", "1234"}}, EPROTO},     // no prefix
        {{{"CHAP_A", "5"}, {"CHAP_I", "1"}}, EPROTO},                         // no challenge
        {{{"CHAP_A", "5"}, {"CHAP_I", "1"}, {"CHAP_C", "0x" + std::string(2050, '1')}}, EPROTO},
    };
    for (const auto& c : cases) {
        ChapInitiator ci(auth(false));
        auto r = ci.answer(c.keys);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == c.code);
        CHECK(r.error().message.find("abcdefghijkl") == std::string::npos);
    }
    AuthConfig md5_only = auth(false);
    md5_only.algorithms = {ChapAlgorithm::Md5};
    ChapInitiator ci(md5_only);
    CHECK(ci.algorithm_offer() == "5");
    CHECK_FALSE(ci.answer({{"CHAP_A", "7"}, {"CHAP_I", "1"}, {"CHAP_C", "0x0011"}}).ok());  // not offered
}
