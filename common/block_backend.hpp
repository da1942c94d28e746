// The contract between block frontends (ublk queues, NBD servers) and what serves the blocks
// (an iSCSI LUN over a session, or a memory disk in unit tests).
//
// Threading: a BlockBackend is bound to one EventLoop thread. submit() is called only on that
// thread, and the completion is delivered on that same thread, never from inside submit()
// (so a frontend can submit from its own completion handler without re-entrancy).
// No allocation per request: the frontend owns the BlockRequest (one per tag/slot) and keeps it
// alive until complete() is called for it.
#pragma once
#include <cstdint>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace iser {

enum class BlockOp : std::uint8_t { Read, Write, Flush, Discard, WriteZeroes };

struct BlockGeometry {
    std::uint64_t size_bytes = 0;
    std::uint32_t logical_block_size = 512;
    std::uint32_t physical_block_size = 512;
    std::uint32_t max_io_bytes = 1u << 20;       // largest single Read/Write the frontend may send
    bool volatile_cache = false;                   // Flush is meaningful
    bool fua = false;                              // the FUA flag is honoured on Write
    bool discard = false;                          // Discard supported
    std::uint32_t discard_granularity_bytes = 0;
    std::uint64_t max_discard_bytes = 0;
    bool write_zeroes = false;
    std::uint64_t max_write_zeroes_bytes = 0;
    bool read_only = false;
    std::string name;                              // for logs, e.g. "iqn...:lun1"
};

class BlockCompletion;

struct BlockRequest {
    BlockOp op = BlockOp::Read;
    bool fua = false;
    std::uint64_t offset = 0;   // bytes, multiple of logical_block_size
    std::uint32_t length = 0;   // bytes
    // Payload for Read/Write: must lie inside memory from BlockBackend::io_memory() for the
    // zero-copy transports (iSER registers that memory once).
    std::uint8_t* buffer = nullptr;
    BlockCompletion* owner = nullptr;
    std::uint64_t cookie = 0;   // for the frontend (tag, NBD handle index...)
};

class BlockCompletion {
public:
    // result: 0 on success, otherwise a positive errno (EIO, ENOSPC, EAGAIN never: the backend
    // retries what is retryable itself).
    virtual void complete(BlockRequest& request, int result) = 0;

protected:
    ~BlockCompletion() = default;
};

// Memory for I/O payloads, allocated once by the backend (so a transport can register it with
// its hardware), carved by the frontend into per-tag or per-slot buffers.
struct IoMemory {
    std::uint8_t* base = nullptr;
    std::size_t size = 0;
};

class BlockBackend {
public:
    virtual ~BlockBackend() = default;
    virtual const BlockGeometry& geometry() const = 0;
    // Allocate (once, at frontend setup) `bytes` of payload memory; page aligned. For frontends
    // that keep buffers of their own (the NBD server's slots, a recovered ublk device without
    // user copy); the others take per-request slices from io_pool().
    virtual Result<IoMemory> allocate_io_memory(std::size_t bytes) = 0;
    // The bounded I/O memory shared by everything on this backend's loop thread (one pool per
    // lane, common/io_slice_pool.hpp): a frontend takes each request's payload buffer from it
    // for the request's lifetime. Made on first use; the same pool for every backend of a lane.
    virtual Result<class IoSlicePool*> io_pool() = 0;
    // How many requests may usefully be in flight at once.
    virtual std::uint32_t queue_depth() const = 0;
    virtual void submit(BlockRequest& request) = 0;
};

}  // namespace iser
