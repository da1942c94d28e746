// The login phase (RFC 7143 §6, §13) as a pure state machine: it produces Login Request PDUs
// and consumes Login Responses; the session feeds it bytes from whatever transport it runs on.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "initiator/pdu/pdu.hpp"

namespace iser::login {

enum class SessionType { Normal, Discovery };
enum class ChapAlgorithm : std::uint8_t { Md5 = 5, Sha1 = 6, Sha256 = 7, Sha3_256 = 8 };

struct ChapCredentials {
    std::string user;
    std::string secret;  // never logged
};

struct AuthConfig {
    std::optional<ChapCredentials> chap;    // one-way: the target authenticates us
    std::optional<ChapCredentials> mutual;  // the credentials the target must prove (needs chap)
    // Algorithms offered in CHAP_A, in order of preference. SHA-256 (7) goes last: tgt
    // (tgtd 1.0.x, Debian 12) takes "7" to mean SHA-1 and then rejects a SHA-256 response, so
    // offering it before MD5 would break CHAP against tgtd; targets that know 7 also know 8.
    std::vector<ChapAlgorithm> algorithms{ChapAlgorithm::Sha3_256, ChapAlgorithm::Sha1,
                                          ChapAlgorithm::Md5, ChapAlgorithm::Sha256};
};

// What the initiator asks for in operational negotiation.
struct OperationalOffer {
    bool iser = false;                                  // offer RDMAExtensions=Yes, iSER keys
    std::uint32_t max_recv_data_segment_length = 262144; // or InitiatorRecvDataSegmentLength on iSER
    // iSER only: our proposal for TargetRecvDataSegmentLength, the largest data segment the
    // target receives from us per PDU. The target's own declaration wins (LIO: 8192, the size
    // of the receive buffers isert posts), so the default is that safe value.
    std::uint32_t target_recv_data_segment_length = 8192;
    std::uint32_t max_burst_length = 262144;
    std::uint32_t first_burst_length = 65536;
    bool initial_r2t = false;
    bool immediate_data = true;
    bool header_digest_crc32c = false;   // offer "CRC32C,None" instead of "None"
    bool data_digest_crc32c = false;
    std::uint16_t default_time2wait = 2;
    std::uint16_t default_time2retain = 20;
    std::uint16_t max_outstanding_r2t = 1;
    std::uint8_t error_recovery_level = 0;
};

struct LoginConfig {
    SessionType type = SessionType::Normal;
    std::string initiator_name;
    std::string initiator_alias;  // optional
    std::string target_name;      // required for Normal sessions
    pdu::Isid isid{};
    std::uint16_t tsih = 0;       // non-zero to reinstate an existing session
    std::uint16_t cid = 0;
    std::uint32_t itt = 0;        // ITT used for all login PDUs
    std::uint32_t cmdsn = 0;      // initial CmdSN
    AuthConfig auth;
    OperationalOffer offer;
};

// Negotiated result, with the RFC 7143 defaults for every key the target did not touch.
struct SessionParams {
    bool header_digest = false, data_digest = false;
    std::uint32_t max_recv_data_segment_length = 8192;  // what WE accept per PDU (declared by us)
    std::uint32_t max_xmit_data_segment_length = 8192;  // what the TARGET accepts per PDU
    std::uint32_t max_burst_length = 262144, first_burst_length = 65536;
    bool initial_r2t = true, immediate_data = true;
    bool data_pdu_in_order = true, data_sequence_in_order = true;
    std::uint16_t max_connections = 1, max_outstanding_r2t = 1;
    std::uint16_t default_time2wait = 2, default_time2retain = 20;
    std::uint8_t error_recovery_level = 0;
    bool rdma_extensions = false;
    std::uint32_t initiator_recv_data_segment_length = 8192;  // iSER
    std::uint32_t target_recv_data_segment_length = 8192;     // iSER
    std::uint16_t target_portal_group_tag = 0;
    std::string target_alias;
    std::uint16_t tsih = 0;
    std::uint32_t statsn = 0;      // StatSN of the final login response (ExpStatSN = statsn + 1)
    std::uint32_t expcmdsn = 0, maxcmdsn = 0;
};

// One Login Request to send: header plus its text data segment.
struct LoginPdu {
    pdu::LoginRequest header;
    std::vector<std::uint8_t> data;
};

// The outcome of feeding one Login Response.
struct LoginStep {
    std::optional<LoginPdu> next;         // send this and wait for the next response
    std::optional<SessionParams> done;    // login complete: full feature phase may start
};

class LoginMachine {
public:
    explicit LoginMachine(LoginConfig config);
    ~LoginMachine();
    LoginMachine(LoginMachine&&) noexcept;
    LoginMachine& operator=(LoginMachine&&) noexcept;
    // The first Login Request. EINVAL when the configuration cannot work (no initiator name,
    // no target name for a Normal session, mutual CHAP without one-way CHAP or with the same
    // secret in both directions).
    Result<LoginPdu> start();
    // Feed one Login Response (header + data segment). Errors carry a one-line message such
    // as "login failed: authentication failure (status 0x0201)", with errno EACCES for auth
    // failures, ENOENT for target not found, EPROTO for protocol violations, EAGAIN for
    // target-busy statuses and redirects ("target moved to ADDRESS"). After an error or
    // completion the machine accepts nothing more.
    Result<LoginStep> feed(const pdu::LoginResponse& header, Bytes data);

private:
    // Stage, negotiation table state, CHAP state and the text joined across Continue
    // responses live in machine.cpp.
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Human-readable text for a login status class/detail (RFC 7143 §11.13.5).
std::string describe_login_status(std::uint8_t status_class, std::uint8_t status_detail);

}  // namespace iser::login
