// Test-only: one memory disk shared by several ublk queues on different loop threads. Each
// queue gets its own MemoryDiskBackend bound to its loop (completions are deferred on that
// loop, as the BlockBackend contract asks); all of them read and write the same anonymous
// mapping. No locks: overlapping concurrent writes are the block layer's business, exactly as
// on a real disk. (common/MemoryBackend keeps its disk per instance, so it cannot be shared.)
#pragma once
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include <cstring>
#include <memory>
#include <vector>

#include "common/block_backend.hpp"
#include "common/event_loop.hpp"
#include "common/io_slice_pool.hpp"

namespace iser::lab {

class MemoryDisk {
public:
    // Anonymous memory: the data dies with the process.
    explicit MemoryDisk(std::uint64_t bytes) : size_(bytes) {
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        data_ = p == MAP_FAILED ? nullptr : static_cast<std::uint8_t*>(p);
    }
    // A file (e.g. on /dev/shm) mapped MAP_SHARED: every write lands in the file's pages, so
    // the data outlives a SIGKILL of this process and a recovering successor finds it.
    // bytes = 0: use the file's size; otherwise the file is created or grown to `bytes`.
    MemoryDisk(const char* path, std::uint64_t bytes) : size_(bytes) {
        int fd = ::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return;
        struct stat st{};
        if (::fstat(fd, &st) == 0) {
            if (size_ == 0) size_ = std::uint64_t(st.st_size);
            else if (std::uint64_t(st.st_size) < size_ && ::ftruncate(fd, off_t(size_)) != 0) size_ = 0;
        } else {
            size_ = 0;
        }
        if (size_ != 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            data_ = p == MAP_FAILED ? nullptr : static_cast<std::uint8_t*>(p);
        }
        ::close(fd);
    }
    ~MemoryDisk() {
        if (data_) ::munmap(data_, size_);
    }
    MemoryDisk(const MemoryDisk&) = delete;
    MemoryDisk& operator=(const MemoryDisk&) = delete;
    bool ok() const { return data_ != nullptr; }
    std::uint8_t* data() { return data_; }
    std::uint64_t size() const { return size_; }

private:
    std::uint64_t size_;
    std::uint8_t* data_ = nullptr;
};

class MemoryDiskBackend final : public BlockBackend {
public:
    // latency > 0: each request completes that long after submit (a timer), so a lab test can
    // kill the server while requests are certainly in it.
    MemoryDiskBackend(EventLoop& loop, MemoryDisk& disk, BlockGeometry geometry,
                      std::chrono::milliseconds latency = std::chrono::milliseconds(0))
        : loop_(loop), disk_(disk), geometry_(std::move(geometry)), latency_(latency) {}
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
    Result<IoSlicePool*> io_pool() override {
        if (!pool_) {
            auto region = allocate_io_memory(std::size_t(queue_depth()) * geometry().max_io_bytes);
            if (!region) return region.take_error();
            pool_ = std::make_unique<IoSlicePool>(*region);
        }
        return pool_.get();
    }

    void submit(BlockRequest& r) override {
        int result = execute(r);
        BlockRequest* request = &r;
        if (latency_.count() > 0)
            loop_.add_timer(latency_, [request, result] { request->owner->complete(*request, result); });
        else
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
    std::chrono::milliseconds latency_;
    std::vector<IoMemory> io_memory_;
    std::unique_ptr<IoSlicePool> pool_;
};

}  // namespace iser::lab
