// Data path of the iSER datamover: sends from the registered send-buffer pool, receives
// parsed and handed to the session, the completion channel on the loop.
#include "initiator/datamover/iser/iser_datamover.hpp"

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
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
    PendingSend send{pdu::IserHeader{}, bhs, data, nullptr, 0, 0};
    if (!pending_.empty() || free_sends_.empty()) {
        pending_.push_back(send);
        return {};
    }
    if (!post_send(send)) return make_error(ECONNRESET, "connection lost");
    return {};
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
    if (!pending_.empty() || free_sends_.empty()) {
        pending_.push_back(send);
        return {};
    }
    if (!post_send(send)) return make_error(ECONNRESET, "connection lost");
    return {};
}

bool IserDatamover::post_send(const PendingSend& send) {
    const std::uint32_t slot = free_sends_.back();
    std::uint8_t* buf = send_pool_.slot(slot);
    std::size_t len = write_send_buffer(MutableBytes(buf, send_pool_.slot_bytes), send.iser, send.bhs, send.data);

    ibv_sge sge[2];
    sge[0] = ibv_sge{reinterpret_cast<std::uintptr_t>(buf), std::uint32_t(len), send_pool_.mr->lkey};
    int nsge = 1;
    if (send.immediate_bytes) {
        // Immediate data rides in the same Send, straight from the task buffer (isert rejects
        // it in a separate message).
        sge[1] = ibv_sge{reinterpret_cast<std::uintptr_t>(send.immediate), send.immediate_bytes, send.immediate_lkey};
        nsge = 2;
    }
    ibv_send_wr wr{};
    wr.wr_id = make_wr_id(kSendKind, slot);
    wr.sg_list = sge;
    wr.num_sge = nsge;
    wr.opcode = IBV_WR_SEND;
    wr.send_flags = IBV_SEND_SIGNALED;
    ibv_send_wr* bad = nullptr;
    if (int rc = ibv_post_send(id_->qp, &wr, &bad); rc != 0) {
        fail(make_error(rc, std::string("ibv_post_send: ") + std::strerror(rc)));
        return false;
    }
    free_sends_.pop_back();
    ++posted_sends_;
    return true;
}

void IserDatamover::flush_pending() {
    while (!pending_.empty() && !free_sends_.empty() && !failed_) {
        if (!post_send(pending_.front())) return;
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
    for (std::uint32_t i = 0; i < recv_pool_.count; ++i)
        if (!post_receive(recv_pool_, i, kRecvKind)) return make_error(ECONNRESET, "connection lost");
    return {};
}

void IserDatamover::on_cq_channel() {
    ibv_cq* cq = nullptr;
    void* ctx = nullptr;
    if (ibv_get_cq_event(comp_channel_, &cq, &ctx) != 0) return;  // EAGAIN: nothing new
    ++unacked_cq_events_;
    auto alive = alive_;
    // Re-arm first, then drain: a completion arriving after the drain raises a new event.
    if (ibv_req_notify_cq(cq_, 0) != 0) return fail(make_error(errno, "ibv_req_notify_cq failed"));
    if (!drain_cq() || !*alive) return;
    if (busy_poll_us_) busy_poll();
    if (!*alive || closed_) return;
    // Acking takes a mutex inside libibverbs: batch it.
    if (unacked_cq_events_ >= 64) ibv_ack_cq_events(cq_, std::exchange(unacked_cq_events_, 0));
}

void IserDatamover::busy_poll() {
    auto alive = alive_;
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(busy_poll_us_);
    while (!failed_ && *alive && std::chrono::steady_clock::now() < until) {
        ibv_wc wc[kPollBatch];
        int n = ibv_poll_cq(cq_, kPollBatch, wc);
        if (n <= 0) continue;
        for (int i = 0; i < n; ++i)
            if (!handle_completion(wc[i]) || !*alive) return;
        until = std::chrono::steady_clock::now() + std::chrono::microseconds(busy_poll_us_);
    }
}

// Returns false when the datamover failed or was closed/destroyed during a callback.
bool IserDatamover::drain_cq() {
    auto alive = alive_;
    for (;;) {
        ibv_wc wc[kPollBatch];
        int n = ibv_poll_cq(cq_, kPollBatch, wc);
        if (n < 0) return fail(make_error(EIO, "ibv_poll_cq failed")), false;
        for (int i = 0; i < n; ++i)
            if (!handle_completion(wc[i]) || !*alive || failed_) return false;
        if (n < kPollBatch) return true;
    }
}

bool IserDatamover::handle_completion(const ibv_wc& wc) {
    const std::uint32_t kind = std::uint32_t(wc.wr_id >> 32);
    const std::uint32_t index = std::uint32_t(wc.wr_id);
    if (kind == kSendKind) --posted_sends_;
    else --posted_recvs_;
    if (wc.status != IBV_WC_SUCCESS) {
        fail(make_error(EIO, std::string("iSER ") + (kind == kSendKind ? "send" : "receive") + " to " + portal_ +
                                 " failed: " + ibv_wc_status_str(wc.status)));
        return false;
    }
    if (kind == kSendKind) {
        free_sends_.push_back(index);
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
    // The login buffer is reposted by the next Login Request; full-feature buffers at once.
    if (kind == kRecvKind) return post_receive(recv_pool_, index, kRecvKind);
    return true;
}

void IserDatamover::drain_flushed() {
    // After the QP moved to error every posted work request completes with a flush status;
    // collect them (bounded) so no completion refers to memory we are about to free.
    if (!cq_) return;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    while ((posted_sends_ || posted_recvs_) && std::chrono::steady_clock::now() < deadline) {
        ibv_wc wc[kPollBatch];
        int n = ibv_poll_cq(cq_, kPollBatch, wc);
        if (n < 0) break;
        for (int i = 0; i < n; ++i) {
            if ((wc[i].wr_id >> 32) == kSendKind) --posted_sends_;
            else --posted_recvs_;
        }
        if (n == 0) usleep(1000);
    }
}

}  // namespace iser::datamover
