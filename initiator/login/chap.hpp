// CHAP for iSCSI (RFC 7143 §12.1.3, RFC 1994; algorithm numbers from the IANA PPP
// authentication registry, SHA-2/SHA-3 for iSCSI in RFC 9048). Digests through OpenSSL EVP.
// Secrets never appear in any error message.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "initiator/login/login.hpp"
#include "initiator/login/text.hpp"

namespace iser::login::chap {

inline constexpr std::size_t kMaxChallengeBytes = 1024;  // RFC 7143 §12.1.3

std::size_t digest_length(ChapAlgorithm);
const char* algorithm_name(ChapAlgorithm);
// The algorithm for a CHAP_A number, or nullopt when we do not implement it.
std::optional<ChapAlgorithm> algorithm_from_number(std::uint64_t number);

// H(identifier || secret || challenge).
Result<std::vector<std::uint8_t>> compute_response(ChapAlgorithm, std::uint8_t identifier,
                                                   std::string_view secret, Bytes challenge);

// Binary values: "0x"/"0X" hex (an odd digit count gets a leading zero) or "0b"/"0B" base64.
Result<std::vector<std::uint8_t>> decode_binary(std::string_view value);
std::string encode_hex(Bytes bytes);  // "0x" + lowercase hex

bool constant_time_equal(Bytes a, Bytes b);

// Fills the span with unpredictable bytes; injectable so tests can script the challenge.
using RandomSource = std::function<Status(MutableBytes)>;
Status openssl_random(MutableBytes out);

// The initiator's half of one CHAP exchange.
class ChapInitiator {
public:
    // Needs auth.chap; auth.mutual makes it ask the target to prove itself.
    explicit ChapInitiator(const AuthConfig& auth, RandomSource random = openssl_random);

    // The CHAP_A offer, e.g. "8,7,6,5".
    std::string algorithm_offer() const;
    // Answers the target's CHAP_A, CHAP_I, CHAP_C with CHAP_N, CHAP_R and, for mutual CHAP,
    // our own CHAP_I and CHAP_C. EPROTO on a malformed or unoffered value, or when the
    // target's challenge equals ours (reflection); EACCES when the target supports none of
    // our algorithms.
    Result<KeyValues> answer(const KeyValues& target_keys);
    // Checks the target's CHAP_N and CHAP_R (mutual CHAP): EACCES when they are missing or
    // wrong.
    Status verify(const KeyValues& target_keys) const;
    bool mutual() const { return auth_.mutual.has_value(); }

private:
    AuthConfig auth_;
    RandomSource random_;
    ChapAlgorithm algorithm_ = ChapAlgorithm::Md5;
    std::uint8_t our_identifier_ = 0;
    std::vector<std::uint8_t> our_challenge_;
};

}  // namespace iser::login::chap
