// UNIT ATTENTION side effects for a LUN, as sd does them: the command itself is retried by
// task_done(); here 2A/09 (capacity data has changed) re-reads READ CAPACITY(16) and reports a
// new geometry, and 3F/0E (reported LUNs data has changed) tells the owner to rescan. Reset and
// power-on attentions (29/xx) need nothing beyond the retry.
#include "initiator/lun/lun_backend.hpp"

#include <algorithm>
#include <cstring>

#include "initiator/scsi/cdb.hpp"
#include "initiator/scsi/status.hpp"

namespace iser::lun {

void LunBackend::unit_attention(std::uint8_t asc, std::uint8_t ascq) {
    if (asc == 0x2a && ascq == 0x09) {
        ISER_LOG_INFO(log_, "%s: target reports a capacity change; reading the capacity again", geometry_.name.c_str());
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

void LunBackend::capacity_read(session::ScsiTask& task) {
    capacity_busy_ = false;
    if (capacity_again_) return reread_capacity();
    if (task.error || task.status != scsi::status::Good) {
        // Another UNIT ATTENTION (e.g. the same one reported to this command) or a transient
        // failure: the next capacity change attention will try again.
        ISER_LOG_WARN(log_, "%s: READ CAPACITY(16) after a capacity change failed (status 0x%02x, %s)",
                      geometry_.name.c_str(), task.status, task.error ? std::strerror(task.error) : "no transport error");
        return;
    }
    auto cap = scsi::parse_read_capacity16(Bytes(task.buffer, std::min(task.length, task.transferred)));
    if (!cap) {
        ISER_LOG_ERROR(log_, "%s: bad READ CAPACITY(16) data: %s", geometry_.name.c_str(), cap.error().message.c_str());
        return;
    }
    const BlockGeometry old = geometry_;
    info_.capacity = *cap;
    BlockGeometry g = geometry_for(info_, old.name, kDefaultMaxIoBytes);
    g.read_only = old.read_only;
    if (g.size_bytes == old.size_bytes && g.logical_block_size == old.logical_block_size) return;
    ISER_LOG_INFO(log_, "%s: capacity now %llu bytes (was %llu)", g.name.c_str(), (unsigned long long)g.size_bytes,
                  (unsigned long long)old.size_bytes);
    geometry_ = std::move(g);
    if (capacity_handler_) capacity_handler_(geometry_);
}

}  // namespace iser::lun
