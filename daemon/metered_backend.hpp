// A BlockBackend that counts what passes through it (IoStats: operations, bytes, errors,
// latency) and forwards to the real one. It sits between a frontend queue and a LUN backend on
// one loop thread, so the counters need no locks. Each request in flight borrows a context from
// a fixed pool (no allocation per I/O); when the pool is empty the request passes unmetered.
#pragma once
#include <chrono>
#include <vector>

#include "common/block_backend.hpp"
#include "common/io_stats.hpp"

namespace iser::daemon {

class MeteredBackend final : public BlockBackend {
public:
    MeteredBackend(BlockBackend& inner, std::size_t contexts);
    MeteredBackend(const MeteredBackend&) = delete;
    MeteredBackend& operator=(const MeteredBackend&) = delete;

    const BlockGeometry& geometry() const override { return inner_.geometry(); }
    Result<IoMemory> allocate_io_memory(std::size_t bytes) override { return inner_.allocate_io_memory(bytes); }
    Result<IoSlicePool*> io_pool() override { return inner_.io_pool(); }
    std::uint32_t queue_depth() const override { return inner_.queue_depth(); }
    void submit(BlockRequest& request) override;

    // Loop thread only.
    const IoStats& stats() const { return stats_; }
    std::uint64_t unmetered() const { return unmetered_; }

private:
    struct Context final : BlockCompletion {
        MeteredBackend* parent = nullptr;
        BlockCompletion* owner = nullptr;
        std::chrono::steady_clock::time_point started;
        Context* next_free = nullptr;
        void complete(BlockRequest& request, int result) override;
    };

    BlockBackend& inner_;
    std::vector<Context> contexts_;
    Context* free_ = nullptr;
    IoStats stats_;
    std::uint64_t unmetered_ = 0;
};

}  // namespace iser::daemon
