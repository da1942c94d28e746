// iSCSI over TCP (RFC 7143 framing): a non-blocking socket on the session's loop.
// Sends are gathered with writev straight from the callers' buffers; Data-In payloads are
// received straight into the task buffers the session names (no intermediate copy).
#pragma once
#include <deque>
#include <memory>
#include <vector>

#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "initiator/datamover/datamover.hpp"
#include "initiator/datamover/tcp/pdu_receiver.hpp"

namespace iser::datamover {

class TcpDatamover final : public Datamover, private PduReceiver::Sink {
public:
    TcpDatamover(EventLoop& loop, Logger& log, Events& events);
    ~TcpDatamover() override;

    const char* transport_name() const override { return "tcp"; }
    void connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) override;
    bool target_moves_data() const override { return false; }
    std::uint32_t max_immediate_bytes() const override { return params_.max_send_data_segment; }
    Status send_pdu(const pdu::Bhs& bhs, Bytes data) override;
    Status send_data_out(const pdu::Bhs& bhs, Bytes data) override;
    Status send_command(const pdu::Bhs& bhs, const CommandPayload& payload) override;
    Status enter_full_feature(const FeatureParams& params) override;
    Status add_io_memory(const IoMemory& memory) override;
    void close() override;

private:
    struct OutPdu {
        std::uint8_t header[pdu::kBhsSize + 4];  // BHS (+ header digest)
        std::uint32_t header_len = 0;
        Bytes data;                       // the task's buffer, or `owned`
        std::vector<std::uint8_t> owned;  // a control PDU's data, copied (send_pdu's contract)
        std::size_t charged = 0;          // counted in queued_control_bytes_
        std::uint8_t trailer[8];  // padding (+ data digest)
        std::uint32_t trailer_len = 0;
        std::size_t sent = 0;     // bytes of header+data+trailer already written
        std::size_t total() const { return header_len + data.size() + trailer_len; }
    };

    Status queue_pdu(const pdu::Bhs& bhs, Bytes data, bool copy);
    void on_connect_ready(std::uint32_t events);
    void on_socket(std::uint32_t events);
    void flush_send_queue();
    void receive();
    // PduReceiver::Sink
    MutableBytes data_in_placement(const pdu::Bhs& bhs) override { return events_.data_in_placement(bhs); }
    bool deliver(const pdu::Bhs& bhs, Bytes data) override;
    void framing_error(Error why) override { fail(std::move(why)); }
    void fail(Error why);
    void fail_later(Error why);
    void update_interest();

    EventLoop& loop_;
    Logger& log_;
    Events& events_;
    UniqueFd fd_;
    bool connected_ = false;
    bool failed_ = false;
    bool want_write_ = false;
    EventLoop::TimerId connect_timer_ = 0;
    FeatureParams params_;

    std::deque<OutPdu> send_queue_;
    std::size_t queued_control_bytes_ = 0;

    PduReceiver receiver_{*this};
    std::vector<std::uint8_t> rx_;  // socket read buffer
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards deferred failures
};

}  // namespace iser::datamover
