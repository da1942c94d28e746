// One client connection of NbdServer (internal to nbd/). Lives on the loop thread.
//
// Request slots: a fixed number, each owning a BlockRequest and a 16-byte reply header. A request
// takes a slot when its header is parsed and gives it back when its reply is fully sent; with no
// slot free the connection stops reading the socket (backpressure). A READ or WRITE (or a WRITE
// ZEROES the backend cannot do natively) also takes a payload buffer of its own size from the
// lane's IoSlicePool, the I/O memory every LUN and frontend of the lane shares: a WRITE until the
// backend is done with it, a READ until its reply is sent. So an idle connection holds no payload
// memory. When the pool is full, or this connection already holds its share of it, the request
// waits for a slice and the connection reads nothing more until it has one (backpressure, never
// an error). The share keeps one client that stops reading its replies from taking the whole
// pool from the lane's other devices. Replies go out in completion order, possibly partially:
// send_progress_ remembers how far the head of the queue got.
//
// Lifetime: owned by a shared_ptr (the server's table, or itself once detached). It is never
// destroyed while a slot is in the backend, so a completion arriving after the socket closed
// still finds it; destruction is always deferred to the loop, never inside its own callbacks.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/block_backend.hpp"
#include "common/event_loop.hpp"
#include "common/io_slice_pool.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "nbd/session.hpp"

namespace iser::nbd {

class Connection;

class ConnectionOwner {
public:
    // The connection is done (socket closed, nothing in the backend, no slice held); the owner
    // drops it (deferred).
    virtual void connection_finished(Connection& connection) = 0;

protected:
    ~ConnectionOwner() = default;
};

class Connection final : public BlockCompletion, public std::enable_shared_from_this<Connection> {
public:
    struct Limits {
        IoSlicePool* pool = nullptr;     // the lane's; outlives the connection
        std::uint32_t slots = 1;         // requests in flight at most
        std::size_t share_bytes = 0;     // payload bytes held at most (raised to one request of the largest size)
        // A client still in its handshake by then is closed: it holds one of the export's
        // connections and must not hold it forever without asking for I/O.
        std::chrono::milliseconds handshake_timeout{10000};
    };
    Connection(EventLoop& loop, BlockBackend& backend, Logger& log, const ExportInfo& info, UniqueFd fd,
               Limits limits, std::uint64_t id, ConnectionOwner* owner, bool transmission_only = false);
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

    struct Slot final : IoSliceWaiter {
        Connection* connection = nullptr;
        BlockRequest request;
        std::uint8_t* buffer = nullptr;  // the payload slice, while the request holds one
        std::uint32_t buffer_bytes = 0;
        std::uint8_t reply[kSimpleReplySize] = {};
        std::uint16_t type = 0;
        std::uint16_t flags = 0;
        std::uint64_t handle = 0;
        std::uint64_t next_offset = 0;  // TRIM/WRITE_ZEROES: split into backend-sized chunks
        std::uint64_t end_offset = 0;
        bool payload_in_reply = false;
        bool in_backend = false;
        void slice_granted(std::uint8_t* slice) override { connection->slice_granted(*this, slice); }
    };

    void on_events(std::uint32_t events);
    void on_readable();
    bool process_input();  // false: stop reading for now
    bool handle_step(const ServerSession::Step& step);
    void begin_request(const Request& request, std::uint32_t error);
    std::uint32_t payload_bytes(const Slot& slot) const;  // the slice the request needs (0: none)
    bool take_slice(Slot& slot);                          // false: the slot now waits for one
    void slice_granted(Slot& slot, std::uint8_t* slice);
    void start_request(Slot& slot);                       // the request has its slice (or needs none)
    void release_slice(Slot& slot);
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
    Limits limits_;
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
    std::size_t held_bytes_ = 0;     // payload slices this connection holds now
    // The request waiting for a slice (from the pool, or from this connection's share); nothing
    // more is read until it has one.
    Slot* waiting_slot_ = nullptr;
    bool waiting_in_pool_ = false;   // queued in the pool (else: waiting for this connection's share)
    bool share_retry_scheduled_ = false;
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
