#include "initiator/login/chap.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>

#include "initiator/login/negotiation.hpp"

namespace iser::login::chap {
namespace {

const EVP_MD* evp_for(ChapAlgorithm a) {
    switch (a) {
    case ChapAlgorithm::Md5: return EVP_md5();
    case ChapAlgorithm::Sha1: return EVP_sha1();
    case ChapAlgorithm::Sha256: return EVP_sha256();
    case ChapAlgorithm::Sha3_256: return EVP_sha3_256();
    }
    return nullptr;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int base64_digit(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

Error chap_error(int code, std::string what) { return make_error(code, "CHAP: " + what); }

}  // namespace

std::size_t digest_length(ChapAlgorithm a) {
    switch (a) {
    case ChapAlgorithm::Md5: return 16;
    case ChapAlgorithm::Sha1: return 20;
    case ChapAlgorithm::Sha256:
    case ChapAlgorithm::Sha3_256: return 32;
    }
    return 0;
}

const char* algorithm_name(ChapAlgorithm a) {
    switch (a) {
    case ChapAlgorithm::Md5: return "MD5";
    case ChapAlgorithm::Sha1: return "SHA-1";
    case ChapAlgorithm::Sha256: return "SHA-256";
    case ChapAlgorithm::Sha3_256: return "SHA3-256";
    }
    return "?";
}

std::optional<ChapAlgorithm> algorithm_from_number(std::uint64_t n) {
    switch (n) {
    case 5: return ChapAlgorithm::Md5;
    case 6: return ChapAlgorithm::Sha1;
    case 7: return ChapAlgorithm::Sha256;
    case 8: return ChapAlgorithm::Sha3_256;
    default: return std::nullopt;
    }
}

Result<std::vector<std::uint8_t>> compute_response(ChapAlgorithm a, std::uint8_t identifier,
                                                   std::string_view secret, Bytes challenge) {
    const EVP_MD* md = evp_for(a);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned len = 0;
    if (!md || !ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), &identifier, 1) != 1 ||
        EVP_DigestUpdate(ctx.get(), secret.data(), secret.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), challenge.data(), challenge.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1)
        return chap_error(EIO, std::string("OpenSSL cannot compute ") + algorithm_name(a));
    out.resize(len);
    return out;
}

Result<std::vector<std::uint8_t>> decode_binary(std::string_view v) {
    std::vector<std::uint8_t> out;
    if (v.size() < 3 || v[0] != '0') return chap_error(EPROTO, "binary value without 0x/0b prefix");
    const char form = v[1];
    const auto body = v.substr(2);
    if (form == 'x' || form == 'X') {
        std::size_t i = 0;
        if (body.size() % 2) {  // odd count: the first digit stands alone
            const int d = hex_digit(body[0]);
            if (d < 0) return chap_error(EPROTO, "bad hex digit");
            out.push_back(std::uint8_t(d));
            i = 1;
        }
        for (; i < body.size(); i += 2) {
            const int hi = hex_digit(body[i]), lo = hex_digit(body[i + 1]);
            if (hi < 0 || lo < 0) return chap_error(EPROTO, "bad hex digit");
            out.push_back(std::uint8_t(hi << 4 | lo));
        }
        return out;
    }
    if (form == 'b' || form == 'B') {
        if (body.size() % 4) return chap_error(EPROTO, "base64 length not a multiple of 4");
        std::uint32_t acc = 0;
        int bits = 0;
        std::size_t pad = 0;
        for (std::size_t i = 0; i < body.size(); ++i) {
            if (body[i] == '=') {
                if (i + 2 < body.size()) return chap_error(EPROTO, "misplaced base64 padding");
                ++pad;
                continue;
            }
            const int d = base64_digit(body[i]);
            if (d < 0 || pad) return chap_error(EPROTO, "bad base64 character");
            acc = (acc << 6 | unsigned(d)) & 0xffffff;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out.push_back(std::uint8_t(acc >> bits));
            }
        }
        return out;
    }
    return chap_error(EPROTO, "binary value without 0x/0b prefix");
}

std::string encode_hex(Bytes bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out = "0x";
    out.reserve(2 + bytes.size() * 2);
    for (auto b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

bool constant_time_equal(Bytes a, Bytes b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status openssl_random(MutableBytes out) {
    if (RAND_bytes(out.data(), int(out.size())) != 1)
        return chap_error(EIO, "OpenSSL random generator failed");
    return {};
}

ChapInitiator::ChapInitiator(const AuthConfig& auth, RandomSource random)
    : auth_(auth), random_(std::move(random)) {}

std::string ChapInitiator::algorithm_offer() const {
    std::string out;
    for (auto a : auth_.algorithms) {
        if (!out.empty()) out += ',';
        out += std::to_string(unsigned(a));
    }
    return out;
}

Result<KeyValues> ChapInitiator::answer(const KeyValues& keys) {
    const auto* a = find_key(keys, "CHAP_A");
    const auto* i = find_key(keys, "CHAP_I");
    const auto* c = find_key(keys, "CHAP_C");
    if (a && (*a == "Reject" || *a == "NotUnderstood" || *a == "Irrelevant"))
        return chap_error(EACCES, "target supports none of the offered algorithms (CHAP_A=" +
                                      algorithm_offer() + ")");
    if (!a || !i || !c) return chap_error(EPROTO, "target's challenge lacks CHAP_A, CHAP_I or CHAP_C");
    const auto number = parse_number(*a);
    const auto algorithm = number ? algorithm_from_number(*number) : std::nullopt;
    if (!algorithm || std::find(auth_.algorithms.begin(), auth_.algorithms.end(), *algorithm) ==
                          auth_.algorithms.end())
        return chap_error(EPROTO, "target chose CHAP_A=" + a->substr(0, 16) + ", not one we offered (" +
                                      algorithm_offer() + ")");
    algorithm_ = *algorithm;
    const auto id = parse_number(*i);
    if (!id || *id > 255) return chap_error(EPROTO, "bad CHAP_I=" + i->substr(0, 16));
    auto challenge = decode_binary(*c);
    if (!challenge) return chap_error(EPROTO, "bad CHAP_C: " + challenge.error().message);
    if (challenge->empty() || challenge->size() > kMaxChallengeBytes)
        return chap_error(EPROTO, "CHAP_C of " + std::to_string(challenge->size()) +
                                      " bytes (1.." + std::to_string(kMaxChallengeBytes) + " allowed)");
    auto response = compute_response(algorithm_, std::uint8_t(*id), auth_.chap->secret, *challenge);
    if (!response) return response.take_error();
    KeyValues out{{"CHAP_N", auth_.chap->user}, {"CHAP_R", encode_hex(*response)}};
    if (auth_.mutual) {
        std::uint8_t id_byte = 0;
        our_challenge_.assign(std::max<std::size_t>(16, digest_length(algorithm_)), 0);
        ISER_TRY(random_(MutableBytes(&id_byte, 1)));
        ISER_TRY(random_(our_challenge_));
        // Reflection (RFC 7143 §12.1.3) is refused where it can happen: one secret both ways
        // lets a target reflect our challenge and pass with our own answer, and
        // LoginMachine::start() refuses that configuration. Our challenge is fresh random
        // bytes, so it is never the target's.
        our_identifier_ = id_byte;
        out.emplace_back("CHAP_I", std::to_string(our_identifier_));
        out.emplace_back("CHAP_C", encode_hex(our_challenge_));
    }
    return out;
}

Status ChapInitiator::verify(const KeyValues& keys) const {
    if (!auth_.mutual) return {};
    const auto* n = find_key(keys, "CHAP_N");
    const auto* r = find_key(keys, "CHAP_R");
    if (!n || !r || our_challenge_.empty())
        return make_error(EACCES, "login failed: target did not authenticate itself (mutual CHAP)");
    if (*n != auth_.mutual->user)
        return make_error(EACCES, "login failed: target authenticated as \"" + n->substr(0, 64) +
                                      "\", expected \"" + auth_.mutual->user + "\" (mutual CHAP)");
    auto theirs = decode_binary(*r);
    if (!theirs) return make_error(EACCES, "login failed: malformed CHAP_R from target (mutual CHAP)");
    auto expected = compute_response(algorithm_, our_identifier_, auth_.mutual->secret, our_challenge_);
    if (!expected) return expected.take_error();
    if (!constant_time_equal(*theirs, *expected))
        return make_error(EACCES, "login failed: target's CHAP response is wrong (mutual CHAP secret mismatch)");
    return {};
}

}  // namespace iser::login::chap
