// UNIT ATTENTION side effects for a LUN, as sd does them: the command itself is retried by
// task_done(); here 2A/09 (capacity data has changed) re-reads READ CAPACITY(16) and reports a
// new geometry, and 3F/0E (reported LUNs data has changed) tells the owner to rescan. Reset and
// power-on attentions (29/xx) need nothing beyond the retry.
#include "initiator/lun/lun_backend.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "initiator/scsi/cdb.hpp"
#include "initiator/scsi/sense.hpp"
#include "initiator/scsi/status.hpp"

namespace iser::lun {

namespace {
// A READ CAPACITY(16) that meets a UNIT ATTENTION (the very change it was sent to read, or a
// reset) is sent again: each attention is reported once per session.
constexpr int kMaxCapacityAttentions = 4;
}  // namespace

void LunBackend::unit_attention(std::uint8_t asc, std::uint8_t ascq) {
    if (asc == 0x2a && ascq == 0x09) {
        ISER_LOG_INFO(log_, "%s: target reports a capacity change; reading the capacity again", geometry_.name.c_str());
        capacity_notify_ = true;
        return reread_capacity();
    }
    if (asc == 0x3f && ascq == 0x0e) {
        ISER_LOG_INFO(log_, "%s: target reports a change of its LUNs", geometry_.name.c_str());
        if (luns_handler_) {
            // Not from inside task_done(): the owner may rescan, detach or destroy this backend.
            loop_.defer([this, alive = alive_] {
                if (*alive && luns_handler_) luns_handler_();
            });
        }
    }
}

void LunBackend::refresh_capacity(std::function<void(Result<BlockGeometry>)> done) {
    capacity_waiters_.push_back(std::move(done));
    reread_capacity();
}

void LunBackend::reread_capacity() {
    if (capacity_busy_) {
        capacity_again_ = true;  // a second change while the first read is out
        return;
    }
    capacity_busy_ = true;
    capacity_again_ = false;
    session::ScsiTask& t = capacity_task_;
    t.cdb = scsi::read_capacity16(32);
    t.read = true;
    t.write = false;
    t.buffer = capacity_buffer_;
    t.length = 32;
    session_.submit(t);
}

bool LunBackend::apply_capacity(const scsi::ReadCapacity16& capacity) {
    // A new block size cannot be taken live: the frontend's device keeps its own.
    if (capacity.block_size != geometry_.logical_block_size) return false;
    const BlockGeometry old = geometry_;
    info_.capacity = capacity;
    BlockGeometry g = geometry_for(info_, old.name, kDefaultMaxIoBytes);
    g.read_only = old.read_only;
    // The transfer limit of the frontend stays what it was when the device was made.
    g.max_io_bytes = old.max_io_bytes;
    if (g.size_bytes == old.size_bytes && g.logical_block_size == old.logical_block_size) return false;
    ISER_LOG_INFO(log_, "%s: capacity now %llu bytes (was %llu)", g.name.c_str(), (unsigned long long)g.size_bytes,
                  (unsigned long long)old.size_bytes);
    geometry_ = std::move(g);
    return true;
}

void LunBackend::capacity_read(session::ScsiTask& task) {
    capacity_busy_ = false;
    if (capacity_again_) return reread_capacity();
    auto finish = [this](Result<BlockGeometry> r) {
        capacity_attentions_ = 0;
        auto waiters = std::move(capacity_waiters_);
        capacity_waiters_.clear();
        for (auto& w : waiters) w(r);
    };
    if (!task.error && task.status == scsi::status::CheckCondition) {
        auto sense = scsi::parse_sense(Bytes(task.sense.data(), task.sense_length));
        if (sense && sense->valid && sense->key == scsi::sense_key::UnitAttention &&
            capacity_attentions_ < kMaxCapacityAttentions) {
            // The attention is about this very change (or a reset): read again. Whoever asked
            // for this read resizes; no handler call is added for it.
            ++capacity_attentions_;
            return reread_capacity();
        }
    }
    if (task.error || task.status != scsi::status::Good) {
        // A transient failure: the next capacity change attention (or rescan) tries again.
        ISER_LOG_WARN(log_, "%s: READ CAPACITY(16) after a capacity change failed (status 0x%02x, %s)",
                      geometry_.name.c_str(), task.status, task.error ? std::strerror(task.error) : "no transport error");
        capacity_notify_ = false;
        char why[64];
        std::snprintf(why, sizeof why, "READ CAPACITY(16) failed (SCSI status 0x%02x)", task.status);
        return finish(make_error(task.error ? task.error : EIO, task.error ? std::string("READ CAPACITY(16): ") + std::strerror(task.error) : std::string(why)));
    }
    auto cap = scsi::parse_read_capacity16(Bytes(task.buffer, std::min(task.length, task.transferred)));
    if (!cap) {
        ISER_LOG_ERROR(log_, "%s: bad READ CAPACITY(16) data: %s", geometry_.name.c_str(), cap.error().message.c_str());
        capacity_notify_ = false;
        return finish(make_error(EPROTO, "bad READ CAPACITY(16) data: " + cap.error().message));
    }
    if (cap->block_size != geometry_.logical_block_size) {
        capacity_notify_ = false;
        const std::string why = "the LUN's block size changed from " + std::to_string(geometry_.logical_block_size) +
                                " to " + std::to_string(cap->block_size) + " bytes; log out and in again";
        ISER_LOG_ERROR(log_, "%s: %s", geometry_.name.c_str(), why.c_str());
        return finish(make_error(EMEDIUMTYPE, why));
    }
    const bool changed = apply_capacity(*cap);
    const bool notify = capacity_notify_;
    capacity_notify_ = false;
    if (changed && notify && capacity_handler_) capacity_handler_(geometry_);
    finish(geometry_);
}

}  // namespace iser::lun
