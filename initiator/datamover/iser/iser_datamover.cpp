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
// A window bind or invalidate carries ExtraWrBudget::mark() in the low 32 bits instead.
constexpr std::uint32_t kSendKind = 1, kLoginRecvKind = 2, kRecvKind = 3, kWindowKind = 4;
constexpr std::uint64_t make_wr_id(std::uint32_t kind, std::uint32_t index) { return (std::uint64_t(kind) << 32) | index; }
constexpr int kPollBatch = 32;
constexpr std::size_t kSlotAlign = 64;  // one cache line per slot start

std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }
std::size_t page_size() { return std::size_t(sysconf(_SC_PAGESIZE)); }

}  // namespace

Result<ibv_mr*> IserDatamover::register_memory(std::uint8_t* base, std::size_t size, const char* what) {
    // With memory windows the region's own key grants the target nothing: each command's window
    // does, for its bytes only.
    const int access = use_windows_ ? int(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_MW_BIND)
                                    : int(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
    ibv_mr* mr = ibv_reg_mr(pd_, base, size, access);
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
        std::uint32_t stag = (*region)->rkey;
        const RemoteAccess access = command_remote_access(payload);
        if (use_windows_ && access.length > 0) {
            auto window = prepare_window(bhs.itt(), **region, access);
            if (!window) {
                Error e = window.take_error();
                fail(e);
                return e;
            }
            send.window = *window;
            stag = (*window)->rkey;
        }
        send.iser = command_iser_header(payload, stag);
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
    if (!pending_.empty() || !can_queue(send)) {
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

bool IserDatamover::can_queue(const PendingSend& send) const {
    if (send_ring_.free() == 0) return false;
    // Queued invalidates go first: a bind must not overtake them (it may reuse their window).
    return !send.window || (waiting_invalidates_.empty() && window_wrs_.fits(1));
}

void IserDatamover::link(ibv_send_wr* wr) {
    wr->next = nullptr;
    if (chain_tail_) chain_tail_->next = wr;
    else chain_head_ = wr;
    chain_tail_ = wr;
}

// Fills the next ring slot and links its WR (after its window bind) to the chain the deferred
// task posts.
void IserDatamover::queue_send(const PendingSend& send) {
    if (send.window) {
        window_wrs_.take(1);
        send.window->bind.wr_id = make_wr_id(kWindowKind, window_wrs_.mark());
        send.window->state = Window::State::Bound;
        link(&send.window->bind);
    }
    SendRing::Reserved r = send_ring_.reserve();
    if (send.window && window_wrs_.wants_signal()) r.signal = true;  // their entries come back with it
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
    wr.send_flags = 0;
    if (len + send.immediate_bytes <= max_inline_) wr.send_flags |= IBV_SEND_INLINE;
    if (r.signal) wr.send_flags |= IBV_SEND_SIGNALED;
    wrs_->send_marks[slot] = window_wrs_.mark();
    link(&wr);
    if (no_batch_) {
        post_queued_sends();
        return;
    }
    schedule_deferred();
    if (busy_poll_us_ && !polling_) start_polling();
}

// Posts the chain of unposted work requests (window binds and invalidates, Sends) with one
// ibv_post_send.
bool IserDatamover::post_queued_sends() {
    if (!chain_head_ || failed_) return !failed_;
    ibv_send_wr* bad = nullptr;
    ibv_send_wr* head = std::exchange(chain_head_, nullptr);
    chain_tail_ = nullptr;
    if (int rc = ibv_post_send(id_->qp, head, &bad); rc != 0) {
        fail(make_error(rc, std::string("ibv_post_send: ") + std::strerror(rc)));
        return false;
    }
    // A type 2 bind names its window by the window's current key (ibv_mw::rkey, which the
    // provider copies at post time and rxe checks), and libibverbs leaves updating it to us.
    if (use_windows_)
        for (ibv_send_wr* wr = head; wr; wr = wr->next)
            if (wr->opcode == IBV_WR_BIND_MW) wr->bind_mw.mw->rkey = wr->bind_mw.rkey;
    send_ring_.mark_posted();
    return true;
}

void IserDatamover::flush_pending() {
    while (!waiting_invalidates_.empty() && window_wrs_.fits(1) && !failed_) {
        link_invalidate(*waiting_invalidates_.front());
        waiting_invalidates_.pop_front();
    }
    while (!pending_.empty() && can_queue(pending_.front()) && !failed_) {
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

// The window of the command's ITT slot, bound (when its Send is queued) to `access` under a new
// key. Windows are allocated the first time a slot needs one and kept: no verbs call per I/O.
Result<IserDatamover::Window*> IserDatamover::prepare_window(std::uint32_t itt, const Region& region,
                                                            const RemoteAccess& access) {
    const std::uint32_t index = itt & 0xffff;
    if (index >= kMaxWindows)
        return make_error(EOVERFLOW, "ITT slot " + std::to_string(index) + " is beyond the " + std::to_string(kMaxWindows) +
                                         " memory windows of an iSER connection");
    auto& windows = wrs_->windows;
    if (index >= windows.size()) windows.resize(index + 1);
    if (!windows[index]) {
        auto w = std::make_unique<Window>();
        w->mw = ibv_alloc_mw(pd_, IBV_MW_TYPE_2);
        if (!w->mw) return make_error(errno, std::string("ibv_alloc_mw: ") + std::strerror(errno));
        w->rkey = w->mw->rkey;
        w->bind.opcode = IBV_WR_BIND_MW;
        w->invalidate.opcode = IBV_WR_LOCAL_INV;
        windows[index] = std::move(w);
    }
    Window& w = *windows[index];
    if (w.state == Window::State::Prepared)
        return make_error(EPROTO, "ITT slot " + std::to_string(index) +
                                      " reused while its previous command still waits to be sent (the target is not receiving)");
    if (w.state == Window::State::Bound) invalidate(w);  // its command ended without end_command()
    w.rkey = ibv_inc_rkey(w.rkey);
    w.itt = itt;
    w.state = Window::State::Prepared;
    ibv_send_wr& b = w.bind;
    b.send_flags = 0;
    b.bind_mw.mw = w.mw;
    b.bind_mw.rkey = w.rkey;
    b.bind_mw.bind_info.mr = static_cast<ibv_mr*>(region.handle);
    b.bind_mw.bind_info.addr = reinterpret_cast<std::uintptr_t>(access.base);
    b.bind_mw.bind_info.length = access.length;
    b.bind_mw.bind_info.mw_access_flags = access.target_writes ? IBV_ACCESS_REMOTE_WRITE : IBV_ACCESS_REMOTE_READ;
    return &w;
}

void IserDatamover::end_command(std::uint32_t itt) {
    if (!use_windows_ || failed_) return;
    const std::uint32_t index = itt & 0xffff;
    if (index >= wrs_->windows.size() || !wrs_->windows[index]) return;
    Window& w = *wrs_->windows[index];
    // Prepared: the command never left (the target stopped receiving); the slot's next command
    // then fails the connection in prepare_window.
    if (w.itt != itt || w.state != Window::State::Bound) return;
    invalidate(w);
}

void IserDatamover::invalidate(Window& w) {
    w.state = Window::State::Free;
    w.invalidate.invalidate_rkey = w.rkey;  // now: a later bind of this window changes w.rkey
    if (!waiting_invalidates_.empty() || !window_wrs_.fits(1)) {
        waiting_invalidates_.push_back(&w);
        return;
    }
    link_invalidate(w);
}

void IserDatamover::link_invalidate(Window& w) {
    window_wrs_.take(1);
    w.invalidate.wr_id = make_wr_id(kWindowKind, window_wrs_.mark());
    // Signaled past half the budget: nothing else may be signaled soon to give the entries back.
    w.invalidate.send_flags = window_wrs_.wants_signal() ? IBV_SEND_SIGNALED : 0;
    link(&w.invalidate);
    if (no_batch_) post_queued_sends();
    else schedule_deferred();
}

// A receive completion that says the target's Send invalidated `rkey`. We never offer Send with
// Invalidate (iser_connect.cpp), so a target that does it anyway is misbehaving; and invalidating
// the same window again locally would crash rxe. The window counts as gone and the connection
// ends here, before any Local Invalidate of it is posted. Returns false when it did.
bool IserDatamover::remote_invalidated(std::uint32_t rkey) {
    if (rkey == 0) return true;  // no key: the flag bit meant something else (see below)
    for (auto& w : wrs_->windows) {
        // Any key the window had lately: a Local Invalidate of it may be chained, not yet posted.
        if (!w || (w->rkey != rkey && w->invalidate.invalidate_rkey != rkey)) continue;
        w->state = Window::State::Free;
        fail(make_error(EPROTO, "iSER target " + portal_ +
                                    " invalidated a memory window key with its Send, which was not offered (RFC 7145 9.1)"));
        return false;
    }
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
    if (n > 0 || chain_head_) poll_until_ = now + std::chrono::microseconds(busy_poll_us_);
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
        const std::uint32_t pos = std::uint32_t(wc.wr_id);
        send_ring_.complete(pos);
        if (wc.status == IBV_WC_SUCCESS) window_wrs_.reclaimed(wrs_->send_marks[send_ring_.slot(pos)]);
    } else if (kind == kWindowKind) {
        if (wc.status == IBV_WC_SUCCESS) window_wrs_.reclaimed(std::uint32_t(wc.wr_id));
    } else {
        --posted_recvs_;
    }
}

bool IserDatamover::handle_completion(const ibv_wc& wc) {
    const std::uint32_t kind = std::uint32_t(wc.wr_id >> 32);
    const std::uint32_t index = std::uint32_t(wc.wr_id);
    account(wc);
    if (wc.status != IBV_WC_SUCCESS) {
        const char* what = kind == kSendKind ? "send" : kind == kWindowKind ? "memory window bind or invalidate" : "receive";
        fail(make_error(EIO, std::string("iSER ") + what + " to " + portal_ +
                                 " failed: " + ibv_wc_status_str(wc.status)));
        return false;
    }
    if (kind == kSendKind || kind == kWindowKind) {
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
    // rxe reports an invalidation in bit 2 (the kernel's IB_WC_WITH_INVALIDATE), libibverbs in
    // IBV_WC_WITH_INV: check both, and only a key that is one of our bound windows' counts.
    constexpr unsigned kInvalidatedFlags = IBV_WC_WITH_INV | (1u << 2);
    if (use_windows_ && (wc.wc_flags & kInvalidatedFlags) && !remote_invalidated(wc.invalidated_rkey)) return false;
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
