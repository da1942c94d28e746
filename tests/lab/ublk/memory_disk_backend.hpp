// Test-only: one memory disk shared by several ublk queues on different loop threads. Each
// queue gets its own MemoryDiskBackend bound to its loop (completions are deferred on that
// loop, as the BlockBackend contract asks); all of them read and write the same anonymous
// mapping. No locks: overlapping concurrent writes are the block layer's business, exactly as
// on a real disk. (common/MemoryBackend keeps its disk per instance, so it cannot be shared.)
#pragma once
#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <vector>

#include "common/block_backend.hpp"
#include "common/event_loop.hpp"

namespace iser::lab {

class MemoryDisk {
public:
    explicit MemoryDisk(std::uint64_t bytes) : size_(bytes) {
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        data_ = p == MAP_FAILED ? nullptr : static_cast<std::uint8_t*>(p);
    }
    ~MemoryDisk() {
        if (data_) ::munmap(data_, size_);
    }
    bool ok() const { return data_ != nullptr; }
    std::uint8_t* data() { return data_; }
    std::uint64_t size() const { return size_; }

private:
    std::uint64_t size_;
    std::uint8_t* data_ = nullptr;
};

class MemoryDiskBackend final : public BlockBackend {
public:
    MemoryDiskBackend(EventLoop& loop, MemoryDisk& disk, BlockGeometry geometry)
        : loop_(loop), disk_(disk), geometry_(std::move(geometry)) {}
    ~MemoryDiskBackend() override {
        for (auto& m : io_memory_) ::munmap(m.base, m.size);
    }
    const BlockGeometry& geometry() const override { return geometry_; }
    std::uint32_t queue_depth() const override { return 128; }

    Result<IoMemory> allocate_io_memory(std::size_t bytes) override {
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return make_error(errno, "mmap of I/O memory failed");
        io_memory_.push_back(IoMemory{static_cast<std::uint8_t*>(p), bytes});
        return io_memory_.back();
    }

    void submit(BlockRequest& r) override {
        int result = execute(r);
        BlockRequest* request = &r;
        loop_.defer([request, result] { request->owner->complete(*request, result); });
    }

private:
    int execute(BlockRequest& r) {
        if (r.op == BlockOp::Flush) return 0;
        if (r.offset > disk_.size() || r.length > disk_.size() - r.offset) return EIO;
        std::uint8_t* at = disk_.data() + r.offset;
        switch (r.op) {
            case BlockOp::Read: std::memcpy(r.buffer, at, r.length); break;
            case BlockOp::Write:
                if (geometry_.read_only) return EROFS;
                std::memcpy(at, r.buffer, r.length);
                break;
            case BlockOp::Discard:
            case BlockOp::WriteZeroes: std::memset(at, 0, r.length); break;
            case BlockOp::Flush: break;
        }
        return 0;
    }

    EventLoop& loop_;
    MemoryDisk& disk_;
    BlockGeometry geometry_;
    std::vector<IoMemory> io_memory_;
};

}  // namespace iser::lab
