#include "initiator/lun/lun_probe.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "initiator/scsi/capacity.hpp"
#include "initiator/scsi/cdb.hpp"
#include "initiator/scsi/mode_sense.hpp"
#include "initiator/scsi/report_luns.hpp"
#include "initiator/scsi/sense.hpp"
#include "initiator/scsi/status.hpp"

namespace iser::lun {
namespace {

constexpr std::uint32_t kBufferBytes = 16384;  // REPORT LUNS for ~2000 LUNs; every page fits
constexpr int kUnitAttentionRetries = 4;

std::string hex2(std::uint8_t v) {
    char b[8];
    std::snprintf(b, sizeof b, "0x%02x", v);
    return b;
}

// One attach-time probe; owns itself through shared_ptr captured by its callbacks.
class Prober final : public std::enable_shared_from_this<Prober>, private session::TaskOwner {
public:
    using Next = std::function<void(Result<Bytes>)>;

    Prober(Logger& log, session::Session& session, std::optional<std::uint32_t> only, ProbeDone done)
        : log_(log), session_(session), only_(only), done_(std::move(done)) {}

    void start() {
        auto mem = session_.allocate_io_memory(kBufferBytes);
        if (!mem) return finish(mem.take_error());
        buffer_ = mem->base;
        run(scsi::report_luns(kBufferBytes), kBufferBytes, [self = shared_from_this()](Result<Bytes> r) {
            self->on_report_luns(std::move(r));
        });
    }

private:
    // Runs one command reading up to `len` bytes into the probe buffer; retries UNIT ATTENTION.
    void run(const scsi::Cdb& cdb, std::uint32_t len, Next next) {
        next_ = std::move(next);
        task_ = session::ScsiTask{};
        task_.lun = current_lun_;
        task_.cdb = cdb;
        task_.read = len > 0;
        task_.buffer = buffer_;
        task_.length = len;
        task_.owner = this;
        self_ = shared_from_this();  // alive while a command is in flight
        session_.submit(task_);
    }

    void task_done(session::ScsiTask& t) override {
        auto keep = std::move(self_);
        Next next = std::move(next_);
        if (t.error) return next(make_error(t.error, std::string("command failed: ") + std::strerror(t.error)));
        if (t.status == scsi::status::CheckCondition) {
            auto sense = scsi::parse_sense(Bytes(t.sense.data(), t.sense_length));
            if (sense && sense->key == 0x6 && attention_retries_++ < kUnitAttentionRetries) {
                next_ = std::move(next);
                self_ = keep;
                return session_.submit(task_);
            }
            int code = sense ? scsi::sense_to_errno(*sense, t.cdb[0]) : EIO;
            return next(make_error(code ? code : EIO, sense ? scsi::describe(*sense) : "CHECK CONDITION"));
        }
        if (t.status != scsi::status::Good)
            return next(make_error(EIO, std::string("SCSI status ") + scsi::status_name(t.status)));
        attention_retries_ = 0;
        std::uint32_t got = t.underflow ? t.length - std::min(t.residual, t.length) : t.length;
        next(Bytes(buffer_, got));
    }

    void on_report_luns(Result<Bytes> r) {
        if (r) {
            auto luns = scsi::parse_report_luns(*r);
            if (!luns) return finish(luns.take_error());
            luns_ = std::move(*luns);
        } else {
            // Some targets refuse REPORT LUNS on LUN 0 of a single-LUN target: LUN 0 only.
            ISER_LOG_WARN(log_, "REPORT LUNS failed (%s); trying LUN 0 only", r.error().message.c_str());
            luns_ = {0};
        }
        std::sort(luns_.begin(), luns_.end());
        if (only_) {
            if (std::find(luns_.begin(), luns_.end(), *only_) == luns_.end()) {
                std::string list;
                for (auto l : luns_) list += (list.empty() ? "" : ",") + std::to_string(l);
                return finish(make_error(ENOENT, "LUN " + std::to_string(*only_) + " does not exist on the target (LUNs: " +
                                                     (list.empty() ? "none" : list) + ")"));
            }
            luns_ = {*only_};
        }
        next_lun();
    }

    void next_lun() {
        if (index_ >= luns_.size()) return finish(std::move(result_));
        current_lun_ = luns_[index_++];
        info_ = LunInfo{};
        info_.lun = current_lun_;
        run(scsi::inquiry(false, 0, 96), 96, [self = shared_from_this()](Result<Bytes> r) { self->on_inquiry(std::move(r)); });
    }

    void skip(std::string reason) {
        result_.skipped.emplace_back(current_lun_, std::move(reason));
        next_lun();
    }

    void on_inquiry(Result<Bytes> r) {
        if (!r) return skip("INQUIRY failed: " + r.error().message);
        auto inq = scsi::parse_standard_inquiry(*r);
        if (!inq) return skip("INQUIRY: " + inq.error().message);
        info_.inquiry = *inq;
        if (inq->peripheral_qualifier != 0) return skip("no logical unit connected (peripheral qualifier " + std::to_string(inq->peripheral_qualifier) + ")");
        if (inq->device_type != 0)
            return skip("peripheral device type " + hex2(inq->device_type) + " (" + device_type_name(inq->device_type) + ")");
        run(scsi::read_capacity16(32), 32, [self = shared_from_this()](Result<Bytes> r) { self->on_capacity(std::move(r)); });
    }

    void on_capacity(Result<Bytes> r) {
        if (!r) return skip("READ CAPACITY(16) failed: " + r.error().message);
        auto cap = scsi::parse_read_capacity16(*r);
        if (!cap) return skip("READ CAPACITY(16): " + cap.error().message);
        if (cap->block_size < 512 || cap->block_size > 4096 || (cap->block_size & (cap->block_size - 1)))
            return skip("unsupported logical block size " + std::to_string(cap->block_size));
        info_.capacity = *cap;
        run(scsi::inquiry(true, scsi::vpd_page::SupportedPages, 255), 255,
            [self = shared_from_this()](Result<Bytes> r) { self->on_vpd_pages(std::move(r)); });
    }

    void on_vpd_pages(Result<Bytes> r) {
        pages_.clear();
        if (r) {
            auto pages = scsi::parse_supported_vpd_pages(*r);
            if (pages) pages_ = std::move(*pages);
            else ISER_LOG_WARN(log_, "LUN %u: %s", current_lun_, pages.error().message.c_str());
        } else {
            ISER_LOG_WARN(log_, "LUN %u: INQUIRY for the supported VPD pages failed: %s", current_lun_,
                          r.error().message.c_str());
        }
        next_vpd();
    }

    // LIO lists no VPD pages until a unit serial is set in configfs, yet answers each page when
    // asked: with an empty list, ask anyway (an unsupported page is just ILLEGAL REQUEST).
    bool offered(std::uint8_t page) const {
        return pages_.empty() || std::find(pages_.begin(), pages_.end(), page) != pages_.end();
    }

    void next_vpd() {
        auto self = shared_from_this();
        if (offered(scsi::vpd_page::BlockLimits) && !info_.limits && !tried_b0_) {
            tried_b0_ = true;
            return run(scsi::inquiry(true, scsi::vpd_page::BlockLimits, 64), 64, [self](Result<Bytes> r) {
                if (r) {
                    auto l = scsi::parse_block_limits_vpd(*r);
                    if (l) self->info_.limits = *l;
                }
                self->next_vpd();
            });
        }
        if (offered(scsi::vpd_page::LogicalBlockProvisioning) && !info_.provisioning && !tried_b2_) {
            tried_b2_ = true;
            return run(scsi::inquiry(true, scsi::vpd_page::LogicalBlockProvisioning, 64), 64, [self](Result<Bytes> r) {
                if (r) {
                    auto p = scsi::parse_lbp_vpd(*r);
                    if (p) self->info_.provisioning = *p;
                }
                self->next_vpd();
            });
        }
        if (offered(scsi::vpd_page::UnitSerial) && info_.device_id.empty() && !tried_80_) {
            tried_80_ = true;
            return run(scsi::inquiry(true, scsi::vpd_page::UnitSerial, 255), 255, [self](Result<Bytes> r) {
                if (r) {
                    auto s = scsi::parse_unit_serial(*r);
                    if (s) self->info_.device_id = *s;
                }
                self->next_vpd();
            });
        }
        tried_b0_ = tried_b2_ = tried_80_ = false;
        run(scsi::mode_sense10(scsi::mode_page::Caching, 0, 64, true), 64, [self](Result<Bytes> r) {
            if (r) {
                auto c = scsi::parse_caching_page_mode_sense10(*r);
                if (c) self->info_.write_cache = c->wce;
                self->info_.dpofua = scsi::parse_dpofua_mode_sense10(*r);
            } else {
                // No caching page: assume a volatile cache so flushes are never skipped.
                self->info_.write_cache = true;
            }
            self->result_.disks.push_back(self->info_);
            self->next_lun();
        });
    }

    void finish(Result<ProbeResult> r) {
        if (done_) std::exchange(done_, nullptr)(std::move(r));
    }

    Logger& log_;
    session::Session& session_;
    std::optional<std::uint32_t> only_;
    ProbeDone done_;
    std::uint8_t* buffer_ = nullptr;
    session::ScsiTask task_;
    Next next_;
    std::shared_ptr<Prober> self_;
    int attention_retries_ = 0;
    std::vector<std::uint32_t> luns_;
    std::size_t index_ = 0;
    std::uint32_t current_lun_ = 0;
    LunInfo info_;
    std::vector<std::uint8_t> pages_;
    bool tried_b0_ = false, tried_b2_ = false, tried_80_ = false;
    ProbeResult result_;
};

}  // namespace

std::string device_type_name(std::uint8_t type) {
    switch (type) {
        case 0x00: return "direct-access block device";
        case 0x01: return "sequential-access device";
        case 0x05: return "CD/DVD device";
        case 0x07: return "optical memory device";
        case 0x08: return "medium changer";
        case 0x0c: return "storage array controller";
        case 0x0d: return "enclosure services device";
        case 0x0e: return "simplified direct-access device";
        case 0x11: return "object-based storage device";
        case 0x1e: return "well known logical unit";
        case 0x1f: return "unknown device type";
        default: return "device type " + hex2(type);
    }
}

void probe_luns(EventLoop& loop, Logger& log, session::Session& session, std::optional<std::uint32_t> only_lun,
                ProbeDone done) {
    (void)loop;  // completions arrive on the session's loop; nothing else needs it
    auto p = std::make_shared<Prober>(log, session, only_lun, std::move(done));
    p->start();
}

}  // namespace iser::lun
