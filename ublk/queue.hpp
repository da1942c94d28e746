// One ublk hardware queue served on one EventLoop thread, together with its BlockBackend: the
// queue's io_uring fd sits in the loop's epoll set, so there is no extra thread and no lock.
// Every member function runs on that loop thread (the driver also insists that all commands of
// a queue come from one thread).
//
// Per tag: FETCH_REQ -> CQE (request described in the mmapped descriptor; WRITE data already
// copied into the tag's buffer) -> BlockRequest -> backend.submit() -> complete() ->
// COMMIT_AND_FETCH_REQ (the driver copies READ data out of the buffer and fetches the next
// request for the tag). Commits made during one loop wake-up go to the kernel in a single
// io_uring_enter, issued from a deferred task after the wake-up's handlers have run.
#pragma once
#include <liburing.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/block_backend.hpp"
#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "common/result.hpp"
#include "ublk/ublk_uapi.hpp"

namespace iser::ublk {

class Device;

class Queue final : public BlockCompletion {
public:
    struct Stats {
        std::uint64_t requests = 0;      // requests handed to the backend
        std::uint64_t errors = 0;        // requests committed with an error
        std::uint64_t submit_calls = 0;  // io_uring_enter calls for commits
    };

    // Loop thread. Maps the descriptors, creates the ring (with /dev/ublkcN registered),
    // takes depth * max_io_buf_bytes from backend.allocate_io_memory() for the tags' buffers,
    // posts FETCH_REQ for every tag and adds the ring fd to the loop. The Device must outlive
    // the Queue.
    static Result<std::unique_ptr<Queue>> create(Device& device, std::uint16_t queue_id, EventLoop& loop,
                                                 BlockBackend& backend, Logger& log);
    // Loop thread. Closes at once if still open: only after closed() unless the backend can
    // no longer complete anything (its requests point into this object).
    ~Queue();
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

    // Loop thread, after Device::stop() returned: waits for the requests still in the backend,
    // commits them, then closes the ring and the mapping and calls on_closed (on this thread).
    void shutdown(std::function<void()> on_closed = {});
    bool closed() const { return closed_; }

    std::uint16_t id() const { return queue_id_; }
    std::uint32_t in_flight() const { return in_flight_; }
    const Stats& stats() const { return stats_; }

private:
    enum class TagState : std::uint8_t { Fetching, InBackend, Dead };

    Queue(Device& device, std::uint16_t queue_id, EventLoop& loop, BlockBackend& backend, Logger& log);
    Status setup();
    void complete(BlockRequest& request, int result) override;  // backend, loop thread
    void on_ring_readable();
    void handle_cqe(std::uint16_t tag, int res);
    void queue_command(std::uint16_t tag, std::uint32_t cmd_op, std::int32_t result);
    void schedule_flush();
    void flush();
    void close_now();

    Device& device_;
    std::uint16_t queue_id_;
    EventLoop& loop_;
    BlockBackend& backend_;
    Logger& log_;
    std::uint16_t depth_ = 0;
    std::uint32_t buffer_bytes_ = 0;

    io_uring ring_{};
    bool ring_ready_ = false;
    const uapi::IoDesc* descs_ = nullptr;  // read-only shared mapping of this queue's descriptors
    std::size_t descs_len_ = 0;
    std::uint8_t* buffers_ = nullptr;      // depth_ * buffer_bytes_, from backend.allocate_io_memory()
    std::vector<BlockRequest> requests_;   // one per tag, owned here while the backend works
    std::vector<TagState> tags_;

    std::uint32_t in_flight_ = 0;          // tags in the backend
    std::uint32_t unsubmitted_ = 0;        // SQEs prepared since the last io_uring_enter
    bool flush_scheduled_ = false;
    bool retry_scheduled_ = false;    // a timer retries a submit the kernel refused
    EventLoop::TimerId retry_timer_ = 0;
    bool stopping_ = false;
    bool closed_ = false;
    std::function<void()> on_closed_;
    Stats stats_;
};

}  // namespace iser::ublk
