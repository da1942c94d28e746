#include "ublk/queue.hpp"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "ublk/device.hpp"
#include "ublk/request_mapping.hpp"
#include "ublk/sqe_encoding.hpp"

namespace iser::ublk {
namespace {
constexpr int kCharFixedIndex = 0;  // /dev/ublkcN is the ring's only registered file
}

Queue::Queue(Device& device, std::uint16_t queue_id, EventLoop& loop, BlockBackend& backend, Logger& log)
    : device_(device), queue_id_(queue_id), loop_(loop), backend_(backend), log_(log) {}

Result<std::unique_ptr<Queue>> Queue::create(Device& device, std::uint16_t queue_id, EventLoop& loop,
                                             BlockBackend& backend, Logger& log) {
    if (queue_id >= device.queues())
        return make_error(EINVAL, "ublk: queue " + std::to_string(queue_id) + " does not exist on device " +
                                      std::to_string(device.id()));
    std::unique_ptr<Queue> q(new Queue(device, queue_id, loop, backend, log));
    auto st = q->setup();
    if (!st) {
        q->close_now();
        return st.take_error();
    }
    return q;
}

Status Queue::setup() {
    depth_ = device_.depth();
    buffer_bytes_ = device_.max_io_buf_bytes();
    const std::string where = "ublk queue " + std::to_string(device_.id()) + "/" + std::to_string(queue_id_);

    const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
    descs_len_ = uapi::desc_mmap_length(depth_, page);
    void* m = ::mmap(nullptr, descs_len_, PROT_READ, MAP_SHARED | MAP_POPULATE, device_.char_fd(),
                     off_t(uapi::desc_mmap_offset(queue_id_, page)));
    if (m == MAP_FAILED) {
        int e = errno;
        descs_ = nullptr;
        return make_error(e, where + ": mmap of the descriptors: " + std::strerror(e));
    }
    descs_ = static_cast<const uapi::IoDesc*>(m);

    // One SQE per tag at most is ever outstanding; the CQ gets liburing's default 2x.
    int rc = io_uring_queue_init(depth_, &ring_, 0);
    if (rc < 0) return make_error(-rc, where + ": io_uring_queue_init: " + std::strerror(-rc));
    ring_ready_ = true;
    int fd = device_.char_fd();
    rc = io_uring_register_files(&ring_, &fd, 1);
    if (rc < 0) return make_error(-rc, where + ": io_uring_register_files: " + std::strerror(-rc));

    user_copy_ = device_.user_copy();
    if (user_copy_) {
        auto pool = backend_.io_pool();
        if (!pool) return make_error(pool.error().code, where + ": " + pool.error().message);
        pool_ = *pool;
        if (pool_->max_slice() < buffer_bytes_)
            return make_error(EINVAL, where + ": I/O memory pool (slices up to " + std::to_string(pool_->max_slice()) +
                                          " bytes) smaller than the largest request (" + std::to_string(buffer_bytes_) + ")");
        slices_.resize(depth_);
        for (std::uint16_t tag = 0; tag < depth_; ++tag) {
            slices_[tag].queue = this;
            slices_[tag].tag = tag;
        }
    } else {
        auto mem = backend_.allocate_io_memory(std::size_t(depth_) * buffer_bytes_);
        if (!mem) return make_error(mem.error().code, where + ": I/O buffers: " + mem.error().message);
        if (mem->size < std::size_t(depth_) * buffer_bytes_) return make_error(ENOMEM, where + ": I/O buffers too small");
        buffers_ = mem->base;
    }

    requests_.resize(depth_);
    tags_.assign(depth_, TagState::Fetching);
    for (std::uint16_t tag = 0; tag < depth_; ++tag) {
        requests_[tag].owner = this;
        requests_[tag].cookie = tag;
        queue_command(tag, uapi::kIoFetchReq, 0);
    }
    // Submit now: START_DEV (on the control thread) waits for exactly these fetches.
    flush();
    if (unsubmitted_ != 0) return make_error(EIO, where + ": could not post FETCH_REQ");

    auto added = loop_.add_fd(ring_.ring_fd, EPOLLIN, [this](std::uint32_t) { on_ring_readable(); });
    if (!added) return make_error(added.error().code, where + ": " + added.error().message);
    ISER_LOG_DEBUG(log_, "%s: %u tags fetched", where.c_str(), unsigned(depth_));
    return {};
}

Queue::~Queue() {
    if (!closed_) close_now();
}

void Queue::queue_command(std::uint16_t tag, std::uint32_t cmd_op, std::int32_t result) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {  // cannot happen with one SQE per tag in a depth-sized SQ; stay safe anyway
        flush();
        sqe = io_uring_get_sqe(&ring_);
    }
    if (!sqe) {
        ISER_LOG_ERROR(log_, "ublk queue %d/%u: submission queue full, tag %u lost", device_.id(), unsigned(queue_id_),
                       unsigned(tag));
        tags_[tag] = TagState::Dead;
        return;
    }
    uapi::IoCmd cmd{};
    cmd.q_id = queue_id_;
    cmd.tag = tag;
    cmd.result = result;
    // With user copy the driver wants no address (it refuses one).
    cmd.addr = user_copy_ ? 0 : reinterpret_cast<std::uintptr_t>(buffers_ + std::size_t(tag) * buffer_bytes_);
    encode_io_sqe(*sqe, cmd_op, cmd, kCharFixedIndex, io_user_data(tag));
    tags_[tag] = TagState::Fetching;
    ++unsubmitted_;
}

void Queue::schedule_flush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    loop_.defer([this] {
        flush_scheduled_ = false;
        if (closed_) return;
        flush();
        // A request that failed before its backend (slice_granted) may have been the last one.
        if (stopping_ && in_flight_ == 0) close_now();
    });
}

void Queue::flush() {
    while (unsubmitted_ > 0 && !closed_) {
        int rc = io_uring_submit(&ring_);
        ++stats_.submit_calls;
        if (rc >= 0) {
            unsubmitted_ -= std::min<std::uint32_t>(unsubmitted_, std::uint32_t(rc));
            if (rc == 0) break;
            continue;
        }
        if (rc == -EINTR) continue;
        if (rc == -EAGAIN || rc == -EBUSY) {
            // The kernel is short of resources. Nothing else may wake this loop for the queue
            // (every tag may be waiting for this very commit), so retry on a timer.
            if (!retry_scheduled_) {
                retry_scheduled_ = true;
                retry_timer_ = loop_.add_timer(std::chrono::milliseconds(1), [this] {
                    retry_scheduled_ = false;
                    if (!closed_) flush();
                });
            }
        } else {
            ISER_LOG_ERROR(log_, "ublk queue %d/%u: io_uring_submit: %s", device_.id(), unsigned(queue_id_),
                           std::strerror(-rc));
        }
        break;
    }
}

void Queue::on_ring_readable() {
    reap();
    if (unsubmitted_ > 0 && !closed_) schedule_flush();
}

void Queue::reap() {
    io_uring_cqe* cqes[64];
    while (!closed_) {
        unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 64);
        if (n == 0) break;
        for (unsigned i = 0; i < n; ++i) {
            handle_cqe(cqes[i]->user_data, cqes[i]->res);
            if (closed_) return;  // the last request of a stopping queue closed the ring with it
        }
        io_uring_cq_advance(&ring_, n);
    }
}

void Queue::handle_cqe(std::uint64_t user_data, int res) {
    const std::uint16_t tag = io_user_data_tag(user_data);
    if (tag >= depth_) return;
    if (res == -ENODEV) {  // the device is going away: the tag is not fetched again
        tags_[tag] = TagState::Dead;
        return;
    }
    if (res != uapi::kIoResOk) {
        ISER_LOG_ERROR(log_, "ublk queue %d/%u: tag %u (state %d): command failed: %s", device_.id(), unsigned(queue_id_),
                       unsigned(tag), int(tags_[tag]), res < 0 ? std::strerror(-res) : "unexpected result");
        tags_[tag] = TagState::Dead;
        return;
    }
    BlockRequest& request = requests_[tag];
    std::uint8_t* fixed = user_copy_ ? nullptr : buffers_ + std::size_t(tag) * buffer_bytes_;
    int mapped = map_descriptor(descs_[tag], fixed, buffer_bytes_, request);
    if (mapped != 0) {
        ++stats_.errors;
        queue_command(tag, uapi::kIoCommitAndFetchReq, mapped);
        return;
    }
    ++in_flight_;
    ++stats_.requests;
    const bool has_data = request.op == BlockOp::Read || request.op == BlockOp::Write;
    if (!user_copy_ || !has_data || request.length == 0) return start_request(tag);
    TagSlice& t = slices_[tag];
    t.bytes = request.length;
    std::uint8_t* slice = pool_->acquire(t.bytes, t);
    if (!slice) {
        tags_[tag] = TagState::WaitingSlice;  // slice_granted() goes on when the pool has room
        return;
    }
    t.slice = slice;
    start_request(tag);
}

void Queue::slice_granted(TagSlice& t, std::uint8_t* slice) {
    t.slice = slice;
    if (closed_) return release_slice(t.tag);
    start_request(t.tag);
    schedule_flush();  // granted from another request's completion: a failed copy commits
}

void Queue::start_request(std::uint16_t tag) {
    BlockRequest& request = requests_[tag];
    if (user_copy_ && slices_[tag].slice) {
        request.buffer = slices_[tag].slice;
        if (request.op == BlockOp::Write && !copy_data(tag, Copy::FromRequest)) {
            // The data never reached the slice: the request fails without reaching the backend.
            release_slice(tag);
            --in_flight_;
            ++stats_.errors;
            queue_command(tag, uapi::kIoCommitAndFetchReq, -EIO);
            return schedule_flush();
        }
    }
    tags_[tag] = TagState::InBackend;
    backend_.submit(request);  // completes later on this thread, never inside submit()
}

// pread/pwrite on /dev/ublkcN at the tag's user-copy offset: the driver copies between the slice
// and the request's pages, here, on this thread (see queue.hpp for why not through the ring).
bool Queue::copy_data(std::uint16_t tag, Copy direction) {
    const TagSlice& t = slices_[tag];
    const auto offset = off_t(uapi::user_copy_offset(queue_id_, tag));
    const int fd = device_.char_fd();
    ssize_t n;
    do {
        n = direction == Copy::FromRequest ? ::pread(fd, t.slice, t.bytes, offset) : ::pwrite(fd, t.slice, t.bytes, offset);
    } while (n < 0 && errno == EINTR);
    if (n == ssize_t(t.bytes)) return true;
    ISER_LOG_ERROR(log_, "ublk queue %d/%u: tag %u: copying %s data %s the request: %s", device_.id(),
                   unsigned(queue_id_), unsigned(tag), direction == Copy::FromRequest ? "write" : "read",
                   direction == Copy::FromRequest ? "from" : "to", n < 0 ? std::strerror(errno) : "short copy");
    return false;
}

void Queue::release_slice(std::uint16_t tag) {
    TagSlice& t = slices_[tag];
    if (!t.slice) return;
    std::uint8_t* s = std::exchange(t.slice, nullptr);
    pool_->release(s, t.bytes);  // may grant a waiting request, of this queue or another
}

void Queue::complete(BlockRequest& request, int result) {
    const auto tag = std::uint16_t(request.cookie);
    --in_flight_;
    std::int32_t res = commit_result(request, result);
    if (res < 0) ++stats_.errors;
    if (closed_) return;
    if (user_copy_ && slices_[tag].slice) {
        // A good READ's data goes to the request before the commit hands the request back.
        if (request.op == BlockOp::Read && res >= 0 && !copy_data(tag, Copy::ToRequest)) {
            ++stats_.errors;
            res = -EIO;
        }
        release_slice(tag);
    }
    queue_command(tag, uapi::kIoCommitAndFetchReq, res);
    finish_if_stopping();
}

void Queue::finish_if_stopping() {
    if (stopping_ && in_flight_ == 0) {
        flush();
        close_now();
        return;
    }
    schedule_flush();
}

void Queue::shutdown(std::function<void()> on_closed) {
    if (closed_) {
        if (on_closed) on_closed();
        return;
    }
    stopping_ = true;
    on_closed_ = std::move(on_closed);
    if (in_flight_ == 0) {
        flush();
        close_now();
    }
}

void Queue::close_now() {
    if (closed_) return;
    closed_ = true;
    if (retry_scheduled_) {
        loop_.cancel_timer(retry_timer_);
        retry_scheduled_ = false;
    }
    // Requests still waiting for a slice leave the pool's queue. Slices of requests still in the
    // backend stay taken: the backend may still write into them.
    for (std::uint16_t tag = 0; tag < slices_.size(); ++tag)
        if (tags_[tag] == TagState::WaitingSlice) pool_->cancel(slices_[tag]);
    if (ring_ready_) {
        loop_.remove_fd(ring_.ring_fd);
        // Closing the ring cancels the fetches the driver still holds.
        io_uring_queue_exit(&ring_);
        ring_ready_ = false;
    }
    if (descs_) {
        ::munmap(const_cast<uapi::IoDesc*>(descs_), descs_len_);
        descs_ = nullptr;
    }
    if (in_flight_ != 0)
        ISER_LOG_WARN(log_, "ublk queue %d/%u: closed with %u requests still in the backend", device_.id(),
                      unsigned(queue_id_), in_flight_);
    ISER_LOG_DEBUG(log_, "ublk queue %d/%u closed: %llu requests, %llu errors, %llu submit calls", device_.id(),
                   unsigned(queue_id_), static_cast<unsigned long long>(stats_.requests),
                   static_cast<unsigned long long>(stats_.errors), static_cast<unsigned long long>(stats_.submit_calls));
    if (on_closed_) {
        auto cb = std::move(on_closed_);
        on_closed_ = nullptr;
        cb();
    }
}

}  // namespace iser::ublk
