// Payload memory of one session. It outlives the datamovers the session makes (one per
// connection: a reconnect makes a new one, maybe on another RDMA device), so the buffers handed
// to ublk tags, the NBD server and the LUN probe stay valid across reconnects. Each new datamover
// is given every region with Datamover::add_io_memory() and registers it as its transport needs.
#pragma once
#include <cstddef>
#include <vector>

#include "common/block_backend.hpp"
#include "common/result.hpp"

namespace iser::datamover {

class IoMemoryPool {
public:
    IoMemoryPool() = default;
    ~IoMemoryPool();
    IoMemoryPool(const IoMemoryPool&) = delete;
    IoMemoryPool& operator=(const IoMemoryPool&) = delete;

    // Page-aligned, zero-filled, never moved or freed before the pool goes away.
    Result<IoMemory> allocate(std::size_t bytes);
    const std::vector<IoMemory>& regions() const { return regions_; }

private:
    std::vector<IoMemory> regions_;
};

}  // namespace iser::datamover
