#include "common/memory_backend.hpp"

#include <cstring>

namespace iser {

MemoryBackend::MemoryBackend(EventLoop& loop, BlockGeometry geometry, std::size_t pool_bytes)
    : loop_(loop), geometry_(std::move(geometry)), disk_(geometry_.size_bytes), pool_bytes_(pool_bytes) {}

Result<IoSlicePool*> MemoryBackend::io_pool() {
    if (!pool_) {
        // By default room for a full queue of the largest requests: most tests measure the
        // frontend, not backpressure.
        auto region = allocate_io_memory(pool_bytes_ ? pool_bytes_ : std::size_t(queue_depth()) * geometry_.max_io_bytes);
        if (!region) return region.take_error();
        pool_ = std::make_unique<IoSlicePool>(*region);
    }
    return pool_.get();
}

Result<IoMemory> MemoryBackend::allocate_io_memory(std::size_t bytes) {
    io_memory_.emplace_back(bytes);
    return IoMemory{io_memory_.back().data(), bytes};
}

int MemoryBackend::execute(BlockRequest& r) {
    if (r.op == BlockOp::Flush) {
        ++flushes_;
        return 0;
    }
    if (r.offset > disk_.size() || r.length > disk_.size() - r.offset) return EIO;
    switch (r.op) {
        case BlockOp::Read: std::memcpy(r.buffer, disk_.data() + r.offset, r.length); break;
        case BlockOp::Write: std::memcpy(disk_.data() + r.offset, r.buffer, r.length); break;
        case BlockOp::Discard:
        case BlockOp::WriteZeroes: std::memset(disk_.data() + r.offset, 0, r.length); break;
        case BlockOp::Flush: break;
    }
    return 0;
}

void MemoryBackend::submit(BlockRequest& request) {
    int result = execute(request);
    BlockRequest* r = &request;
    loop_.defer([r, result] { r->owner->complete(*r, result); });
}

}  // namespace iser
