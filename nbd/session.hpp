// The server side of one NBD connection without I/O: bytes from the client go in, handshake
// replies come out in output(), and transmission requests come out as steps for the caller to
// execute. NbdServer wraps it around a socket; the fuzz target drives it straight from bytes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/block_backend.hpp"
#include "nbd/protocol.hpp"

namespace iser::nbd {

// What a client is told about the one export, derived once from the backend's geometry.
struct ExportInfo {
    std::string name;
    std::string description;
    std::uint64_t size = 0;
    std::uint16_t transmission_flags = kFlagHasFlags;
    BlockSizes block_sizes;
};

ExportInfo make_export_info(const BlockGeometry& geometry, std::string name);

// 0 when the request may be executed, otherwise the NBD error to reply with (never submitted).
std::uint32_t validate_request(const Request& request, const ExportInfo& info);

// Longest option data accepted (INFO/GO carry a name of at most 4096 bytes plus a short list).
inline constexpr std::size_t kMaxOptionLength = 16 * 1024;
// A WRITE longer than this is treated as a protocol violation (the connection is closed)
// rather than read and thrown away; up to it, an over-long WRITE gets EINVAL after its payload.
inline constexpr std::uint32_t kMaxDiscardedPayload = 64u << 20;

class ServerSession {
public:
    enum class Phase { ClientFlags, Options, Transmission, Closed };

    enum class StepKind {
        NeedMore,  // no complete message in the input; nothing consumed
        Handled,   // a handshake message was handled; replies may have been appended to output()
        Request,   // a transmission request header (a WRITE's payload follows as Payload steps)
        Payload,   // a chunk of the current WRITE's payload, pointing into the input
        Closed,    // the connection must end; `graceful`: send output() first
    };

    struct Step {
        StepKind kind = StepKind::NeedMore;
        std::size_t consumed = 0;
        Request request;            // Request
        std::uint32_t error = 0;    // Request: nonzero = reply with this error, do not execute
        Bytes payload;              // Payload
        bool payload_done = false;  // Payload: this chunk ends the WRITE's payload
        bool graceful = false;      // Closed
        const char* reason = "";    // Closed: for the log line
    };

    // transmission_only: the client already knows the export (the kernel NBD driver, handed
    // the socket over netlink, never handshakes): no greeting, straight to Transmission.
    explicit ServerSession(ExportInfo info, bool transmission_only = false);

    Phase phase() const { return phase_; }
    const ExportInfo& info() const { return info_; }
    // The LUN was resized: requests are checked against the new size from now on (the kernel
    // client is told separately; a handshaking client sees it in its next INFO/GO).
    void set_export_size(std::uint64_t size) { info_.size = size; }
    // Bytes to send to the client (the greeting first); the caller erases what it has sent.
    std::vector<std::uint8_t>& output() { return output_; }
    const std::vector<std::uint8_t>& output() const { return output_; }

    // Parses at most one message (or one payload chunk) from the front of `input`.
    Step step(Bytes input);

    // For reading a WRITE payload straight into its destination, bypassing step():
    std::uint32_t payload_remaining() const { return payload_remaining_; }
    // Returns true when the payload is now complete.
    bool payload_received(std::size_t bytes);

private:
    Step step_client_flags(Bytes input);
    Step step_option(Bytes input);
    Step step_request(Bytes input);
    Step step_payload(Bytes input);
    Step handle_option(std::uint32_t option, Bytes data);
    Step handle_info(std::uint32_t option, Bytes data);
    Step close(const char* reason, bool graceful);

    ExportInfo info_;
    Phase phase_ = Phase::ClientFlags;
    bool fixed_newstyle_ = false;
    bool no_zeroes_ = false;
    std::uint32_t payload_remaining_ = 0;
    std::vector<std::uint8_t> output_;
};

}  // namespace iser::nbd
