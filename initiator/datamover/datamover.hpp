// The Datamover: how iSCSI PDUs and SCSI data move between the session and the target
// (RFC 7145 §4 calls the iSER one a "Datamover Layer"). Two implementations: tcp/ (RFC 7143
// framing over a socket, data in Data-In/Data-Out PDUs) and iser/ (RDMA Sends for PDUs, the target
// RDMA-Reads/Writes the data straight from/to registered buffers).
//
// Threading: a Datamover lives on one EventLoop thread with its Session; every call and every
// Events callback happens on that thread. No locks.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/block_backend.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "initiator/pdu/pdu.hpp"

namespace iser::datamover {

// Called by the datamover on its loop thread.
class Events {
public:
    virtual void on_connected() = 0;
    // A complete PDU. `data` is only valid during the call. For a Data-In whose payload was
    // placed by data_in_placement(), `data` is that placed span.
    virtual void on_pdu(const pdu::Bhs& bhs, Bytes data) = 0;
    // TCP only: where the payload of this Data-In PDU belongs (a slice of the task's buffer), so
    // it is received straight into place. An empty span means "reject": the datamover then drops
    // the connection with EPROTO.
    virtual MutableBytes data_in_placement(const pdu::Bhs& bhs) = 0;
    // The connection is gone (or never came up). Called once; no callbacks after it.
    virtual void on_disconnected(const Error& why) = 0;

protected:
    ~Events() = default;
};

// The most a connection keeps of PDUs it could not send yet: each PDU is charged
// kQueuedPduOverhead (so that empty PDUs count too), a control PDU also its copied data; a
// Data-Out's data is the task's buffer and not charged. Legitimate traffic queues a few kilobytes
// of control PDUs (login and text requests, a NOP-Out echo, task management) and one entry per
// Data-Out: 32 MiB of WRITEs in 8 KiB PDUs cost 256 KiB of it (in 512-byte PDUs, the least a
// target may declare, the whole cap).
inline constexpr std::size_t kMaxQueuedControlBytes = 4u << 20;
inline constexpr std::size_t kQueuedPduOverhead = 64;

// Buffer description for a SCSI Command PDU.
struct CommandPayload {
    std::uint8_t* buffer = nullptr;  // inside memory given to add_io_memory() (iSER needs that)
    std::uint32_t length = 0;        // expected data transfer length
    bool read = false, write = false;
    std::uint32_t immediate_bytes = 0;  // write data sent with the command (from buffer[0])
};

// What the full feature phase needs from the login.
struct FeatureParams {
    bool header_digest = false, data_digest = false;
    std::uint32_t max_recv_data_segment = 8192;   // the largest data segment we accept
    std::uint32_t max_send_data_segment = 8192;   // the largest the target accepts
    std::uint32_t queue_depth = 128;               // commands in flight (iSER sizes its queues)
};

class Datamover {
public:
    virtual ~Datamover() = default;
    virtual const char* transport_name() const = 0;  // "tcp" or "iser"
    // Starts connecting; ends in Events::on_connected or Events::on_disconnected.
    virtual void connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) = 0;
    // True when the target moves SCSI data itself (iSER): no R2T, Data-In or Data-Out PDUs.
    virtual bool target_moves_data() const = 0;
    // Largest immediate-data size the transport can carry in the command's own message.
    virtual std::uint32_t max_immediate_bytes() const = 0;
    // Send a control PDU (login, text, NOP-Out, task management, logout) with an optional data
    // segment. `data` need only be valid during the call: whatever cannot go out at once is
    // copied, because what the session answers from (a NOP-In's ping data, say) is gone when the
    // call returns, and a target that stops reading would otherwise get freed memory echoed back.
    // Queued control PDUs are charged against kMaxQueuedControlBytes; past it the connection
    // fails (a target that keeps asking and never reads must not grow our memory).
    virtual Status send_pdu(const pdu::Bhs& bhs, Bytes data) = 0;
    // Send a Data-Out PDU straight from the task's buffer, without a copy: `data` must stay valid
    // until the task completes (the session guarantees that). Never used over iSER.
    virtual Status send_data_out(const pdu::Bhs& bhs, Bytes data) = 0;
    // Send a SCSI Command PDU with its data buffer.
    virtual Status send_command(const pdu::Bhs& bhs, const CommandPayload& payload) = 0;
    // The session is done with the command of `itt` (answered, rejected or aborted): its buffer
    // may be reused at once. iSER withdraws the target's access to the buffer here (the key it
    // got with the command is invalidated), so a late or forged RDMA Write cannot land in memory
    // that already serves another I/O. TCP has nothing to do: late Data-In is dropped by ITT.
    virtual void end_command(std::uint32_t itt) { (void)itt; }
    // Login finished: switch to full feature phase sizing, digests.
    virtual Status enter_full_feature(const FeatureParams& params) = 0;
    // Make payload memory (from the session's IoMemoryPool) usable for commands: iSER registers
    // it with its protection domain, now or when the device is known at connect. The memory
    // belongs to the caller and outlives the datamover; close() drops any registration.
    virtual Status add_io_memory(const IoMemory& memory) = 0;
    // Orderly close; no Events callbacks after it returns.
    virtual void close() = 0;
};

}  // namespace iser::datamover
