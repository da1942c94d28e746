// A BlockBackend for one LUN over an iSCSI session: block requests become SCSI commands
// (READ/WRITE(16), SYNCHRONIZE CACHE, UNMAP, WRITE SAME(16)), split at the target's limits,
// retried on retryable status, and completed with an errno the block layer understands.
// Runs on the session's loop thread; a fixed pool of operation slots, no allocation per I/O.
#pragma once
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "initiator/lun/lun_info.hpp"
#include "initiator/session/session.hpp"

namespace iser::lun {

class LunBackend final : public BlockBackend, private session::TaskOwner {
public:
    static Result<std::unique_ptr<LunBackend>> create(EventLoop& loop, Logger& log, session::Session& session,
                                                      LunInfo info, std::string name, std::uint32_t depth);

    const BlockGeometry& geometry() const override { return geometry_; }
    Result<IoMemory> allocate_io_memory(std::size_t bytes) override { return session_.allocate_io_memory(bytes); }
    Result<IoSlicePool*> io_pool() override { return session_.io_pool(); }
    std::uint32_t queue_depth() const override { return std::uint32_t(ops_.size()); }
    void submit(BlockRequest& request) override;

    const LunInfo& info() const { return info_; }
    std::uint32_t in_flight() const { return in_flight_; }

    // UNIT ATTENTION 2A/09 (capacity data has changed): READ CAPACITY(16) is read again and,
    // when the size or block size changed, geometry() is updated and `handler` called with it.
    void on_capacity_change(std::function<void(const BlockGeometry&)> handler) { capacity_handler_ = std::move(handler); }
    // An operator's rescan (iserctl rescan): READ CAPACITY(16) now, applied as above but without
    // calling the capacity handler (the caller resizes). `done` gets the geometry in force after
    // the read, or why it failed. Loop thread; several calls share one command in flight.
    void refresh_capacity(std::function<void(Result<BlockGeometry>)> done);
    // Another lane of the same LUN read a new capacity: take it without asking the target, so
    // every lane checks requests against the same size. True when the geometry changed. A new
    // block size is never taken (refresh_capacity reports it as an error).
    bool apply_capacity(const scsi::ReadCapacity16& capacity);
    // UNIT ATTENTION 3F/0E (reported LUNs data has changed): the target's LUN inventory moved.
    void on_luns_changed(std::function<void()> handler) { luns_handler_ = std::move(handler); }

private:
    struct Op {
        session::ScsiTask task;
        BlockRequest* request = nullptr;
        std::uint64_t done = 0;      // bytes of the request completed
        std::uint32_t chunk = 0;     // bytes in the command in flight
        std::uint8_t* params = nullptr;  // UNMAP parameter list, in I/O memory
        int retries = 0;
        Op* next_free = nullptr;
    };

    LunBackend(EventLoop& loop, Logger& log, session::Session& session, LunInfo info, BlockGeometry geometry);
    void start(Op& op);
    void issue_chunk(Op& op);
    void task_done(session::ScsiTask& task) override;
    void finish(Op& op, int result);
    void retry_later(Op& op, std::chrono::milliseconds delay);
    int check_request(const BlockRequest& r) const;
    // lun_attention.cpp: what a CHECK CONDITION means for the LUN beyond the command.
    void unit_attention(std::uint8_t asc, std::uint8_t ascq);
    void reread_capacity();
    void capacity_read(session::ScsiTask& task);

    EventLoop& loop_;
    Logger& log_;
    session::Session& session_;
    LunInfo info_;
    BlockGeometry geometry_;
    std::vector<Op> ops_;
    Op* free_ = nullptr;
    std::deque<BlockRequest*> waiting_;
    std::uint8_t* zero_block_ = nullptr;  // one zeroed logical block for WRITE SAME, in I/O memory
    std::uint32_t in_flight_ = 0;
    // READ CAPACITY(16) after a capacity-changed UNIT ATTENTION: one at a time.
    session::ScsiTask capacity_task_;
    std::uint8_t* capacity_buffer_ = nullptr;  // 32 bytes in I/O memory
    bool capacity_busy_ = false, capacity_again_ = false;
    bool capacity_notify_ = false;   // the read was asked for by a UNIT ATTENTION: call the handler
    int capacity_attentions_ = 0;    // UNIT ATTENTIONs answered to this read so far
    std::vector<std::function<void(Result<BlockGeometry>)>> capacity_waiters_;
    std::function<void(const BlockGeometry&)> capacity_handler_;
    std::function<void()> luns_handler_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

public:
    ~LunBackend() override { *alive_ = false; }
};

}  // namespace iser::lun
