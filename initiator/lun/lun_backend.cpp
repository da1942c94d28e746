#include "initiator/lun/lun_backend.hpp"

#include <cstring>

#include "initiator/scsi/cdb.hpp"
#include "initiator/scsi/sense.hpp"
#include "initiator/scsi/status.hpp"
#include "initiator/scsi/unmap.hpp"

namespace iser::lun {
namespace {
constexpr std::size_t kParamBytes = 64;   // one UNMAP parameter list per slot
constexpr int kMaxSenseRetries = 5;
constexpr int kMaxBusyRetries = 12;       // 5 ms doubling: about 20 s in all
constexpr std::chrono::milliseconds kNotReadyDelay{100};  // doubling: about 3 s over 5 retries
constexpr std::size_t kCapacityBytes = 32;
constexpr std::uint64_t kCapacityCookie = ~std::uint64_t(0);
}  // namespace

Result<std::unique_ptr<LunBackend>> LunBackend::create(EventLoop& loop, Logger& log, session::Session& session,
                                                       LunInfo info, std::string name, std::uint32_t depth) {
    BlockGeometry geometry = geometry_for(info, std::move(name), kDefaultMaxIoBytes);
    std::unique_ptr<LunBackend> b(new LunBackend(loop, log, session, std::move(info), std::move(geometry)));
    depth = std::max<std::uint32_t>(1, depth);
    // Scratch memory the target reads: UNMAP parameter lists and one zero block.
    std::size_t bytes = depth * kParamBytes + b->geometry_.logical_block_size + kCapacityBytes;
    auto mem = session.allocate_io_memory(bytes);
    if (!mem) return mem.take_error();
    std::memset(mem->base, 0, bytes);
    b->ops_.resize(depth);
    for (std::uint32_t i = 0; i < depth; ++i) {
        Op& op = b->ops_[i];
        op.params = mem->base + i * kParamBytes;
        op.task.owner = b.get();
        op.task.lun = b->info_.lun;
        op.task.cookie = i;
        op.next_free = b->free_;
        b->free_ = &op;
    }
    b->zero_block_ = mem->base + depth * kParamBytes;
    b->capacity_buffer_ = b->zero_block_ + b->geometry_.logical_block_size;
    b->capacity_task_.owner = b.get();
    b->capacity_task_.lun = b->info_.lun;
    b->capacity_task_.cookie = kCapacityCookie;
    return b;
}

LunBackend::LunBackend(EventLoop& loop, Logger& log, session::Session& session, LunInfo info, BlockGeometry geometry)
    : loop_(loop), log_(log), session_(session), info_(std::move(info)), geometry_(std::move(geometry)) {}

int LunBackend::check_request(const BlockRequest& r) const {
    if (r.op == BlockOp::Flush) return 0;
    const std::uint32_t bs = geometry_.logical_block_size;
    if (r.offset % bs || r.length % bs || r.length == 0) return EINVAL;
    if (r.offset > geometry_.size_bytes || r.length > geometry_.size_bytes - r.offset) return EINVAL;
    if (r.op == BlockOp::Discard && !geometry_.discard) return EOPNOTSUPP;
    if ((r.op == BlockOp::Read || r.op == BlockOp::Write) && r.buffer == nullptr) return EINVAL;
    return 0;
}

void LunBackend::submit(BlockRequest& request) {
    if (int err = check_request(request)) {
        BlockRequest* r = &request;
        loop_.defer([r, err, alive = alive_] {
            if (*alive) r->owner->complete(*r, err);
        });
        return;
    }
    ++in_flight_;
    if (!free_) {
        waiting_.push_back(&request);
        return;
    }
    Op* op = free_;
    free_ = op->next_free;
    op->request = &request;
    start(*op);
}

void LunBackend::start(Op& op) {
    op.done = 0;
    op.retries = 0;
    issue_chunk(op);
}

void LunBackend::issue_chunk(Op& op) {
    const BlockRequest& r = *op.request;
    const std::uint32_t bs = geometry_.logical_block_size;
    session::ScsiTask& t = op.task;
    const std::uint64_t remaining = r.length - op.done;
    const std::uint64_t lba = (r.offset + op.done) / bs;
    t.read = t.write = false;
    t.buffer = nullptr;
    t.length = 0;
    switch (r.op) {
        case BlockOp::Read:
        case BlockOp::Write: {
            op.chunk = std::uint32_t(std::min<std::uint64_t>(remaining, geometry_.max_io_bytes));
            bool write = r.op == BlockOp::Write;
            t.cdb = write ? scsi::write16(lba, op.chunk / bs, r.fua && geometry_.fua) : scsi::read16(lba, op.chunk / bs);
            t.read = !write;
            t.write = write;
            t.buffer = r.buffer + op.done;
            t.length = op.chunk;
            break;
        }
        case BlockOp::Flush:
            op.chunk = 0;
            t.cdb = scsi::synchronize_cache16(0, 0);
            break;
        case BlockOp::Discard: {
            op.chunk = std::uint32_t(std::min<std::uint64_t>(remaining, geometry_.max_discard_bytes));
            scsi::UnmapExtent extent{lba, op.chunk / bs};
            std::size_t len = scsi::build_unmap_parameter_list(std::span(&extent, 1), MutableBytes(op.params, kParamBytes));
            t.cdb = scsi::unmap(std::uint16_t(len));
            t.write = true;
            t.buffer = op.params;
            t.length = std::uint32_t(len);
            break;
        }
        case BlockOp::WriteZeroes:
            op.chunk = std::uint32_t(std::min<std::uint64_t>(remaining, geometry_.max_write_zeroes_bytes));
            t.cdb = scsi::write_same16(lba, op.chunk / bs, false, false);
            t.write = true;
            t.buffer = zero_block_;
            t.length = bs;
            break;
    }
    session_.submit(t);
}

void LunBackend::retry_later(Op& op, std::chrono::milliseconds delay) {
    Op* p = &op;
    loop_.add_timer(delay, [this, p, alive = alive_] {
        if (*alive) issue_chunk(*p);
    });
}

void LunBackend::task_done(session::ScsiTask& task) {
    if (task.cookie == kCapacityCookie) return capacity_read(task);
    Op& op = ops_[task.cookie];
    if (task.error) {
        // The session already held and retried the command through reconnects and aborts.
        ISER_LOG_DEBUG(log_, "%s: command failed: %s", geometry_.name.c_str(), std::strerror(task.error));
        return finish(op, EIO);
    }
    auto advance = [&] {
        op.done += op.chunk;
        op.retries = 0;
        if (op.request->op != BlockOp::Flush && op.done < op.request->length) return issue_chunk(op);
        return finish(op, 0);
    };
    switch (task.status) {
        case scsi::status::Good:
            if (task.read && task.transferred != task.length) {
                ISER_LOG_ERROR(log_, "%s: short read (%u of %u bytes)", geometry_.name.c_str(), task.transferred, task.length);
                return finish(op, EIO);
            }
            return advance();
        case scsi::status::CheckCondition: {
            auto sense = scsi::parse_sense(Bytes(task.sense.data(), task.sense_length));
            if (!sense) {
                ISER_LOG_ERROR(log_, "%s: CHECK CONDITION without usable sense data", geometry_.name.c_str());
                return finish(op, EIO);
            }
            if (sense->valid && sense->key == scsi::sense_key::UnitAttention) unit_attention(sense->asc, sense->ascq);
            const int err = scsi::sense_to_errno(*sense, task.cdb[0]);
            if (err == 0) {
                // RECOVERED ERROR: the command succeeded; the target only says it had to work at it.
                ISER_LOG_INFO(log_, "%s: %s", geometry_.name.c_str(), scsi::describe(*sense).c_str());
                return advance();
            }
            if (err == EAGAIN && op.retries < kMaxSenseRetries) {
                // UNIT ATTENTION and ABORTED COMMAND: at once; NOT READY (becoming ready): later.
                const int n = op.retries++;
                if (sense->key == scsi::sense_key::NotReady) return retry_later(op, kNotReadyDelay * (1 << n));
                return issue_chunk(op);
            }
            ISER_LOG_ERROR(log_, "%s: SCSI opcode 0x%02x (LBA chunk at byte %llu): %s", geometry_.name.c_str(),
                           task.cdb[0], (unsigned long long)(op.request->offset + op.done),
                           scsi::describe(*sense).c_str());
            return finish(op, err == EAGAIN ? EIO : err);
        }
        case scsi::status::Busy:
        case scsi::status::TaskSetFull:
            if (op.retries < kMaxBusyRetries) return retry_later(op, std::chrono::milliseconds(5 << op.retries++));
            ISER_LOG_ERROR(log_, "%s: target stayed busy; failing the request", geometry_.name.c_str());
            return finish(op, EIO);
        default:
            ISER_LOG_ERROR(log_, "%s: SCSI status 0x%02x (%s)", geometry_.name.c_str(), task.status,
                           scsi::status_name(task.status));
            return finish(op, EIO);
    }
}

void LunBackend::finish(Op& op, int result) {
    BlockRequest* r = op.request;
    op.request = nullptr;
    --in_flight_;
    if (!waiting_.empty()) {
        op.request = waiting_.front();
        waiting_.pop_front();
        start(op);
    } else {
        op.next_free = free_;
        free_ = &op;
    }
    r->owner->complete(*r, result);
}

}  // namespace iser::lun
