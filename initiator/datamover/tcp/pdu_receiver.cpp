#include "initiator/datamover/tcp/pdu_receiver.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace iser::datamover {

// Feeds bytes to the current section; moves to the next section when one is complete.
bool PduReceiver::consume(const std::uint8_t* in, std::size_t n, std::size_t& used) {
    const std::size_t take = std::min(n, need_ - have_);
    if (take) {
        std::uint8_t* dst = nullptr;
        switch (state_) {
            case State::Header: dst = bhs_.bytes.data() + have_; break;
            case State::Data: dst = data_dst_.data() + have_; break;
            case State::Ahs:
            case State::DataPad: break;  // skipped bytes
        }
        if (dst) std::memcpy(dst, in, take);
        have_ += take;
    }
    used = take;
    if (have_ < need_) return true;
    return section_done();
}

MutableBytes PduReceiver::direct_space(std::size_t threshold) const {
    if (state_ != State::Data || need_ - have_ < threshold) return {};
    return data_dst_.subspan(have_, need_ - have_);
}

bool PduReceiver::direct_received(std::size_t n) {
    have_ += n;
    if (have_ < need_) return true;
    return section_done();
}

bool PduReceiver::section_done() {
    have_ = 0;
    switch (state_) {
        case State::Header: return finish_header();
        case State::Ahs: return data_or_finish();
        case State::Data:
            if (framing_.padded_data_bytes != framing_.data_bytes) {
                state_ = State::DataPad;
                need_ = framing_.padded_data_bytes - framing_.data_bytes;
                return true;
            }
            [[fallthrough]];
        case State::DataPad:
            state_ = State::Header;
            need_ = pdu::kBhsSize;
            return finish_pdu();
    }
    return true;
}

bool PduReceiver::finish_header() {
    auto framing = pdu::parse_framing(bhs_, data_limit_);
    if (!framing) {
        sink_.framing_error(make_error(EPROTO, "malformed PDU from target: " + framing.error().message));
        return false;
    }
    framing_ = *framing;
    if (framing_.data_bytes) {
        if (bhs_.opcode() == pdu::Opcode::DataIn) {
            data_dst_ = sink_.data_in_placement(bhs_);
            if (data_dst_.size() != framing_.data_bytes) {
                sink_.framing_error(make_error(EPROTO, "target sent Data-In that matches no buffer"));
                return false;
            }
        } else {
            data_buf_.resize(framing_.data_bytes);
            data_dst_ = MutableBytes(data_buf_.data(), data_buf_.size());
        }
    } else {
        data_dst_ = {};
    }
    if (framing_.ahs_bytes) {
        state_ = State::Ahs;
        need_ = framing_.ahs_bytes;
        return true;
    }
    return data_or_finish();
}

// After the header and any AHS: the data segment next, or the PDU is whole.
bool PduReceiver::data_or_finish() {
    if (framing_.data_bytes) {
        state_ = State::Data;
        need_ = framing_.data_bytes;
        return true;
    }
    state_ = State::Header;
    need_ = pdu::kBhsSize;
    return finish_pdu();
}

bool PduReceiver::finish_pdu() {
    const Bytes data(data_dst_.data(), data_dst_.size());
    data_dst_ = {};
    return sink_.deliver(bhs_, data);
}

}  // namespace iser::datamover
