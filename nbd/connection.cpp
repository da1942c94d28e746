#include "nbd/connection.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>

namespace iser::nbd {
namespace {

constexpr std::size_t kRxBufferSize = 64 * 1024;  // > the largest handshake message (16 KiB + 16)
constexpr std::size_t kMaxPendingOutput = 1u << 20;  // a client not reading its option replies
constexpr int kMaxReadsPerEvent = 16;               // fairness between connections
constexpr int kMaxIov = 64;

}  // namespace

Connection::Connection(EventLoop& loop, BlockBackend& backend, Logger& log, const ExportInfo& info, UniqueFd fd,
                       Limits limits, std::uint64_t id, ConnectionOwner* owner, bool transmission_only)
    : loop_(loop),
      backend_(backend),
      log_(log),
      geometry_(backend.geometry()),
      session_(info, transmission_only),
      fd_(std::move(fd)),
      limits_(limits),
      id_(id),
      owner_(owner),
      rx_(kRxBufferSize) {
    const std::size_t count = std::max<std::uint32_t>(limits.slots, 1);
    limits_.share_bytes = std::max<std::size_t>(limits_.share_bytes, info.block_sizes.maximum);
    slots_.resize(count);
    free_slots_.reserve(count);
    send_queue_.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
        slots_[i].connection = this;
        slots_[i].request.owner = this;
        slots_[i].request.cookie = i;
        free_slots_.push_back(std::uint32_t(count - 1 - i));  // slot 0 is handed out first
    }
}

Connection::~Connection() {
    if (registered_) loop_.remove_fd(fd_.get());
    if (waiting_slot_ && waiting_in_pool_) limits_.pool->cancel(*waiting_slot_);
}

Status Connection::start() {
    interest_ = EPOLLIN;
    ISER_TRY(loop_.add_fd(fd_.get(), interest_, [this](std::uint32_t events) { on_events(events); }));
    registered_ = true;
    if (session_.phase() != ServerSession::Phase::Transmission) {
        loop_.add_timer(limits_.handshake_timeout, [weak = weak_from_this()] {
            auto self = weak.lock();
            if (!self || self->state_ != State::Open || self->session_.phase() == ServerSession::Phase::Transmission)
                return;
            ISER_LOG_WARN(self->log_, "nbd: connection %llu: no handshake within %lld ms; closing it",
                          (unsigned long long)self->id_, (long long)self->limits_.handshake_timeout.count());
            self->fail("handshake timeout");
        });
    }
    flush_output();  // the greeting (nothing in transmission-only mode)
    return {};
}

bool Connection::can_read() const {
    if (state_ != State::Open) return false;
    switch (session_.phase()) {
        case ServerSession::Phase::ClientFlags:
        case ServerSession::Phase::Options: return session_.output().size() < kMaxPendingOutput;
        case ServerSession::Phase::Transmission:
            if (waiting_slot_) return false;  // a request waits for its payload buffer
            return session_.payload_remaining() > 0 || !free_slots_.empty();
        case ServerSession::Phase::Closed: return false;
    }
    return false;
}

void Connection::on_events(std::uint32_t events) {
    if (events & EPOLLOUT) flush_output();
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable();
    // HUP/ERR: the client is gone in both directions; nothing more can be read or replied.
    if ((events & (EPOLLHUP | EPOLLERR)) && state_ != State::Dead) fail("client hung up");
}

void Connection::on_readable() {
    for (int i = 0; i < kMaxReadsPerEvent && state_ == State::Open; ++i) {
        if (!process_input()) break;
        ssize_t n;
        bool direct = payload_slot_ && rx_begin_ == rx_end_;
        if (direct) {
            // A WRITE payload goes straight from the socket into its slot.
            n = ::read(fd_.get(), payload_slot_->buffer + payload_filled_, session_.payload_remaining());
        } else {
            if (rx_begin_ == rx_end_) {
                rx_begin_ = rx_end_ = 0;
            } else if (rx_end_ == rx_.size()) {
                std::memmove(rx_.data(), rx_.data() + rx_begin_, rx_end_ - rx_begin_);
                rx_end_ -= rx_begin_;
                rx_begin_ = 0;
            }
            n = ::read(fd_.get(), rx_.data() + rx_end_, rx_.size() - rx_end_);
        }
        if (n > 0) {
            if (!direct) {
                rx_end_ += std::size_t(n);
            } else {
                payload_filled_ += std::uint32_t(n);
                if (session_.payload_received(std::size_t(n))) {
                    Slot* slot = std::exchange(payload_slot_, nullptr);
                    execute(*slot);
                }
            }
            continue;
        }
        if (n == 0) {
            // The client shut down its side: finish what it sent, then close.
            if (session_.phase() == ServerSession::Phase::Transmission && session_.payload_remaining() == 0 &&
                rx_begin_ == rx_end_) {
                ISER_LOG_DEBUG(log_, "nbd: connection %llu: client closed its side", (unsigned long long)id_);
                drain();
            } else {
                fail("client closed the connection mid-message");
            }
            break;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) fail("read failed");
        break;
    }
    process_input();
    update_interest();
}

bool Connection::process_input() {
    while (state_ == State::Open) {
        if (waiting_slot_) return false;  // backpressure: no payload buffer yet
        const bool in_payload = session_.payload_remaining() > 0;
        if (session_.phase() == ServerSession::Phase::Transmission && !in_payload && free_slots_.empty())
            return false;  // backpressure: every slot is busy
        if (session_.output().size() >= kMaxPendingOutput) return false;
        auto step = session_.step(Bytes(rx_.data() + rx_begin_, rx_end_ - rx_begin_));
        rx_begin_ += step.consumed;
        if (step.kind == ServerSession::StepKind::NeedMore) return true;
        if (!handle_step(step)) return false;
    }
    return false;
}

bool Connection::handle_step(const ServerSession::Step& step) {
    switch (step.kind) {
        case ServerSession::StepKind::NeedMore: return true;
        case ServerSession::StepKind::Handled:
            schedule_flush();
            return true;
        case ServerSession::StepKind::Request:
            begin_request(step.request, step.error);
            return true;
        case ServerSession::StepKind::Payload:
            if (payload_slot_) {
                std::memcpy(payload_slot_->buffer + payload_filled_, step.payload.data(), step.payload.size());
                payload_filled_ += std::uint32_t(step.payload.size());
            }
            if (step.payload_done && payload_slot_) execute(*std::exchange(payload_slot_, nullptr));
            return true;
        case ServerSession::StepKind::Closed:
            if (step.graceful) {
                ISER_LOG_DEBUG(log_, "nbd: connection %llu: %s", (unsigned long long)id_, step.reason);
                schedule_flush();
                drain();
            } else {
                ISER_LOG_WARN(log_, "nbd: connection %llu: protocol violation: %s; closing it",
                              (unsigned long long)id_, step.reason);
                fail("protocol violation");
            }
            return false;
    }
    return false;
}

void Connection::begin_request(const Request& request, std::uint32_t error) {
    const std::uint32_t index = free_slots_.back();
    free_slots_.pop_back();
    Slot& slot = slots_[index];
    slot.type = request.type;
    slot.flags = request.flags;
    slot.handle = request.handle;
    slot.payload_in_reply = false;
    slot.request.offset = request.offset;
    slot.request.length = request.length;
    slot.next_offset = slot.end_offset = 0;
    if (error) {
        ISER_LOG_DEBUG(log_, "nbd: connection %llu: rejecting %s offset %llu length %u: error %u",
                       (unsigned long long)id_, command_name(request.type), (unsigned long long)request.offset,
                       request.length, error);
        if (request.type == kCmdWrite) payload_slot_ = nullptr;  // its payload is read and dropped
        queue_reply(slot, error);
        return;
    }
    if (take_slice(slot)) start_request(slot);
}

std::uint32_t Connection::payload_bytes(const Slot& slot) const {
    switch (slot.type) {
        case kCmdRead:
        case kCmdWrite: return slot.request.length;
        case kCmdWriteZeroes:  // without native WRITE ZEROES: zeroed WRITEs of a bounded size
            if (geometry_.write_zeroes) return 0;
            return std::min(slot.request.length, session_.info().block_sizes.maximum);
        default: return 0;
    }
}

bool Connection::take_slice(Slot& slot) {
    const std::uint32_t bytes = payload_bytes(slot);
    if (bytes == 0) return true;
    slot.buffer_bytes = bytes;
    if (held_bytes_ + bytes > limits_.share_bytes) {
        waiting_slot_ = &slot;  // release_slice() asks the pool once the share has room
        waiting_in_pool_ = false;
        return false;
    }
    std::uint8_t* slice = limits_.pool->acquire(bytes, slot);
    if (!slice) {
        waiting_slot_ = &slot;  // slice_granted() goes on
        waiting_in_pool_ = true;
        return false;
    }
    slot.buffer = slice;
    held_bytes_ += bytes;
    return true;
}

void Connection::slice_granted(Slot& slot, std::uint8_t* slice) {
    // From inside the pool's release(), maybe in another connection's or device's callback:
    // start the request here, but read more input only from a task of its own.
    slot.buffer = slice;
    held_bytes_ += slot.buffer_bytes;
    waiting_slot_ = nullptr;
    waiting_in_pool_ = false;
    start_request(slot);
    loop_.defer([weak = weak_from_this()] {
        if (auto self = weak.lock(); self && self->state_ == State::Open) {
            self->process_input();
            self->update_interest();
        }
    });
}

void Connection::start_request(Slot& slot) {
    if (slot.type == kCmdWrite) {
        payload_slot_ = &slot;  // executed once its payload has arrived
        payload_filled_ = 0;
        return;
    }
    execute(slot);
}

void Connection::release_slice(Slot& slot) {
    if (!slot.buffer) return;
    std::uint8_t* slice = std::exchange(slot.buffer, nullptr);
    held_bytes_ -= slot.buffer_bytes;
    limits_.pool->release(slice, slot.buffer_bytes);  // may grant a waiter, of this connection or another
    if (waiting_slot_ && !waiting_in_pool_ && !share_retry_scheduled_ &&
        held_bytes_ + waiting_slot_->buffer_bytes <= limits_.share_bytes) {
        share_retry_scheduled_ = true;  // not from inside release()'s grants
        loop_.defer([weak = weak_from_this()] {
            auto self = weak.lock();
            if (!self) return;
            self->share_retry_scheduled_ = false;
            if (self->state_ == State::Dead || !self->waiting_slot_ || self->waiting_in_pool_) return;
            Slot& waiting = *std::exchange(self->waiting_slot_, nullptr);
            if (self->take_slice(waiting)) self->start_request(waiting);
            self->process_input();
            self->update_interest();
        });
    }
}

void Connection::execute(Slot& slot) {
    BlockRequest& r = slot.request;
    r.buffer = slot.buffer;
    r.fua = (slot.flags & kCmdFlagFua) && geometry_.fua;
    switch (slot.type) {
        case kCmdRead: r.op = BlockOp::Read; break;
        case kCmdWrite: r.op = BlockOp::Write; break;
        case kCmdFlush:
            r.op = BlockOp::Flush;
            r.offset = 0;
            r.length = 0;
            r.fua = false;
            break;
        default:  // TRIM, WRITE_ZEROES: validated, possibly longer than the backend takes at once
            slot.next_offset = r.offset;
            slot.end_offset = r.offset + r.length;
            submit_next_chunk(slot);
            return;
    }
    slot.in_backend = true;
    ++in_backend_;
    backend_.submit(r);
}

void Connection::submit_next_chunk(Slot& slot) {
    BlockRequest& r = slot.request;
    const std::uint32_t block = std::max<std::uint32_t>(1, geometry_.logical_block_size);
    std::uint64_t limit;
    if (slot.type == kCmdTrim) {
        r.op = BlockOp::Discard;
        limit = geometry_.max_discard_bytes;
    } else if (geometry_.write_zeroes) {
        r.op = BlockOp::WriteZeroes;
        limit = geometry_.max_write_zeroes_bytes;
    } else {
        r.op = BlockOp::Write;  // no native WRITE ZEROES: write a zeroed slot buffer
        limit = session_.info().block_sizes.maximum;
    }
    if (limit == 0 || limit > UINT32_MAX) limit = UINT32_MAX;
    limit = std::max<std::uint64_t>(limit / block * block, block);
    const auto length = std::uint32_t(std::min<std::uint64_t>(slot.end_offset - slot.next_offset, limit));
    if (r.op == BlockOp::Write) std::memset(slot.buffer, 0, length);
    r.offset = slot.next_offset;
    r.length = length;
    r.buffer = slot.buffer;
    slot.next_offset += length;
    slot.in_backend = true;
    ++in_backend_;
    backend_.submit(r);
}

void Connection::complete(BlockRequest& request, int result) {
    Slot& slot = slots_[request.cookie];
    slot.in_backend = false;
    --in_backend_;
    if (state_ == State::Dead) {  // nobody to reply to
        release_slot(slot);
        maybe_finish();
        return;
    }
    if (result == 0 && slot.next_offset < slot.end_offset) {
        submit_next_chunk(slot);
        return;
    }
    if (result != 0)
        ISER_LOG_DEBUG(log_, "nbd: connection %llu: %s offset %llu length %u failed: %s", (unsigned long long)id_,
                       command_name(slot.type), (unsigned long long)request.offset, request.length,
                       std::strerror(result));
    slot.payload_in_reply = slot.type == kCmdRead && result == 0;
    if (!slot.payload_in_reply) release_slice(slot);  // only a READ's reply still needs its data
    queue_reply(slot, errno_to_nbd_error(result));
}

void Connection::queue_reply(Slot& slot, std::uint32_t error) {
    encode_simple_reply(slot.reply, error, slot.handle);
    const auto index = std::uint32_t(&slot - slots_.data());
    send_queue_[(send_head_ + send_count_) % send_queue_.size()] = index;
    ++send_count_;
    schedule_flush();
}

void Connection::schedule_flush() {
    // Replies completed in the same loop turn leave in one sendmsg.
    if (flush_scheduled_ || state_ == State::Dead) return;
    flush_scheduled_ = true;
    loop_.defer([weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->flush_scheduled_ = false;
            self->flush_output();
        }
    });
}

void Connection::flush_output() {
    bool freed = false;
    while (state_ != State::Dead && has_output()) {
        iovec iov[kMaxIov];
        int count = 0;
        std::size_t skip = send_progress_;
        auto& out = session_.output();
        if (!out.empty()) {
            iov[count++] = {out.data() + skip, out.size() - skip};
        } else {
            for (std::uint32_t k = 0; k < send_count_ && count + 2 <= kMaxIov; ++k) {
                Slot& s = slots_[send_queue_[(send_head_ + k) % send_queue_.size()]];
                if (skip < kSimpleReplySize) {
                    iov[count++] = {s.reply + skip, kSimpleReplySize - skip};
                    skip = 0;
                } else {
                    skip -= kSimpleReplySize;
                }
                if (s.payload_in_reply) {
                    iov[count++] = {s.buffer + skip, s.request.length - skip};
                    skip = 0;
                }
            }
        }
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = std::size_t(count);
        ssize_t sent = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) fail("send failed");
            break;
        }
        std::size_t before = free_slots_.size();
        advance_output(std::size_t(sent));
        freed = freed || free_slots_.size() != before;
    }
    // Slots came back: requests already buffered may proceed without new socket data.
    if (freed && state_ == State::Open) process_input();
    update_interest();
    maybe_finish();
}

void Connection::advance_output(std::size_t sent) {
    auto& out = session_.output();
    if (!out.empty()) {
        send_progress_ += sent;
        if (send_progress_ == out.size()) {
            out.clear();
            send_progress_ = 0;
        }
        return;
    }
    std::size_t done = send_progress_ + sent;
    while (send_count_ > 0) {
        Slot& s = slots_[send_queue_[send_head_]];
        std::size_t item = kSimpleReplySize + (s.payload_in_reply ? s.request.length : 0);
        if (done < item) break;
        done -= item;
        send_head_ = (send_head_ + 1) % std::uint32_t(send_queue_.size());
        --send_count_;
        release_slot(s);
    }
    send_progress_ = done;
}

void Connection::release_slot(Slot& slot) {
    slot.payload_in_reply = false;
    release_slice(slot);
    free_slots_.push_back(std::uint32_t(&slot - slots_.data()));
}

void Connection::update_interest() {
    if (!registered_) return;
    std::uint32_t want = (can_read() ? EPOLLIN : 0u) | (has_output() ? EPOLLOUT : 0u);
    if (want == interest_) return;
    if (loop_.modify_fd(fd_.get(), want)) interest_ = want;
}

void Connection::drain() {
    if (state_ != State::Open) return;
    const auto phase = session_.phase();
    if (phase == ServerSession::Phase::ClientFlags || phase == ServerSession::Phase::Options || payload_slot_ ||
        waiting_slot_ || session_.payload_remaining() > 0) {
        fail("closed before a request was complete");
        return;
    }
    state_ = State::Draining;
    update_interest();
    maybe_finish();
}

void Connection::fail(const char* reason) {
    if (state_ == State::Dead) return;
    ISER_LOG_DEBUG(log_, "nbd: connection %llu closed: %s", (unsigned long long)id_, reason);
    state_ = State::Dead;
    if (registered_) {
        loop_.remove_fd(fd_.get());
        registered_ = false;
    }
    fd_.reset();
    // Replies not yet sent are dropped; slots still in the backend wait for their completions.
    while (send_count_ > 0) {
        Slot& s = slots_[send_queue_[send_head_]];
        send_head_ = (send_head_ + 1) % std::uint32_t(send_queue_.size());
        --send_count_;
        release_slot(s);
    }
    send_progress_ = 0;
    session_.output().clear();
    if (payload_slot_) release_slot(*std::exchange(payload_slot_, nullptr));
    if (waiting_slot_) {
        if (waiting_in_pool_) limits_.pool->cancel(*waiting_slot_);
        release_slot(*std::exchange(waiting_slot_, nullptr));
        waiting_in_pool_ = false;
    }
    maybe_finish();
}

void Connection::maybe_finish() {
    if (finished_) return;
    if (state_ == State::Draining && in_backend_ == 0 && !has_output() && !payload_slot_) {
        fail("drained");
        return;  // fail() came back here
    }
    if (state_ != State::Dead || in_backend_ != 0) return;
    finished_ = true;
    if (owner_) {
        owner_->connection_finished(*this);
    } else if (self_) {
        loop_.defer([keep = std::move(self_)] {});  // dropped after the current callback
    }
}

void Connection::detach() {
    owner_ = nullptr;
    if (!finished_) self_ = shared_from_this();
}

}  // namespace iser::nbd
