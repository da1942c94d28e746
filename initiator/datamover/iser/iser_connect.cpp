// Connection life of the iSER datamover: rdma_cm address/route resolution, verbs resources,
// rdma_connect with the iSER private data, and the orderly or failed teardown.
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <netdb.h>
#include <rdma/rdma_cma.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/env_number.hpp"
#include "initiator/datamover/iser/iser_datamover.hpp"
#include "initiator/datamover/iser/iser_work_requests.hpp"

namespace iser::datamover {
namespace {

constexpr int kResolveTimeoutMs = 1000;  // rdma_resolve_addr / rdma_resolve_route, as ib_iser
constexpr std::uint8_t kMaxResponderResources = 16;
// RFC 7145 §9.1 iSER CM REQ private data: ZBVA and Send with Invalidate not supported (the
// target must use the virtual addresses we advertise, and never invalidate our keys). Remote
// invalidation of the memory windows would save one Local Invalidate per command, but on rxe
// (6.12) it cannot be used: the completion reports it in the kernel's flag bit
// (IB_WC_WITH_INVALIDATE, 1 << 2) where libibverbs has IBV_WC_IP_CSUM_OK, so the window looks
// still bound, and rxe_do_invalidate_mw() then dereferences the missing QP of a window that is
// no longer bound: a kernel panic (seen in the lab with LIO, which invalidates when offered).
constexpr std::uint8_t kCmPrivateData[4] = {0xC0, 0, 0, 0};

// How long a queue thread keeps polling its CQ (yielding between polls) after a completion or a
// send before it sleeps until the next completion event; ISER_BUSY_POLL_US=N, default 0 (off).
// Polling saves the thread's wake-ups, but in the lab (bench/lab_variants.sh, 2 vCPUs shared
// with the target, pairs in one boot) 100-200 us won 8-16% in one boot and lost 5% in another
// (pair-to-pair spread there: 20%), and 500-2000 us took the CPU from the target (4k QD1 -25% to
// -35%). Without a gain that shows above the noise, no CPU is burnt by default.
constexpr std::uint32_t kDefaultBusyPollUs = 0;
constexpr std::uint32_t kMaxBusyPollUs = 1000000;

bool set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// librdmacm opens one ibv_context (and allocates a PD) per RDMA device the first time an id binds
// to it, and keeps the context open after the last id is destroyed. It closes the context of a
// removed device only when it re-reads the device list (sync_devices_list() in rdma-core's
// librdmacm/cma.c), which rdma_get_devices() does; nothing on our connect path does it (address
// resolution fails first without the device). Until then that open verbs file keeps the kernel's
// device removal waiting (ib_uverbs waits for every file of a driver without
// disassociate_ucontext, e.g. rxe and siw: `rdma link delete` hangs). The re-read gives up on an
// empty list, so the last RDMA device of a host stays open until another one appears or the
// process exits: false then. The cost: rdma_get_devices() opens every remaining device too, and
// librdmacm keeps those contexts (as it did for every device before it opened them lazily), so a
// remaining software device we never used is then held the same way until the next re-read or
// exit. Drivers that disassociate contexts on removal (mlx5, for one) never wait at all.
bool forget_removed_rdma_devices() {
    int n = 0;
    ibv_context** list = rdma_get_devices(&n);
    if (!list) return false;
    rdma_free_devices(list);  // drops the last reference of a removed device: librdmacm closes it
    return n > 0;
}

bool any_rdma_device() {
    int n = 0;
    ibv_device** list = ibv_get_device_list(&n);
    if (!list) return false;
    ibv_free_device_list(list);
    return n > 0;
}

}  // namespace

IserDatamover::IserDatamover(EventLoop& loop, Logger& log, Events& events)
    : IserDatamover(loop, log, events, kDefaultBusyPollUs) {
    auto us = env_number("ISER_BUSY_POLL_US", kDefaultBusyPollUs, kMaxBusyPollUs);
    if (us) busy_poll_us_ = std::uint32_t(*us);
    else ISER_LOG_WARN(log_, "%s; busy polling stays off", us.error().message.c_str());
}

IserDatamover::IserDatamover(EventLoop& loop, Logger& log, Events& events, std::uint32_t busy_poll_us)
    : loop_(loop), log_(log), events_(events), busy_poll_us_(busy_poll_us),
      wrs_(std::make_unique<WorkRequests>()), anchor_(new DeferAnchor{this, false}) {
    // Lab diagnosis only: ISER_SEND_TUNING=noinline,signalall,nobatch turns the send-path
    // optimisations off one by one, so their effect can be measured in one VM boot.
    if (const char* t = std::getenv("ISER_SEND_TUNING")) {
        std::string v(t);
        no_inline_ = v.find("noinline") != std::string::npos;
        signal_all_ = v.find("signalall") != std::string::npos;
        no_batch_ = v.find("nobatch") != std::string::npos;
        no_windows_ = v.find("nowindows") != std::string::npos;  // the wide registration, to measure windows' cost
    }
}

IserDatamover::~IserDatamover() {
    close();
    *alive_ = false;
    // A deferred task still queued on the loop frees the anchor when it runs.
    if (anchor_->scheduled) anchor_->owner = nullptr;
    else delete anchor_;
}

Error IserDatamover::no_device_error(const std::string& step, int err) const {
    return make_error(err ? err : ENODEV, "no RDMA device can reach " + portal_ + " (" + step + ": " +
                                              std::strerror(err ? err : ENODEV) + "); use --transport tcp");
}

void IserDatamover::connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
    portal_ = host + ":" + std::to_string(port);
    auto fail_later = [this](Error e) {
        loop_.defer([this, e, alive = alive_] {
            if (*alive) fail(e);
        });
    };
    if (!any_rdma_device()) {
        fail_later(make_error(ENODEV, "no RDMA devices on this host (ibv_get_device_list is empty); use --transport tcp"));
        return;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
        fail_later(make_error(EHOSTUNREACH, "cannot resolve " + host + ": " + gai_strerror(rc)));
        return;
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);

    cm_channel_ = rdma_create_event_channel();
    if (!cm_channel_) {
        fail_later(no_device_error("rdma_create_event_channel", errno));
        return;
    }
    if (!set_nonblocking(cm_channel_->fd) || rdma_create_id(cm_channel_, &id_, this, RDMA_PS_TCP) != 0) {
        fail_later(make_error(errno, std::string("rdma_create_id: ") + std::strerror(errno)));
        return;
    }
    if (auto st = loop_.add_fd(cm_channel_->fd, EPOLLIN, [this](std::uint32_t) { on_cm_channel(); }); !st) {
        fail_later(st.take_error());
        return;
    }
    cm_fd_watched_ = true;
    if (rdma_resolve_addr(id_, nullptr, res->ai_addr, kResolveTimeoutMs) != 0) {
        fail_later(no_device_error("rdma_resolve_addr", errno));
        return;
    }
    connect_timer_ = loop_.add_timer(timeout, [this] {
        connect_timer_ = 0;
        fail(make_error(ETIMEDOUT, "RDMA connection to " + portal_ + " timed out"));
    });
}

void IserDatamover::on_cm_channel() {
    auto alive = alive_;
    while (!failed_ && *alive) {
        rdma_cm_event* event = nullptr;
        if (rdma_get_cm_event(cm_channel_, &event) != 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fail(make_error(errno, std::string("rdma_get_cm_event: ") + std::strerror(errno)));
            return;
        }
        rdma_cm_event copy = *event;
        rdma_ack_cm_event(event);  // ack first: rdma_destroy_id waits for outstanding events
        on_cm_event(copy);
    }
}

std::string IserDatamover::reject_text(int status) const {
    // IB CM reject reasons (IBTA CM REJ), which rdma_cm reports for InfiniBand and RoCE.
    switch (status) {
        case 8: return "no iSER listener on that port (invalid service ID)";
        case 28: return "the target refused the connection (consumer reject)";
        case 3: return "the target has no resources";
        case 26: return "insufficient responder resources";
        default: return "reject reason " + std::to_string(status);
    }
}

void IserDatamover::on_cm_event(const rdma_cm_event& ev) {
    switch (ev.event) {
        case RDMA_CM_EVENT_ADDR_RESOLVED:
            if (rdma_resolve_route(id_, kResolveTimeoutMs) != 0) fail(no_device_error("rdma_resolve_route", errno));
            return;
        case RDMA_CM_EVENT_ROUTE_RESOLVED:
            if (create_resources()) start_connect();
            return;
        case RDMA_CM_EVENT_ESTABLISHED:
            if (connect_timer_) loop_.cancel_timer(std::exchange(connect_timer_, 0));
            connected_ = true;
            ISER_LOG_DEBUG(log_, "iSER connection to %s established", portal_.c_str());
            events_.on_connected();
            return;
        case RDMA_CM_EVENT_ADDR_ERROR:
            return fail(no_device_error("rdma_resolve_addr", -ev.status));
        case RDMA_CM_EVENT_ROUTE_ERROR:
            return fail(no_device_error("rdma_resolve_route", -ev.status));
        case RDMA_CM_EVENT_UNREACHABLE:
            return fail(make_error(EHOSTUNREACH, "iSER target " + portal_ + " unreachable (rdma_connect: " +
                                                     std::strerror(ev.status < 0 ? -ev.status : ETIMEDOUT) + ")"));
        case RDMA_CM_EVENT_REJECTED:
            return fail(make_error(ECONNREFUSED, "iSER connection to " + portal_ + " rejected: " + reject_text(ev.status)));
        case RDMA_CM_EVENT_CONNECT_ERROR:
            return fail(make_error(ECONNABORTED, "iSER connection to " + portal_ + " failed (RDMA_CM_EVENT_CONNECT_ERROR, status " +
                                                     std::to_string(ev.status) + ")"));
        case RDMA_CM_EVENT_DISCONNECTED:
            return fail(make_error(ECONNRESET, "iSER target " + portal_ + " closed the connection"));
        case RDMA_CM_EVENT_DEVICE_REMOVAL:
            return device_removed();
        case RDMA_CM_EVENT_TIMEWAIT_EXIT:
        case RDMA_CM_EVENT_ADDR_CHANGE:
        default:
            ISER_LOG_DEBUG(log_, "iSER %s: rdma_cm event %s ignored", portal_.c_str(), rdma_event_str(ev.event));
            return;
    }
}

bool IserDatamover::create_resources() {
    ibv_context* verbs = id_->verbs;
    ibv_device_attr attr{};
    if (ibv_query_device(verbs, &attr) != 0) {
        fail(make_error(errno, std::string("ibv_query_device: ") + std::strerror(errno)));
        return false;
    }
    responder_resources_ = std::uint8_t(std::max(1, std::min<int>(attr.max_qp_rd_atom, kMaxResponderResources)));
    use_windows_ = !no_windows_ && attr.max_mw > 0 &&
                   (attr.device_cap_flags & (IBV_DEVICE_MEM_WINDOW_TYPE_2A | IBV_DEVICE_MEM_WINDOW_TYPE_2B)) != 0;
    if (!use_windows_ && !no_windows_)
        ISER_LOG_WARN(log_, "iSER %s: RDMA device %s has no type 2 memory windows; the target can reach all of this "
                            "connection's I/O memory, not only the buffers of its outstanding commands",
                      portal_.c_str(), ibv_get_device_name(verbs->device));

    pd_ = ibv_alloc_pd(verbs);
    if (!pd_) return fail(make_error(errno, std::string("ibv_alloc_pd: ") + std::strerror(errno))), false;
    comp_channel_ = ibv_create_comp_channel(verbs);
    if (!comp_channel_ || !set_nonblocking(comp_channel_->fd))
        return fail(make_error(errno, std::string("ibv_create_comp_channel: ") + std::strerror(errno))), false;

    const std::uint32_t depth = kMaxCommands + kControlSlack;
    cq_ = ibv_create_cq(verbs, int(2 * depth), this, comp_channel_, 0);
    if (!cq_) return fail(make_error(errno, std::string("ibv_create_cq: ") + std::strerror(errno))), false;
    if (ibv_req_notify_cq(cq_, 0) != 0)
        return fail(make_error(errno, std::string("ibv_req_notify_cq: ") + std::strerror(errno))), false;
    cq_armed_ = true;

    ibv_qp_init_attr qp{};
    qp.send_cq = cq_;
    qp.recv_cq = cq_;
    qp.qp_type = IBV_QPT_RC;
    qp.sq_sig_all = 0;  // selective: see kSignalInterval
    qp.cap.max_send_wr = depth + (use_windows_ ? kWindowWrs : 0);
    qp.cap.max_recv_wr = depth;
    qp.cap.max_send_sge = 2;  // headers + immediate data
    qp.cap.max_recv_sge = 1;
    qp.cap.max_inline_data = kWantedInline;
    if (rdma_create_qp(id_, pd_, &qp) != 0) {
        qp.cap.max_inline_data = 0;  // a device without inline sends
        if (rdma_create_qp(id_, pd_, &qp) != 0)
            return fail(make_error(errno, std::string("rdma_create_qp: ") + std::strerror(errno))), false;
    }
    qp_created_ = true;
    max_inline_ = no_inline_ ? 0 : qp.cap.max_inline_data;  // what the device granted

    if (auto st = loop_.add_fd(comp_channel_->fd, EPOLLIN, [this](std::uint32_t) { on_cq_channel(); }); !st)
        return fail(st.take_error()), false;
    cq_fd_watched_ = true;

    // Registered once: the send buffers, the login receive buffer, and any I/O memory that was
    // allocated before the device was known.
    if (!register_pool(send_pool_, depth, kIserPduHeaderBytes + kMaxControlData, "send buffers")) return false;
    send_ring_.reset(depth, signal_all_ ? 1 : kSignalInterval);
    window_wrs_.reset(use_windows_ ? kWindowWrs : 0);
    wrs_->send_marks.assign(depth, 0);
    wrs_->send.assign(depth, ibv_send_wr{});
    wrs_->send_sge.assign(depth, {});
    for (std::uint32_t i = 0; i < depth; ++i) {
        wrs_->send[i].sg_list = wrs_->send_sge[i].data();
        wrs_->send[i].opcode = IBV_WR_SEND;
    }
    if (!register_pool(login_pool_, 1, kIserPduHeaderBytes + kLoginRecvData, "login receive buffer")) return false;
    std::vector<Region> unregistered(io_regions_.all().begin(), io_regions_.all().end());
    io_regions_.clear();
    for (Region r : unregistered) {
        auto mr = register_memory(r.base, r.size, "I/O memory");
        if (!mr) return fail(mr.take_error()), false;
        r.handle = *mr;
        r.lkey = (*mr)->lkey;
        r.rkey = (*mr)->rkey;
        io_regions_.add(r);
    }
    return true;
}

void IserDatamover::start_connect() {
    rdma_conn_param param{};
    param.private_data = kCmPrivateData;
    param.private_data_len = sizeof kCmPrivateData;
    param.responder_resources = responder_resources_;  // the target RDMA-Reads our write data
    param.initiator_depth = 1;
    param.retry_count = 7;
    param.rnr_retry_count = 7;  // infinite: a target short of receives delays, never fails
    if (rdma_connect(id_, &param) != 0)
        fail(make_error(errno, "rdma_connect to " + portal_ + ": " + std::strerror(errno)));
}

// rdma_cm's DEVICE_REMOVAL: the kernel's removal of the device waits until every user let go of
// it, so everything on it goes now, not when the session gets round to destroying this object
// (after a reconnect delay, or never while it is still logging in), and librdmacm is made to
// close its own context. Callbacks end as after fail(); close() later finds nothing to do.
void IserDatamover::device_removed() {
    if (failed_) return;
    Error why = make_error(ENODEV, "the RDMA device serving " + portal_ + " was removed");
    ISER_LOG_DEBUG(log_, "iSER %s: %s; releasing every resource on it", portal_.c_str(), why.message.c_str());
    stop_io();
    failed_ = true;
    drain_flushed();
    release();
    if (!forget_removed_rdma_devices())
        ISER_LOG_WARN(log_, "iSER %s: the removed RDMA device was the last one; librdmacm keeps it open until "
                            "another RDMA device appears or iserd exits, so its removal (e.g. `rdma link delete` "
                            "of rxe or siw) waits until then", portal_.c_str());
    events_.on_disconnected(why);
}

void IserDatamover::fail(Error why) {
    if (failed_) return;
    ISER_LOG_DEBUG(log_, "iSER %s: %s", portal_.c_str(), why.message.c_str());
    stop_io();
    failed_ = true;
    events_.on_disconnected(why);
}

// Stops every callback source and moves the QP to error; resources stay until close().
void IserDatamover::stop_io() {
    if (connect_timer_) loop_.cancel_timer(std::exchange(connect_timer_, 0));
    if (cm_fd_watched_) loop_.remove_fd(cm_channel_->fd);
    if (cq_fd_watched_) loop_.remove_fd(comp_channel_->fd);
    cm_fd_watched_ = cq_fd_watched_ = false;
    if (connected_) rdma_disconnect(id_);  // orderly: the target sees a DREQ, and the QP flushes
    connected_ = false;
    if (qp_created_) {
        ibv_qp_attr attr{};
        attr.qp_state = IBV_QPS_ERR;
        ibv_modify_qp(id_->qp, &attr, IBV_QP_STATE);
    }
    pending_.clear();
    pending_control_bytes_ = 0;
    send_ring_.drop_unposted();
    chain_head_ = chain_tail_ = nullptr;
    waiting_invalidates_.clear();
    wrs_->recv_first = wrs_->recv_last = nullptr;
    wrs_->recv_queued = 0;
    polling_ = false;
}

void IserDatamover::close() {
    if (closed_) return;
    stop_io();
    failed_ = true;  // no callbacks after close()
    closed_ = true;
    drain_flushed();
    release();
}

void IserDatamover::release() {
    if (cq_ && unacked_cq_events_) ibv_ack_cq_events(cq_, std::exchange(unacked_cq_events_, 0));
    if (qp_created_) rdma_destroy_qp(id_);
    qp_created_ = false;
    for (auto& w : wrs_->windows)
        if (w && w->mw) ibv_dealloc_mw(w->mw);  // before the PD they belong to
    chain_head_ = chain_tail_ = nullptr;
    waiting_invalidates_.clear();
    if (cq_) ibv_destroy_cq(cq_);
    cq_ = nullptr;
    if (comp_channel_) ibv_destroy_comp_channel(comp_channel_);
    comp_channel_ = nullptr;
    for (SlotPool* pool : {&send_pool_, &login_pool_, &recv_pool_}) {
        if (pool->mr) ibv_dereg_mr(pool->mr);
        if (pool->memory.base) munmap(pool->memory.base, pool->memory.size);
        *pool = SlotPool{};
    }
    for (const Region& r : io_regions_.all())
        if (r.handle) ibv_dereg_mr(static_cast<ibv_mr*>(r.handle));
    io_regions_.clear();
    *wrs_ = WorkRequests{};
    if (pd_) ibv_dealloc_pd(pd_);
    pd_ = nullptr;
    if (id_) rdma_destroy_id(id_);
    id_ = nullptr;
    if (cm_channel_) rdma_destroy_event_channel(cm_channel_);
    cm_channel_ = nullptr;
}

}  // namespace iser::datamover
