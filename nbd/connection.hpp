// One client connection of NbdServer (internal to nbd/). Lives on the loop thread.
//
// Request slots: a fixed pool, each owning a BlockRequest, a 16-byte reply header and a payload
// buffer of max_io_bytes carved from the connection's one IoMemory region. A request takes a
// slot when its header is parsed and gives it back when its reply is fully sent; with no slot
// free the connection stops reading the socket (backpressure). Replies go out in completion
// order, possibly partially: send_progress_ remembers how far the head of the queue got.
//
// Lifetime: owned by a shared_ptr (the server's table, or itself once detached). It is never
// destroyed while a slot is in the backend, so a completion arriving after the socket closed
// still finds it; destruction is always deferred to the loop, never inside its own callbacks.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "common/block_backend.hpp"
#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "nbd/session.hpp"

namespace iser::nbd {

class Connection;

class ConnectionOwner {
public:
    // The connection is done (socket closed, nothing in the backend); the owner drops it
    // (deferred) and may reuse `region`.
    virtual void connection_finished(Connection& connection, IoMemory region) = 0;

protected:
    ~ConnectionOwner() = default;
};

class Connection final : public BlockCompletion, public std::enable_shared_from_this<Connection> {
public:
    Connection(EventLoop& loop, BlockBackend& backend, Logger& log, const ExportInfo& info, UniqueFd fd,
               IoMemory region, std::uint64_t id, ConnectionOwner* owner, bool transmission_only = false);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    Status start();
    // Stop reading; close once every request has completed and its reply is sent.
    void drain();
    // The owner is going away: from now on the connection owns itself until it finishes.
    void detach();
    std::uint64_t id() const { return id_; }
    void set_export_size(std::uint64_t size) { session_.set_export_size(size); }

    void complete(BlockRequest& request, int result) override;

private:
    enum class State { Open, Draining, Dead };

    struct Slot {
        BlockRequest request;
        std::uint8_t* buffer = nullptr;
        std::uint8_t reply[kSimpleReplySize] = {};
        std::uint16_t type = 0;
        std::uint16_t flags = 0;
        std::uint64_t handle = 0;
        std::uint64_t next_offset = 0;  // TRIM/WRITE_ZEROES: split into backend-sized chunks
        std::uint64_t end_offset = 0;
        bool payload_in_reply = false;
        bool in_backend = false;
    };

    void on_events(std::uint32_t events);
    void on_readable();
    bool process_input();  // false: stop reading for now
    bool handle_step(const ServerSession::Step& step);
    void begin_request(const Request& request, std::uint32_t error);
    void execute(Slot& slot);
    void submit_next_chunk(Slot& slot);
    void queue_reply(Slot& slot, std::uint32_t error);
    void schedule_flush();
    void flush_output();
    void advance_output(std::size_t sent);
    void release_slot(Slot& slot);
    void fail(const char* reason);
    void update_interest();
    void maybe_finish();
    bool can_read() const;
    bool has_output() const { return !session_.output().empty() || send_count_ > 0; }

    EventLoop& loop_;
    BlockBackend& backend_;
    Logger& log_;
    const BlockGeometry& geometry_;
    ServerSession session_;
    UniqueFd fd_;
    IoMemory region_;
    std::uint64_t id_;
    ConnectionOwner* owner_;
    std::shared_ptr<Connection> self_;  // set by detach()

    State state_ = State::Open;
    bool registered_ = false;
    std::uint32_t interest_ = 0;
    bool flush_scheduled_ = false;
    bool finished_ = false;

    std::vector<Slot> slots_;
    std::vector<std::uint32_t> free_slots_;
    std::uint32_t in_backend_ = 0;
    // Slot receiving the current WRITE payload, or nullptr while a rejected WRITE's payload
    // is being read and thrown away.
    Slot* payload_slot_ = nullptr;
    std::uint32_t payload_filled_ = 0;

    // Ring of slot indices whose replies wait to be sent, in completion order.
    std::vector<std::uint32_t> send_queue_;
    std::uint32_t send_head_ = 0;
    std::uint32_t send_count_ = 0;
    std::size_t send_progress_ = 0;  // bytes of the head item already sent

    std::vector<std::uint8_t> rx_;
    std::size_t rx_begin_ = 0;
    std::size_t rx_end_ = 0;
};

}  // namespace iser::nbd
