// A BlockBackend over a memory array, completing on the next loop turn. For unit tests of the
// frontends only: end-to-end tests always run against a real iSCSI target.
#pragma once
#include <memory>
#include <vector>

#include "common/block_backend.hpp"
#include "common/event_loop.hpp"
#include "common/io_slice_pool.hpp"

namespace iser {

class MemoryBackend final : public BlockBackend {
public:
    // pool_bytes: the io_pool()'s size (0: room for a full queue of the largest requests).
    MemoryBackend(EventLoop& loop, BlockGeometry geometry, std::size_t pool_bytes = 0);
    const BlockGeometry& geometry() const override { return geometry_; }
    Result<IoMemory> allocate_io_memory(std::size_t bytes) override;
    Result<IoSlicePool*> io_pool() override;
    std::uint32_t queue_depth() const override { return 128; }
    void submit(BlockRequest& request) override;

    const std::vector<std::uint8_t>& contents() const { return disk_; }
    std::uint64_t flushes() const { return flushes_; }

private:
    int execute(BlockRequest& request);

    EventLoop& loop_;
    BlockGeometry geometry_;
    std::vector<std::uint8_t> disk_;
    std::vector<std::vector<std::uint8_t>> io_memory_;
    std::size_t pool_bytes_;
    std::unique_ptr<IoSlicePool> pool_;
    std::uint64_t flushes_ = 0;
};

}  // namespace iser
