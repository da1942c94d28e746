// Data path of the iSER datamover: sends from the registered send-buffer pool, receives
// parsed and handed to the session, the completion channel on the loop.
#include "initiator/datamover/iser/iser_datamover.hpp"
#include "initiator/datamover/iser/iser_work_requests.hpp"

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace iser::datamover {
namespace {

// wr_id: what completed, in the high 32 bits; the slot index in the low 32.
constexpr std::uint32_t kSendKind = 1, kLoginRecvKind = 2, kRecvKind = 3;
constexpr std::uint64_t make_wr_id(std::uint32_t kind, std::uint32_t index) { return (std::uint64_t(kind) << 32) | index; }
constexpr int kPollBatch = 32;
constexpr std::size_t kSlotAlign = 64;  // one cache line per slot start

std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }
std::size_t page_size() { return std::size_t(sysconf(_SC_PAGESIZE)); }

}  // namespace

Result<ibv_mr*> IserDatamover::register_memory(std::uint8_t* base, std::size_t size, const char* what) {
    ibv_mr* mr = ibv_reg_mr(pd_, base, size, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
    if (!mr)
        return make_error(errno, std::string("ibv_reg_mr of ") + std::to_string(size) + " bytes of " + what +
                                     " failed: " + std::strerror(errno) + (errno == ENOMEM ? " (check ulimit -l)" : ""));
    return mr;
}

bool IserDatamover::register_pool(SlotPool& pool, std::uint32_t count, std::size_t slot_bytes, const char* what) {
    pool.slot_bytes = round_up(slot_bytes, kSlotAlign);
    pool.count = count;
    std::size_t bytes = round_up(pool.slot_bytes * count, page_size());
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fail(make_error(ENOMEM, std::string("cannot allocate ") + what));
        return false;
    }
    pool.memory = IoMemory{static_cast<std::uint8_t*>(p), bytes};
    // Send and receive buffers are only touched locally and by Sends: no remote access.
    pool.mr = ibv_reg_mr(pd_, p, bytes, int(IBV_ACCESS_LOCAL_WRITE));  // int: the macro mixes enum types
    if (!pool.mr) {
        fail(make_error(errno, std::string("ibv_reg_mr of ") + what + ": " + std::strerror(errno)));
        return false;
    }
    return true;
}

Status IserDatamover::add_io_memory(const IoMemory& memory) {
    if (closed_) return make_error(ENOTCONN, "iSER datamover closed");
    Region region{memory.base, memory.size, 0, 0, nullptr};
    if (pd_) {  // otherwise registered when the device is known (create_resources)
        auto mr = register_memory(region.base, region.size, "I/O memory");
        if (!mr) return mr.take_error();
        region.handle = *mr;
        region.lkey = (*mr)->lkey;
        region.rkey = (*mr)->rkey;
    }
    if (!io_regions_.add(region)) {
        if (region.handle) ibv_dereg_mr(static_cast<ibv_mr*>(region.handle));
        return make_error(EINVAL, "I/O memory overlaps a region already added");
    }
    return {};
}

Status IserDatamover::send_pdu(const pdu::Bhs& bhs, Bytes data) {
    if (failed_ || !connected_) return make_error(ENOTCONN, "not connected");
    if (data.size() > kMaxControlData)
        return make_error(EMSGSIZE, "PDU data segment of " + std::to_string(data.size()) + " bytes exceeds the iSER send buffer");
    if (bhs.opcode() == pdu::Opcode::LoginRequest && !login_recv_posted_) {
        // The Login Response lands in the one login buffer; post it before the request.
        if (!post_receive(login_pool_, 0, kLoginRecvKind)) return make_error(ECONNRESET, "connection lost");
        login_recv_posted_ = true;
    }
    PendingSend send;
    send.bhs = bhs;
    send.data = data;
    return submit(std::move(send));
}

Status IserDatamover::send_data_out(const pdu::Bhs&, Bytes) {
    return make_error(EPROTO, "Data-Out PDUs are never sent over iSER: the target reads the data");
}

Status IserDatamover::send_command(const pdu::Bhs& bhs, const CommandPayload& payload) {
    if (failed_ || !connected_) return make_error(ENOTCONN, "not connected");
    auto region = command_region(payload, io_regions_);
    if (!region) {
        // The session waits for on_disconnected after a failed send: report it that way.
        Error e = region.take_error();
        fail(e);
        return e;
    }
    PendingSend send;
    send.bhs = bhs;
    if (*region) {
        send.iser = command_iser_header(payload, **region);
        if (payload.write && payload.immediate_bytes) {
            send.immediate = payload.buffer;
            send.immediate_bytes = payload.immediate_bytes;
            send.immediate_lkey = (*region)->lkey;
        }
    }
    return submit(std::move(send));
}

// A send that finds no free ring slot waits in pending_. Its control data (send_pdu's span is
// valid only during the call) is copied first, and charged against kMaxQueuedControlBytes: a
// target that posts no receives stalls our sends, and must not make us queue without end.
Status IserDatamover::submit(PendingSend&& send) {
    if (!pending_.empty() || send_ring_.free() == 0) {
        // Commands are charged too (their immediate data stays in the task's buffer): they are
        // bounded by the task table anyway, and an empty PDU must not be free.
        send.charged = send.data.size() + kQueuedPduOverhead;
        if (pending_control_bytes_ + send.charged > kMaxQueuedControlBytes) {
            fail(make_error(ENOBUFS, "target is not receiving: " + std::to_string(pending_control_bytes_) +
                                         " bytes of PDUs already waiting for a send buffer"));
            return make_error(ECONNRESET, "connection lost");
        }
        send.owned.assign(send.data.begin(), send.data.end());
        send.data = Bytes(send.owned);
        pending_control_bytes_ += send.charged;
        pending_.push_back(std::move(send));
        return {};
    }
    queue_send(send);
    return {};
}

// Fills the next ring slot and links its WR to the chain the deferred task posts.
void IserDatamover::queue_send(const PendingSend& send) {
    const SendRing::Reserved r = send_ring_.reserve();
    const std::uint32_t slot = send_ring_.slot(r.pos);
    std::uint8_t* buf = send_pool_.slot(slot);
    std::size_t len = write_send_buffer(MutableBytes(buf, send_pool_.slot_bytes), send.iser, send.bhs, send.data);

    auto& sge = wrs_->send_sge[slot];
    sge[0] = ibv_sge{reinterpret_cast<std::uintptr_t>(buf), std::uint32_t(len), send_pool_.mr->lkey};
    ibv_send_wr& wr = wrs_->send[slot];
    wr.num_sge = 1;
    if (send.immediate_bytes) {
        // Immediate data rides in the same Send, straight from the task buffer (isert rejects
        // it in a separate message).
        sge[1] = ibv_sge{reinterpret_cast<std::uintptr_t>(send.immediate), send.immediate_bytes, send.immediate_lkey};
        wr.num_sge = 2;
    }
    wr.wr_id = make_wr_id(kSendKind, r.pos);
    wr.next = nullptr;
    wr.send_flags = 0;
    if (len + send.immediate_bytes <= max_inline_) wr.send_flags |= IBV_SEND_INLINE;
    if (r.signal) wr.send_flags |= IBV_SEND_SIGNALED;
    if (r.links_previous) wrs_->send[send_ring_.slot(r.pos - 1)].next = &wr;
    if (no_batch_) {
        post_queued_sends();
        return;
    }
    schedule_deferred();
    if (busy_poll_us_ && !polling_) start_polling();
}

// Posts the chain of unposted sends with one ibv_post_send.
bool IserDatamover::post_queued_sends() {
    if (!send_ring_.has_unposted() || failed_) return !failed_;
    ibv_send_wr* bad = nullptr;
    if (int rc = ibv_post_send(id_->qp, &wrs_->send[send_ring_.slot(send_ring_.first_unposted())], &bad); rc != 0) {
        fail(make_error(rc, std::string("ibv_post_send: ") + std::strerror(rc)));
        return false;
    }
    send_ring_.mark_posted();
    return true;
}

void IserDatamover::flush_pending() {
    while (!pending_.empty() && send_ring_.free() > 0 && !failed_) {
        queue_send(pending_.front());
        pending_control_bytes_ -= pending_.front().charged;
        pending_.pop_front();
    }
}

bool IserDatamover::post_receive(const SlotPool& pool, std::uint32_t index, std::uint32_t kind) {
    ibv_sge sge{reinterpret_cast<std::uintptr_t>(pool.slot(index)), std::uint32_t(pool.slot_bytes), pool.mr->lkey};
    ibv_recv_wr wr{};
    wr.wr_id = make_wr_id(kind, index);
    wr.sg_list = &sge;
    wr.num_sge = 1;
    ibv_recv_wr* bad = nullptr;
    if (int rc = ibv_post_recv(id_->qp, &wr, &bad); rc != 0) {
        fail(make_error(rc, std::string("ibv_post_recv: ") + std::strerror(rc)));
        return false;
    }
    ++posted_recvs_;
    return true;
}

void IserDatamover::queue_receive(std::uint32_t index) {
    ibv_recv_wr* wr = &wrs_->recv[index];
    wr->next = nullptr;
    if (wrs_->recv_last) wrs_->recv_last->next = wr;
    else wrs_->recv_first = wr;
    wrs_->recv_last = wr;
    ++wrs_->recv_queued;
}

bool IserDatamover::post_queued_receives() {
    if (!wrs_->recv_first || failed_) return !failed_;
    ibv_recv_wr* bad = nullptr;
    int rc = ibv_post_recv(id_->qp, wrs_->recv_first, &bad);
    wrs_->recv_first = wrs_->recv_last = nullptr;
    if (rc != 0) {
        fail(make_error(rc, std::string("ibv_post_recv: ") + std::strerror(rc)));
        return false;
    }
    posted_recvs_ += std::exchange(wrs_->recv_queued, 0);
    return true;
}

Status IserDatamover::enter_full_feature(const FeatureParams& params) {
    if (failed_) return make_error(ENOTCONN, "not connected");
    if (params.header_digest || params.data_digest)
        return make_error(ENOTSUP, "iSER does not use iSCSI digests (the RDMA fabric checks integrity)");
    params_ = params;
    if (full_feature_) return {};
    full_feature_ = true;
    std::uint32_t depth = params.queue_depth;
    if (depth > kMaxCommands) {
        ISER_LOG_WARN(log_, "iSER %s: queue depth %u above the %u the QP was sized for; extra commands wait",
                      portal_.c_str(), depth, kMaxCommands);
        depth = kMaxCommands;
    }
    max_recv_data_ = params.max_recv_data_segment;
    if (!register_pool(recv_pool_, depth + kControlSlack, kIserPduHeaderBytes + max_recv_data_, "receive buffers"))
        return make_error(ENOMEM, "cannot register the iSER receive buffers");
    wrs_->recv.assign(recv_pool_.count, ibv_recv_wr{});
    wrs_->recv_sge.assign(recv_pool_.count, ibv_sge{});
    for (std::uint32_t i = 0; i < recv_pool_.count; ++i) {
        wrs_->recv_sge[i] = ibv_sge{reinterpret_cast<std::uintptr_t>(recv_pool_.slot(i)), std::uint32_t(recv_pool_.slot_bytes),
                                    recv_pool_.mr->lkey};
        wrs_->recv[i].wr_id = make_wr_id(kRecvKind, i);
        wrs_->recv[i].sg_list = &wrs_->recv_sge[i];
        wrs_->recv[i].num_sge = 1;
        queue_receive(i);
    }
    if (!post_queued_receives()) return make_error(ECONNRESET, "connection lost");
    return {};
}

void IserDatamover::on_cq_channel() {
    ibv_cq* cq = nullptr;
    void* ctx = nullptr;
    if (ibv_get_cq_event(comp_channel_, &cq, &ctx) != 0) return;  // EAGAIN: nothing new
    // Acking takes a mutex inside libibverbs: batch it.
    if (++unacked_cq_events_ >= 64) ibv_ack_cq_events(cq_, std::exchange(unacked_cq_events_, 0));
    cq_armed_ = false;
    if (drain_cq() < 0) return;
    if (busy_poll_us_) return start_polling();
    arm_and_drain();
}

// Arms the CQ, then drains what arrived before the arming took effect (it raises no event).
bool IserDatamover::arm_and_drain() {
    if (!cq_armed_) {
        if (ibv_req_notify_cq(cq_, 0) != 0) return fail(make_error(errno, "ibv_req_notify_cq failed")), false;
        cq_armed_ = true;
    }
    return drain_cq() >= 0;
}

// Busy polling: the CQ stays unarmed while a deferred task polls it once per loop iteration.
void IserDatamover::start_polling() {
    polling_ = true;
    poll_until_ = std::chrono::steady_clock::now() + std::chrono::microseconds(busy_poll_us_);
    schedule_deferred();
}

void IserDatamover::poll_step() {
    int n = drain_cq();
    if (n < 0) return;
    auto now = std::chrono::steady_clock::now();
    if (n > 0 || send_ring_.has_unposted()) poll_until_ = now + std::chrono::microseconds(busy_poll_us_);
    if (now < poll_until_) {
        // Nothing yet: let whatever else is runnable on this CPU go first. The completion we wait
        // for is often produced by a kworker queued on this very CPU (rxe's tasks, the target's
        // when it is local), which a spinning thread would otherwise hold off.
        if (n == 0) sched_yield();
        return schedule_deferred();
    }
    polling_ = false;  // idle long enough: sleep in epoll until the CQ raises an event
    auto alive = alive_;
    if (arm_and_drain() && *alive && !failed_ && polling_) schedule_deferred();
}

void IserDatamover::schedule_deferred() {
    if (anchor_->scheduled) return;
    anchor_->scheduled = true;
    DeferAnchor* anchor = anchor_;
    loop_.defer([anchor] {
        if (!anchor->owner) {  // the datamover is gone
            delete anchor;
            return;
        }
        anchor->scheduled = false;
        anchor->owner->run_deferred();
    });
}

// Once per loop iteration that queued work: post the send chain, and poll when busy polling.
void IserDatamover::run_deferred() {
    if (failed_) return;
    if (!post_queued_sends()) return;
    if (polling_) poll_step();
}

// Polls until the CQ is empty. Returns the completions handled, or -1 when the datamover failed
// or was closed/destroyed during a callback.
int IserDatamover::drain_cq() {
    auto alive = alive_;
    int handled = 0;
    for (;;) {
        ibv_wc wc[kPollBatch];
        int n = ibv_poll_cq(cq_, kPollBatch, wc);
        if (n < 0) return fail(make_error(EIO, "ibv_poll_cq failed")), -1;
        for (int i = 0; i < n; ++i) {
            if (!handle_completion(wc[i]) || !*alive || failed_) {
                // Count the rest as done, so close() does not wait for them.
                if (*alive)
                    for (int j = i + 1; j < n; ++j) account(wc[j]);
                return -1;
            }
        }
        handled += n;
        if (!post_queued_receives()) return -1;
        if (n < kPollBatch) return handled;
    }
}

// Bookkeeping of one completion: send positions complete in order, so a send completion
// (signaled, or flushed with an error) frees every slot up to its own.
void IserDatamover::account(const ibv_wc& wc) {
    const std::uint32_t kind = std::uint32_t(wc.wr_id >> 32);
    if (kind == kSendKind) {
        send_ring_.complete(std::uint32_t(wc.wr_id));
    } else {
        --posted_recvs_;
    }
}

bool IserDatamover::handle_completion(const ibv_wc& wc) {
    const std::uint32_t kind = std::uint32_t(wc.wr_id >> 32);
    const std::uint32_t index = std::uint32_t(wc.wr_id);
    account(wc);
    if (wc.status != IBV_WC_SUCCESS) {
        fail(make_error(EIO, std::string("iSER ") + (kind == kSendKind ? "send" : "receive") + " to " + portal_ +
                                 " failed: " + ibv_wc_status_str(wc.status)));
        return false;
    }
    if (kind == kSendKind) {
        flush_pending();
        return !failed_;
    }
    const SlotPool& pool = kind == kLoginRecvKind ? login_pool_ : recv_pool_;
    if (kind == kLoginRecvKind) login_recv_posted_ = false;
    const std::uint32_t limit = kind == kLoginRecvKind ? kLoginRecvData : max_recv_data_;
    auto pdu = parse_receive(Bytes(pool.slot(index), wc.byte_len), limit);
    if (!pdu) {
        fail(make_error(EPROTO, "malformed iSER message from " + portal_ + ": " + pdu.error().message));
        return false;
    }
    auto alive = alive_;
    events_.on_pdu(pdu->bhs, pdu->data);
    if (!*alive || failed_) return false;
    // The login buffer is reposted by the next Login Request; full-feature buffers with the
    // rest of this poll batch.
    if (kind == kRecvKind) queue_receive(index);
    return true;
}

void IserDatamover::drain_flushed() {
    // After the QP moved to error every posted work request completes with a flush status
    // (unsignaled sends too); collect them (bounded) so no completion refers to memory we are
    // about to free.
    if (!cq_) return;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    while ((send_ring_.has_outstanding() || posted_recvs_) && std::chrono::steady_clock::now() < deadline) {
        ibv_wc wc[kPollBatch];
        int n = ibv_poll_cq(cq_, kPollBatch, wc);
        if (n < 0) break;
        for (int i = 0; i < n; ++i) account(wc[i]);
        if (n == 0) usleep(1000);
    }
}

}  // namespace iser::datamover
