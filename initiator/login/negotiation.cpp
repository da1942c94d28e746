#include "initiator/login/negotiation.hpp"

#include <algorithm>
#include <array>

namespace iser::login {
namespace {

constexpr std::uint64_t kMax24 = (1u << 24) - 1;
constexpr std::uint64_t kMax32 = 0xffffffffu;
constexpr std::size_t kMaxSimpleValue = 255;  // RFC 7143 §6.1, text and list values

using T = KeyType;
using S = KeyStage;
using W = KeySender;

// RFC 7143 §13 and RFC 7145 §6. Ranges and defaults are the RFC's.
constexpr std::array kKeys{
    KeySpec("HeaderDigest", T::List).dflt("None").disc().accepts("None,CRC32C"),
    KeySpec("DataDigest", T::List).dflt("None").disc().accepts("None,CRC32C"),
    KeySpec("MaxConnections", T::NumericalMin).range(1, 65535).dflt("1").lo(),
    KeySpec("SendTargets", T::String).in(S::FullFeature).from(W::Initiator).disc(),
    KeySpec("TargetName", T::String).in(S::AnyLogin),
    KeySpec("InitiatorName", T::String).in(S::AnyLogin).from(W::Initiator).disc(),
    KeySpec("TargetAlias", T::String).in(S::AnyLogin).from(W::Target).disc(),
    KeySpec("InitiatorAlias", T::String).in(S::AnyLogin).from(W::Initiator).disc(),
    KeySpec("TargetAddress", T::String).in(S::AnyLogin).from(W::Target).disc(),
    KeySpec("TargetPortalGroupTag", T::Declarative).range(0, 65535).in(S::AnyLogin).from(W::Target).disc(),
    KeySpec("InitialR2T", T::BooleanOr).dflt("Yes").lo(),
    KeySpec("ImmediateData", T::BooleanAnd).dflt("Yes").lo(),
    KeySpec("MaxRecvDataSegmentLength", T::Declarative).range(512, kMax24).dflt("8192").disc(),
    KeySpec("MaxBurstLength", T::NumericalMin).range(512, kMax24).dflt("262144").lo(),
    KeySpec("FirstBurstLength", T::NumericalMin).range(512, kMax24).dflt("65536").lo(),
    KeySpec("DefaultTime2Wait", T::NumericalMax).range(0, 3600).dflt("2").lo().disc(),
    KeySpec("DefaultTime2Retain", T::NumericalMin).range(0, 3600).dflt("20").lo().disc(),
    KeySpec("MaxOutstandingR2T", T::NumericalMin).range(1, 65535).dflt("1").lo(),
    KeySpec("DataPDUInOrder", T::BooleanOr).dflt("Yes").lo(),
    KeySpec("DataSequenceInOrder", T::BooleanOr).dflt("Yes").lo(),
    KeySpec("ErrorRecoveryLevel", T::NumericalMin).range(0, 2).dflt("0").lo().disc(),
    KeySpec("SessionType", T::String).dflt("Normal").in(S::AnyLogin).lo().from(W::Initiator).disc(),
    KeySpec("AuthMethod", T::List).dflt("None").in(S::Security).disc().accepts("CHAP,None"),
    // Obsoleted by RFC 7143 §13.26; targets may still raise them. We answer the markers "No"
    // (RFC 3720 targets expect a boolean) and the intervals Reject.
    KeySpec("IFMarker", T::BooleanAnd).dflt("No").disc(),
    KeySpec("OFMarker", T::BooleanAnd).dflt("No").disc(),
    KeySpec("IFMarkInt", T::String).disc().old(),
    KeySpec("OFMarkInt", T::String).disc().old(),
    KeySpec("TaskReporting", T::List).dflt("RFC3720").lo().accepts("RFC3720"),
    // RFC 7145 §6 (iSER); all "Irrelevant when SessionType=Discovery".
    KeySpec("RDMAExtensions", T::BooleanAnd).dflt("No").lo(),
    KeySpec("TargetRecvDataSegmentLength", T::Declarative).range(512, kMax24).dflt("8192").lo().rdma(),
    KeySpec("InitiatorRecvDataSegmentLength", T::Declarative).range(512, kMax24).dflt("8192").lo().rdma(),
    KeySpec("MaxOutstandingUnexpectedPDUs", T::NumericalMin).range(2, kMax32).dflt("0").lo().rdma().zero_unlimited(),
};

bool is_refusal(std::string_view v) {
    return v == "Reject" || v == "Irrelevant" || v == "NotUnderstood";
}

const char* yes_no(bool b) { return b ? "Yes" : "No"; }

std::optional<bool> parse_bool(std::string_view v) {
    if (v == "Yes") return true;
    if (v == "No") return false;
    return std::nullopt;
}

std::vector<std::string_view> split_list(std::string_view list) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (true) {
        const auto comma = list.find(',', pos);
        out.push_back(list.substr(pos, comma == std::string_view::npos ? comma : comma - pos));
        if (comma == std::string_view::npos) return out;
        pos = comma + 1;
    }
}

bool list_contains(std::string_view list, std::string_view v) {
    const auto items = split_list(list);
    return std::find(items.begin(), items.end(), v) != items.end();
}

// Shortens a peer-supplied value for an error message.
std::string shown(std::string_view v) {
    std::string out;
    for (char c : v.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (v.size() > 64) out += "...";
    return out;
}

Error bad(const KeySpec& spec, std::string_view value, std::string_view why) {
    return make_error(EPROTO, "login negotiation: target sent " + std::string(spec.name) + "=" +
                                  shown(value) + ": " + std::string(why));
}

// Effective numeric ordering for min/max with 0 = unlimited.
std::uint64_t effective(const KeySpec& spec, std::uint64_t v) {
    return spec.zero_is_unlimited && v == 0 ? UINT64_MAX : v;
}

}  // namespace

std::span<const KeySpec> key_table() { return kKeys; }

const KeySpec* find_key_spec(std::string_view name) {
    for (const auto& k : kKeys)
        if (k.name == name) return &k;
    return nullptr;
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
    unsigned base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty() || text.size() > 20) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : text) {
        unsigned d;
        if (c >= '0' && c <= '9') d = unsigned(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f') d = unsigned(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F') d = unsigned(c - 'A' + 10);
        else return std::nullopt;
        if (v > (UINT64_MAX - d) / base) return std::nullopt;
        v = v * base + d;
    }
    return v;
}

Negotiator::Negotiator(const LoginConfig& config)
    : config_(config),
      iser_(config.offer.iser && config.type == SessionType::Normal),
      keys_(kKeys.size()) {}

const KeySpec& Negotiator::spec(std::size_t i) const { return kKeys[i]; }

std::size_t Negotiator::index_of(std::string_view key) const {
    for (std::size_t i = 0; i < kKeys.size(); ++i)
        if (kKeys[i].name == key) return i;
    return kKeys.size();
}

void Negotiator::offer(KeyValues& out, std::string_view key, std::string value) {
    const auto i = index_of(key);
    if (i < keys_.size()) {
        if (keys_[i].target_sent || keys_[i].offered) return;  // already settled
        keys_[i].offered = value;
        // A declaration is its own result; an offer waits for the answer.
        if (spec(i).type == KeyType::Declarative || spec(i).type == KeyType::String)
            keys_[i].result = value;
    }
    out.emplace_back(std::string(key), std::move(value));
}

KeyValues Negotiator::login_offer() {
    KeyValues out;
    offer(out, "InitiatorName", config_.initiator_name);
    if (!config_.initiator_alias.empty()) offer(out, "InitiatorAlias", config_.initiator_alias);
    if (config_.type == SessionType::Discovery) {
        offer(out, "SessionType", "Discovery");
    } else {
        offer(out, "SessionType", "Normal");
        offer(out, "TargetName", config_.target_name);
    }
    // With mutual CHAP configured, None would let an impostor skip proving itself.
    const auto& auth = config_.auth;
    offer(out, "AuthMethod", !auth.chap ? "None" : auth.mutual ? "CHAP" : "CHAP,None");
    return out;
}

std::string Negotiator::preferred(const KeySpec& k) const {
    const auto& o = config_.offer;
    const std::string_view n = k.name;
    auto num = [](std::uint64_t v) { return std::to_string(v); };
    if (n == "HeaderDigest") return (o.header_digest_crc32c && !iser_) ? "CRC32C,None" : "None";
    if (n == "DataDigest") return (o.data_digest_crc32c && !iser_) ? "CRC32C,None" : "None";
    if (n == "MaxRecvDataSegmentLength" || n == "InitiatorRecvDataSegmentLength")
        return num(o.max_recv_data_segment_length);
    if (n == "TargetRecvDataSegmentLength") return num(o.target_recv_data_segment_length);
    if (n == "MaxBurstLength") return num(o.max_burst_length);
    // FirstBurstLength must not exceed MaxBurstLength (RFC 7143 §13.14).
    if (n == "FirstBurstLength") return num(std::min(o.first_burst_length, o.max_burst_length));
    if (n == "InitialR2T") return yes_no(o.initial_r2t);
    if (n == "ImmediateData") return yes_no(o.immediate_data);
    if (n == "DefaultTime2Wait") return num(o.default_time2wait);
    if (n == "DefaultTime2Retain") return num(o.default_time2retain);
    if (n == "MaxOutstandingR2T") return num(o.max_outstanding_r2t);
    if (n == "ErrorRecoveryLevel") return num(o.error_recovery_level);
    if (n == "RDMAExtensions") return yes_no(iser_);
    if (n == "MaxConnections") return "1";
    if (n == "AuthMethod") return config_.auth.chap ? "CHAP,None" : "None";
    return std::string(k.rfc_default);
}

KeyValues Negotiator::operational_offer() {
    KeyValues out;
    auto add = [&](std::string_view key) {
        const auto* k = find_key_spec(key);
        offer(out, key, preferred(*k));
    };
    if (config_.type == SessionType::Discovery) {
        for (auto key : {"HeaderDigest", "DataDigest", "MaxRecvDataSegmentLength"}) add(key);
        return out;
    }
    // RDMAExtensions first: targets decide the relevance of the iSER keys from it.
    if (iser_) add("RDMAExtensions");
    add("HeaderDigest");
    add("DataDigest");
    if (iser_) {
        // RFC 7145 §6.3-6.4 replace MaxRecvDataSegmentLength. MaxOutstandingUnexpectedPDUs is
        // left at its default: LIO does not know the key.
        add("InitiatorRecvDataSegmentLength");
        add("TargetRecvDataSegmentLength");
    } else {
        add("MaxRecvDataSegmentLength");
    }
    for (auto key : {"InitialR2T", "ImmediateData", "MaxBurstLength"}) add(key);
    const auto& o = config_.offer;
    if (!(o.initial_r2t && !o.immediate_data)) add("FirstBurstLength");
    for (auto key : {"DefaultTime2Wait", "DefaultTime2Retain", "MaxOutstandingR2T",
                     "ErrorRecoveryLevel", "MaxConnections", "DataPDUInOrder",
                     "DataSequenceInOrder"})
        add(key);
    return out;
}

bool Negotiator::relevant(const KeySpec& k) const {
    if (config_.type == SessionType::Discovery) return k.discovery;
    if (k.iser) return iser_;
    if (k.name == "FirstBurstLength")
        return !(current("InitialR2T") == "Yes" && current("ImmediateData") == "No");
    return true;
}

Status Negotiator::accept_answer(const KeySpec& k, KeyState& st, const std::string& value) {
    const std::string& ours = *st.offered;
    switch (k.type) {
    case KeyType::BooleanAnd:
    case KeyType::BooleanOr: {
        const auto mine = parse_bool(ours), theirs = parse_bool(value);
        if (!theirs) return bad(k, value, "expected Yes or No");
        const bool result = k.type == KeyType::BooleanAnd ? (*mine && *theirs) : (*mine || *theirs);
        if (result != *theirs) return bad(k, value, "we offered " + ours);
        st.result = value;
        return {};
    }
    case KeyType::NumericalMin:
    case KeyType::NumericalMax: {
        const auto mine = parse_number(ours), theirs = parse_number(value);
        if (!theirs) return bad(k, value, "not a number");
        if ((*theirs < k.min || *theirs > k.max) && !(k.zero_is_unlimited && *theirs == 0))
            return bad(k, value, "out of range " + std::to_string(k.min) + ".." + std::to_string(k.max));
        const auto m = effective(k, *mine), t = effective(k, *theirs);
        if (k.type == KeyType::NumericalMin ? t > m : t < m)
            return bad(k, value, std::string(k.type == KeyType::NumericalMin ? "above" : "below") +
                                     " our offer of " + ours);
        st.result = std::to_string(*theirs);
        return {};
    }
    case KeyType::List:
        if (value.find(',') != std::string::npos || !list_contains(ours, value))
            return bad(k, value, "not one of the offered values " + ours);
        st.result = value;
        return {};
    case KeyType::Declarative:
    case KeyType::String:
        break;  // handled by the caller as the target's own declaration
    }
    return {};
}

// The value we answer to an offer the target originated; nullopt means "Reject".
std::optional<std::string> Negotiator::answer_offer(const KeySpec& k, const std::string& value) const {
    const auto pref = preferred(k);
    switch (k.type) {
    case KeyType::BooleanAnd:
    case KeyType::BooleanOr: {
        const auto theirs = parse_bool(value);
        if (!theirs) return std::nullopt;
        const bool mine = *parse_bool(pref);
        return yes_no(k.type == KeyType::BooleanAnd ? (mine && *theirs) : (mine || *theirs));
    }
    case KeyType::NumericalMin:
    case KeyType::NumericalMax: {
        const auto theirs = parse_number(value);
        if (!theirs || ((*theirs < k.min || *theirs > k.max) && !(k.zero_is_unlimited && *theirs == 0)))
            return std::nullopt;
        const auto mine = *parse_number(pref);
        const bool take_theirs = k.type == KeyType::NumericalMin
                                     ? effective(k, *theirs) < effective(k, mine)
                                     : effective(k, *theirs) > effective(k, mine);
        return std::to_string(take_theirs ? *theirs : mine);
    }
    case KeyType::List:
        for (auto item : split_list(value))
            if (list_contains(pref, item)) return std::string(item);
        return std::nullopt;
    case KeyType::Declarative:
    case KeyType::String:
        break;
    }
    return std::nullopt;
}

Result<std::optional<std::string>> Negotiator::receive_one(const KeySpec& k, KeyState& st,
                                                           const std::string& value,
                                                           bool security_stage) {
    using Answer = std::optional<std::string>;
    if (st.target_sent) return bad(k, value, "key sent twice");
    st.target_sent = true;
    if (k.sender == KeySender::Initiator) return bad(k, value, "the key is the initiator's");
    if (k.stage == KeyStage::Security && !security_stage)
        return bad(k, value, "security key outside the security stage");
    if (k.stage == KeyStage::FullFeature) return bad(k, value, "not a login key");
    if (value.size() > kMaxSimpleValue) return bad(k, value, "value longer than 255 bytes");

    if (is_refusal(value)) {
        if (!st.offered) return bad(k, value, "answer to a key we did not send");
        st.refused = true;
        st.result.reset();
        if (k.type == KeyType::Declarative || k.type == KeyType::String) st.result = st.offered;
        return Answer{};
    }
    if (k.obsolete) return Answer{"Reject"};
    const bool declarative = k.type == KeyType::Declarative || k.type == KeyType::String;
    if (declarative) {
        if (k.type == KeyType::Declarative) {
            const auto v = parse_number(value);
            if (!v) return bad(k, value, "not a number");
            if (*v < k.min || *v > k.max)
                return bad(k, value, "out of range " + std::to_string(k.min) + ".." + std::to_string(k.max));
            st.declared = std::to_string(*v);
        } else {
            st.declared = value;
        }
        return Answer{};
    }
    if (st.offered) {
        if (auto s = accept_answer(k, st, value); !s) return s.take_error();
        return Answer{};
    }
    // The target originates this key: we owe an answer.
    if (!relevant(k)) return Answer{"Irrelevant"};
    auto answer = answer_offer(k, value);
    if (!answer) return Answer{"Reject"};  // RFC 7143 §6.2: out-of-range or unsupported offer
    st.result = *answer;
    return answer;
}

Result<KeyValues> Negotiator::receive(const KeyValues& keys, bool security_stage) {
    KeyValues answers;
    for (const auto& [key, value] : keys) {
        const auto i = index_of(key);
        if (i == kKeys.size()) {
            // Unknown or vendor (X-...) key: RFC 7143 §6.2 says answer NotUnderstood, but never
            // answer a refusal with a refusal.
            if (!is_refusal(value)) answers.emplace_back(key, "NotUnderstood");
            continue;
        }
        auto answer = receive_one(spec(i), keys_[i], value, security_stage);
        if (!answer) return answer.take_error();
        if (*answer) answers.emplace_back(key, std::move(**answer));
    }
    return answers;
}

std::string Negotiator::current(std::string_view key) const {
    const auto i = index_of(key);
    if (i == kKeys.size()) return {};
    const auto& k = spec(i);
    const auto& st = keys_[i];
    if (st.result) return *st.result;
    // Offers whose outcome the offer alone decides need no answer (RFC 7143 §6.2.2).
    if (st.offered && !st.refused &&
        ((k.type == KeyType::BooleanAnd && *st.offered == "No") ||
         (k.type == KeyType::BooleanOr && *st.offered == "Yes")))
        return *st.offered;
    return std::string(k.rfc_default);
}

bool Negotiator::settled(std::string_view key) const {
    const auto i = index_of(key);
    return i < keys_.size() && keys_[i].target_sent;
}

bool Negotiator::refused(std::string_view key) const {
    const auto i = index_of(key);
    return i < keys_.size() && keys_[i].refused;
}

Result<SessionParams> Negotiator::params() const {
    SessionParams p;
    auto number = [&](std::string_view key) -> std::uint64_t {
        const auto v = parse_number(current(key));
        return v ? *v : 0;
    };
    auto declared = [&](std::string_view key) -> std::optional<std::uint64_t> {
        const auto& st = keys_[index_of(key)];
        if (!st.declared) return std::nullopt;
        return parse_number(*st.declared);
    };
    p.header_digest = current("HeaderDigest") == "CRC32C";
    p.data_digest = current("DataDigest") == "CRC32C";
    p.max_connections = std::uint16_t(number("MaxConnections"));
    p.initial_r2t = current("InitialR2T") == "Yes";
    p.immediate_data = current("ImmediateData") == "Yes";
    p.max_burst_length = std::uint32_t(number("MaxBurstLength"));
    p.first_burst_length = std::uint32_t(number("FirstBurstLength"));
    p.default_time2wait = std::uint16_t(number("DefaultTime2Wait"));
    p.default_time2retain = std::uint16_t(number("DefaultTime2Retain"));
    p.max_outstanding_r2t = std::uint16_t(number("MaxOutstandingR2T"));
    p.data_pdu_in_order = current("DataPDUInOrder") == "Yes";
    p.data_sequence_in_order = current("DataSequenceInOrder") == "Yes";
    p.error_recovery_level = std::uint8_t(number("ErrorRecoveryLevel"));
    p.rdma_extensions = iser_ && current("RDMAExtensions") == "Yes";
    if (auto tag = declared("TargetPortalGroupTag")) p.target_portal_group_tag = std::uint16_t(*tag);
    if (const auto& alias = keys_[index_of("TargetAlias")].declared) p.target_alias = *alias;

    const std::uint32_t ours = config_.offer.max_recv_data_segment_length;
    p.max_recv_data_segment_length = ours;
    if (p.rdma_extensions) {
        p.initiator_recv_data_segment_length = ours;
        // The target's declaration of what it receives wins over our proposal.
        p.target_recv_data_segment_length =
            std::uint32_t(declared("TargetRecvDataSegmentLength").value_or(8192));
        p.max_xmit_data_segment_length = p.target_recv_data_segment_length;
        // A target may echo InitiatorRecvDataSegmentLength; it must not claim we take more.
        if (auto echo = declared("InitiatorRecvDataSegmentLength"); echo && *echo > ours)
            return make_error(EPROTO, "login negotiation: target declared InitiatorRecvDataSegmentLength=" +
                                          std::to_string(*echo) + " above our " + std::to_string(ours));
    } else {
        p.max_xmit_data_segment_length =
            std::uint32_t(declared("MaxRecvDataSegmentLength").value_or(8192));
    }
    if (iser_ && !p.rdma_extensions)
        return make_error(EPROTO, "login negotiation: target refused RDMAExtensions=Yes (no iSER "
                                  "on this portal); use the TCP transport");
    const bool first_burst_relevant = !(p.initial_r2t && !p.immediate_data);
    if (config_.type == SessionType::Normal && first_burst_relevant &&
        p.first_burst_length > p.max_burst_length)
        return make_error(EPROTO, "login negotiation: FirstBurstLength=" +
                                      std::to_string(p.first_burst_length) + " exceeds MaxBurstLength=" +
                                      std::to_string(p.max_burst_length));
    return p;
}

}  // namespace iser::login
