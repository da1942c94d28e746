// Login key negotiation (RFC 7143 §6.2, §13; RFC 7145 §6) driven by one table of keys:
// each key has a type that decides how offer and answer combine, so there is one engine and
// no function per key.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "initiator/login/login.hpp"
#include "initiator/login/text.hpp"

namespace iser::login {

enum class KeyType : std::uint8_t {
    Declarative,   // numeric; each side states its own value, nobody answers
    String,        // declarative text (names, aliases, addresses)
    BooleanAnd,    // result = offer AND answer
    BooleanOr,     // result = offer OR answer
    NumericalMin,  // result = min(offer, answer)
    NumericalMax,  // result = max(offer, answer)
    List,          // the responder picks the first value of the offer it supports
};
enum class KeySender : std::uint8_t { Initiator, Target, Both };
enum class KeyStage : std::uint8_t { Security, Operational, AnyLogin, FullFeature };

struct KeySpec {
    std::string_view name;
    KeyType type;
    std::uint64_t min = 0, max = 0;   // numeric types: valid range
    std::string_view rfc_default;     // "" when the key has no default
    KeyStage stage = KeyStage::Operational;
    bool leading_only = false;        // LO: only on the leading connection of a session
    KeySender sender = KeySender::Both;
    bool discovery = false;           // relevant in a Discovery session
    bool iser = false;                // RFC 7145: irrelevant unless RDMAExtensions=Yes
    bool obsolete = false;            // RFC 7143 §13.26: answer Reject
    bool zero_is_unlimited = false;   // numeric 0 means "no limit"
    std::string_view supported;       // List: values we accept, comma separated

    // Chained setters keep the table readable (and -Wextra quiet about omitted fields).
    constexpr KeySpec(std::string_view n, KeyType t) : name(n), type(t) {}
    constexpr KeySpec range(std::uint64_t lo, std::uint64_t hi) const { auto k = *this; k.min = lo; k.max = hi; return k; }
    constexpr KeySpec dflt(std::string_view v) const { auto k = *this; k.rfc_default = v; return k; }
    constexpr KeySpec in(KeyStage s) const { auto k = *this; k.stage = s; return k; }
    constexpr KeySpec lo() const { auto k = *this; k.leading_only = true; return k; }
    constexpr KeySpec from(KeySender s) const { auto k = *this; k.sender = s; return k; }
    constexpr KeySpec disc() const { auto k = *this; k.discovery = true; return k; }
    constexpr KeySpec rdma() const { auto k = *this; k.iser = true; return k; }
    constexpr KeySpec old() const { auto k = *this; k.obsolete = true; return k; }
    constexpr KeySpec zero_unlimited() const { auto k = *this; k.zero_is_unlimited = true; return k; }
    constexpr KeySpec accepts(std::string_view v) const { auto k = *this; k.supported = v; return k; }
};

std::span<const KeySpec> key_table();
const KeySpec* find_key_spec(std::string_view name);

// Parses an RFC 7143 numerical value: decimal or 0x-hex, at most 2^64-1.
std::optional<std::uint64_t> parse_number(std::string_view text);

// The negotiation state of one login (one connection).
class Negotiator {
public:
    explicit Negotiator(const LoginConfig& config);

    // Keys of the first Login Request: InitiatorName, InitiatorAlias, SessionType, TargetName,
    // AuthMethod. Recorded as offered.
    KeyValues login_offer();
    // Keys of the first operational-stage request (skips keys the target already raised).
    KeyValues operational_offer();

    // Processes the target's keys (CHAP_* excluded, see chap.hpp) and returns the answers we
    // owe it. EPROTO naming key and value when an answer does not fit our offer, a value has
    // the wrong form, a key comes twice, or the target sends an initiator-only key.
    Result<KeyValues> receive(const KeyValues& keys, bool security_stage);

    // The value of a key now: negotiated result, else the value the offer alone decides,
    // else the RFC default. Empty for unknown keys.
    std::string current(std::string_view key) const;
    // True when the target answered our offer of `key` (or had it refused).
    bool settled(std::string_view key) const;
    // True when the target answered Reject/Irrelevant/NotUnderstood to our offer of `key`.
    bool refused(std::string_view key) const;

    // Final values with the RFC defaults for untouched keys; EPROTO on inconsistent results
    // (FirstBurstLength > MaxBurstLength, iSER requested but RDMAExtensions=No).
    Result<SessionParams> params() const;

private:
    struct KeyState {
        std::optional<std::string> offered;   // what we sent (offer or declaration)
        std::optional<std::string> result;    // negotiated value
        std::optional<std::string> declared;  // the target's own declaration
        bool target_sent = false;
        bool refused = false;
    };
    const KeySpec& spec(std::size_t i) const;
    std::size_t index_of(std::string_view key) const;
    void offer(KeyValues& out, std::string_view key, std::string value);
    std::string preferred(const KeySpec& spec) const;
    bool relevant(const KeySpec& spec) const;
    Result<std::optional<std::string>> receive_one(const KeySpec& spec, KeyState& st,
                                                   const std::string& value, bool security_stage);
    Status accept_answer(const KeySpec& spec, KeyState& st, const std::string& value);
    std::optional<std::string> answer_offer(const KeySpec& spec, const std::string& value) const;

    LoginConfig config_;
    bool iser_ = false;  // iSER keys in play (normal session over iSER)
    std::vector<KeyState> keys_;
};

}  // namespace iser::login
