// The iSCSI/TCP receive framing (RFC 7143 section 11): a byte stream in, whole PDUs out. It
// holds no socket, so TcpDatamover feeds it what recv() returned and the framing fuzzer
// (tests/fuzz/tcp_framing.cpp) feeds it arbitrary bytes split at arbitrary points.
//
// A Data-In's data segment goes straight into the task buffer the sink names; any other data
// segment goes into a buffer of the receiver's own, valid until the next PDU starts.
// No digest sections: TcpDatamover refuses digests at the full feature phase.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "initiator/pdu/pdu.hpp"

namespace iser::datamover {

class PduReceiver {
public:
    class Sink {
    public:
        // Where this Data-In's data segment goes; it must be exactly its length.
        virtual MutableBytes data_in_placement(const pdu::Bhs& bhs) = 0;
        // A whole PDU. False: stop feeding (the connection failed or closed meanwhile).
        virtual bool deliver(const pdu::Bhs& bhs, Bytes data) = 0;
        // The stream cannot be framed any further; the receiver takes no more bytes after this.
        virtual void framing_error(Error why) = 0;

    protected:
        ~Sink() = default;
    };

    explicit PduReceiver(Sink& sink) : sink_(sink) {}

    // The largest data segment accepted (a bigger one is a framing error).
    void set_data_limit(std::uint32_t bytes) { data_limit_ = bytes; }

    // Takes up to `n` bytes of the current section (`used` says how many). False: stop.
    bool consume(const std::uint8_t* in, std::size_t n, std::size_t& used);

    // While a data segment is being received with at least `threshold` bytes still to come,
    // the rest of it (where a recv may write directly); else empty.
    MutableBytes direct_space(std::size_t threshold) const;
    // `n` bytes were written into direct_space(). False: stop.
    bool direct_received(std::size_t n);

private:
    enum class State { Header, Ahs, Data, DataPad };

    bool section_done();
    bool finish_header();
    bool data_or_finish();
    bool finish_pdu();

    Sink& sink_;
    std::uint32_t data_limit_ = 0;
    State state_ = State::Header;
    pdu::Bhs bhs_;
    std::size_t have_ = 0;              // bytes of the current section received
    std::size_t need_ = pdu::kBhsSize;  // bytes of the current section expected
    pdu::Framing framing_{};
    MutableBytes data_dst_;               // where the data segment goes
    std::vector<std::uint8_t> data_buf_;  // data segments that are not placed (text, sense...)
};

}  // namespace iser::datamover
