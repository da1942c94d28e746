// The login state machine (RFC 7143 §6.3): security stage (AuthMethod, then CHAP), operational
// stage, transit to full feature phase. Pure: PDUs in, PDUs out.
#include <cstdio>
#include <set>

#include "initiator/login/chap.hpp"
#include "initiator/login/login.hpp"
#include "initiator/login/negotiation.hpp"
#include "initiator/login/text.hpp"

namespace iser::login {
namespace {

constexpr std::uint8_t kSecurityStage = 0, kOperationalStage = 1, kFullFeature = 3;
constexpr std::size_t kMaxLoginText = 64 * 1024;  // joined across Continue responses
constexpr int kMaxResponses = 64;                  // a login that does not converge is an error

std::string status_code(std::uint8_t cls, std::uint8_t detail) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%02x%02x", cls, detail);
    return buf;
}

// Maps a non-success Login Response status to the error the caller acts on.
Error status_error(const pdu::LoginResponse& h, Bytes data) {
    const auto cls = h.status_class, detail = h.status_detail;
    const std::string what = describe_login_status(cls, detail) + " (status " + status_code(cls, detail) + ")";
    if (cls == 1) {
        std::string address;
        if (auto keys = parse_text(data))
            if (const auto* a = find_key(*keys, "TargetAddress")) address = a->substr(0, 300);
        if (address.empty())
            return make_error(EPROTO, "login redirected without a TargetAddress: " + what);
        return make_error(EAGAIN, "login redirected: target moved to " + address + " (" + what + ")");
    }
    int code = EPROTO;
    if (cls == 2) {
        if (detail == 0x01 || detail == 0x02) code = EACCES;
        else if (detail == 0x03 || detail == 0x04) code = ENOENT;
    } else if (cls == 3) {
        code = (detail == 0x01 || detail == 0x02) ? EAGAIN : EIO;
    }
    return make_error(code, "login failed: " + what);
}

bool is_chap_key(const std::string& key) { return key.rfind("CHAP_", 0) == 0; }

}  // namespace

struct LoginMachine::Impl {
    enum class Phase { Idle, Security, Operational, Done, Failed };
    // Where the security stage stands.
    enum class SecStep { AwaitAuthMethod, AwaitChallenge, AwaitChapResult, AwaitTransit };

    explicit Impl(LoginConfig c) : config(std::move(c)), negotiator(config) {}

    Result<LoginPdu> start();
    Result<LoginStep> feed(const pdu::LoginResponse& h, Bytes data);
    Result<LoginStep> security(const pdu::LoginResponse& h, const KeyValues& keys, KeyValues chap_keys);
    Result<LoginStep> operational(const pdu::LoginResponse& h, const KeyValues& keys);
    Status check_header(const pdu::LoginResponse& h) const;
    LoginPdu request(std::uint8_t csg, bool transit, std::uint8_t nsg, const KeyValues& keys);
    LoginStep send(LoginPdu pdu) { return LoginStep{std::move(pdu), std::nullopt}; }
    Result<LoginStep> enter_operational();

    LoginConfig config;
    Negotiator negotiator;
    std::optional<chap::ChapInitiator> chap;
    Phase phase = Phase::Idle;
    SecStep sec = SecStep::AwaitAuthMethod;
    pdu::LoginRequest last{};            // header of the request the target is answering
    std::vector<std::uint8_t> pending_text;  // text across Continue (C bit) responses
    KeyValues owed;                      // answers to the target's offers, for the next request
    std::uint32_t expstatsn = 0;
    int responses = 0;
};

LoginPdu LoginMachine::Impl::request(std::uint8_t csg, bool transit, std::uint8_t nsg,
                                     const KeyValues& keys) {
    LoginPdu pdu;
    auto& h = pdu.header;
    h.transit = transit;
    h.cont = false;
    h.csg = csg;
    h.nsg = transit ? nsg : 0;  // NSG is reserved unless T is set
    h.version_max = h.version_min = 0;
    h.isid = config.isid;
    h.tsih = config.tsih;
    h.itt = config.itt;
    h.cid = config.cid;
    h.cmdsn = config.cmdsn;  // login requests are immediate: CmdSN does not advance
    h.expstatsn = expstatsn;
    append_keys(pdu.data, keys);
    h.data_length = std::uint32_t(pdu.data.size());
    last = h;
    return pdu;
}

Result<LoginPdu> LoginMachine::Impl::start() {
    if (phase != Phase::Idle) return make_error(EINVAL, "login: start() called twice");
    const auto& auth = config.auth;
    if (config.initiator_name.empty()) return make_error(EINVAL, "login: no initiator name configured");
    if (config.type == SessionType::Normal && config.target_name.empty())
        return make_error(EINVAL, "login: no target name configured");
    if (auth.mutual && !auth.chap)
        return make_error(EINVAL, "login: mutual CHAP needs the initiator's CHAP credentials too");
    if (auth.chap && (auth.chap->user.empty() || auth.chap->secret.empty() || auth.algorithms.empty()))
        return make_error(EINVAL, "login: CHAP needs a user, a secret and at least one algorithm");
    if (auth.mutual && (auth.mutual->user.empty() || auth.mutual->secret.empty()))
        return make_error(EINVAL, "login: mutual CHAP needs the target's user and secret");
    // RFC 7143 §12.1.3: one secret for both directions invites reflection attacks.
    if (auth.mutual && auth.mutual->secret == auth.chap->secret)
        return make_error(EINVAL, "login: the mutual CHAP secret must differ from the initiator's secret");
    phase = Phase::Security;
    const auto keys = negotiator.login_offer();
    if (auth.chap) {
        chap.emplace(auth);
        sec = SecStep::AwaitAuthMethod;
        return request(kSecurityStage, false, 0, keys);
    }
    // AuthMethod=None: ask to leave the security stage at once.
    sec = SecStep::AwaitTransit;
    return request(kSecurityStage, true, kOperationalStage, keys);
}

Status LoginMachine::Impl::check_header(const pdu::LoginResponse& h) const {
    auto violation = [](std::string what) { return make_error(EPROTO, "login: target violated the protocol: " + what); };
    if (h.itt != config.itt) return violation("Login Response for another ITT");
    if (h.isid != config.isid) return violation("Login Response for another ISID");
    if (h.version_active != 0) return violation("unsupported VersionActive " + std::to_string(h.version_active));
    if (h.csg != last.csg)
        return violation("response in stage " + std::to_string(h.csg) + " to a request in stage " +
                         std::to_string(last.csg));
    if (h.transit && h.cont) return violation("both T and C bits set");
    if (h.transit && !last.transit) return violation("T bit set although we did not ask to transit");
    if (h.transit && h.nsg != last.nsg)
        return violation("transit to stage " + std::to_string(h.nsg) + " instead of " + std::to_string(last.nsg));
    return {};
}

Result<LoginStep> LoginMachine::Impl::feed(const pdu::LoginResponse& h, Bytes data) {
    if (phase == Phase::Idle) return make_error(EINVAL, "login: feed() before start()");
    if (phase == Phase::Done || phase == Phase::Failed)
        return make_error(EPROTO, "login: unexpected Login Response after the login ended");
    if (++responses > kMaxResponses)
        return make_error(EPROTO, "login: no agreement after " + std::to_string(kMaxResponses) + " responses");
    if (h.data_length > data.size())
        return make_error(EPROTO, "login: Login Response data segment shorter than its DataSegmentLength");
    data = data.first(h.data_length);
    if (h.status_class != 0) return status_error(h, data);
    ISER_TRY(check_header(h));
    expstatsn = h.statsn + 1;
    if (pending_text.size() + data.size() > kMaxLoginText)
        return make_error(EPROTO, "login: target's login text exceeds 64 KiB");
    pending_text.insert(pending_text.end(), data.begin(), data.end());
    if (h.cont) {
        // Ask for the rest with an empty request (RFC 7143 §11.12.2: C bit).
        return send(request(last.csg, false, 0, {}));
    }
    auto parsed = parse_text(pending_text);
    pending_text.clear();
    if (!parsed) return make_error(EPROTO, "login: " + parsed.error().message);
    KeyValues keys, chap_keys;
    std::set<std::string> seen;
    for (auto& kv : *parsed) {
        if (!seen.insert(kv.first).second)
            return make_error(EPROTO, "login: target sent key " + kv.first + " twice in one response");
        (is_chap_key(kv.first) ? chap_keys : keys).push_back(std::move(kv));
    }
    if (phase == Phase::Security) return security(h, keys, std::move(chap_keys));
    if (!chap_keys.empty())
        return make_error(EPROTO, "login: target sent " + chap_keys.front().first + " outside the security stage");
    return operational(h, keys);
}

Result<LoginStep> LoginMachine::Impl::enter_operational() {
    phase = Phase::Operational;
    KeyValues keys = std::move(owed);
    owed.clear();
    for (auto& kv : negotiator.operational_offer()) keys.push_back(std::move(kv));
    return send(request(kOperationalStage, true, kFullFeature, keys));
}

Result<LoginStep> LoginMachine::Impl::security(const pdu::LoginResponse& h, const KeyValues& keys,
                                               KeyValues chap_keys) {
    auto answers = negotiator.receive(keys, true);
    if (!answers) return answers.take_error();
    for (auto& kv : *answers) owed.push_back(std::move(kv));
    auto unexpected_chap = [&]() -> Status {
        if (chap_keys.empty()) return {};
        return make_error(EPROTO, "login: unexpected " + chap_keys.front().first + " from target");
    };
    auto take_owed = [&](KeyValues extra = {}) {
        KeyValues out = std::move(owed);
        owed.clear();
        for (auto& kv : extra) out.push_back(std::move(kv));
        return out;
    };

    switch (sec) {
    case SecStep::AwaitAuthMethod: {
        ISER_TRY(unexpected_chap());
        if (negotiator.refused("AuthMethod"))
            return make_error(EACCES, "login: target refused every offered AuthMethod");
        if (!negotiator.settled("AuthMethod"))
            return make_error(EPROTO, "login: target did not answer AuthMethod");
        if (negotiator.current("AuthMethod") == "CHAP") {
            sec = SecStep::AwaitChallenge;
            return send(request(kSecurityStage, false, 0, take_owed({{"CHAP_A", chap->algorithm_offer()}})));
        }
        // The target needs no authentication (AuthMethod=None was among our offers).
        chap.reset();
        sec = SecStep::AwaitTransit;
        return send(request(kSecurityStage, true, kOperationalStage, take_owed()));
    }
    case SecStep::AwaitChallenge: {
        auto reply = chap->answer(chap_keys);
        if (!reply) return reply.take_error();
        sec = SecStep::AwaitChapResult;
        return send(request(kSecurityStage, true, kOperationalStage, take_owed(std::move(*reply))));
    }
    case SecStep::AwaitChapResult:
        if (chap->mutual()) {
            ISER_TRY(chap->verify(chap_keys));
        } else {
            ISER_TRY(unexpected_chap());
        }
        sec = SecStep::AwaitTransit;
        if (h.transit) return enter_operational();
        return send(request(kSecurityStage, true, kOperationalStage, take_owed()));
    case SecStep::AwaitTransit:
        ISER_TRY(unexpected_chap());
        if (negotiator.current("AuthMethod") != "None" && !chap)
            return make_error(EPROTO, "login: target chose an AuthMethod we did not offer");
        if (h.transit) return enter_operational();
        return send(request(kSecurityStage, true, kOperationalStage, take_owed()));
    }
    return make_error(EPROTO, "login: bad security state");
}

Result<LoginStep> LoginMachine::Impl::operational(const pdu::LoginResponse& h, const KeyValues& keys) {
    auto answers = negotiator.receive(keys, false);
    if (!answers) return answers.take_error();
    for (auto& kv : *answers) owed.push_back(std::move(kv));
    if (!h.transit) {
        KeyValues out = std::move(owed);
        owed.clear();
        return send(request(kOperationalStage, true, kFullFeature, out));
    }
    if (!owed.empty())
        return make_error(EPROTO, "login: target offered " + owed.front().first +
                                      " in its final Login Response, leaving no room for our answer");
    if (h.tsih == 0) return make_error(EPROTO, "login: target completed the login with TSIH 0");
    if (config.tsih != 0 && h.tsih != config.tsih)
        return make_error(EPROTO, "login: target answered TSIH " + std::to_string(h.tsih) +
                                      " to our reinstatement of TSIH " + std::to_string(config.tsih));
    auto params = negotiator.params();
    if (!params) return params.take_error();
    params->tsih = h.tsih;
    params->statsn = h.statsn;
    params->expcmdsn = h.expcmdsn;
    params->maxcmdsn = h.maxcmdsn;
    phase = Phase::Done;
    return LoginStep{std::nullopt, std::move(*params)};
}

LoginMachine::LoginMachine(LoginConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
LoginMachine::~LoginMachine() = default;
LoginMachine::LoginMachine(LoginMachine&&) noexcept = default;
LoginMachine& LoginMachine::operator=(LoginMachine&&) noexcept = default;

Result<LoginPdu> LoginMachine::start() {
    auto r = impl_->start();
    if (!r) impl_->phase = Impl::Phase::Failed;
    return r;
}

Result<LoginStep> LoginMachine::feed(const pdu::LoginResponse& header, Bytes data) {
    auto r = impl_->feed(header, data);
    if (!r) impl_->phase = Impl::Phase::Failed;
    return r;
}

}  // namespace iser::login
