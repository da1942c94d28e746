// iSER (RFC 7145) over rdma_cm and libibverbs: every iSCSI PDU is an RDMA Send of
// [28-byte iSER header][48-byte BHS][data]; SCSI data never passes through this code: the
// target RDMA-Writes READ data into, and RDMA-Reads WRITE data from, the task buffers, which
// live in memory registered once by add_io_memory().
//
// One event channel (rdma_cm) and one completion channel (send + receive CQ) on the session's
// EventLoop. Sends use a ring of registered buffers (iSER header + BHS + small control data); a
// SCSI Command's immediate data rides in the same Send as a second SGE pointing into the task
// buffer (zero copy). When every send buffer is in use, sends wait in FIFO order.
//
// Per-I/O cost (each verb on rxe is a system call, and each CQ wake-up three more):
// - Sends are signaled selectively: one in kSignalInterval, and every one when the ring runs
//   low. An RC send queue completes in order, so one signaled completion frees every slot
//   posted before it; the target's answer, not the send completion, is what an I/O waits for.
// - Sends are linked into one work-request chain and posted once per loop iteration (a
//   deferred task), receives are reposted as one chain per CQ poll batch.
// - Small PDUs (a SCSI Command without immediate data) go inline when the device allows it.
// - Completion events are acked in batches; the CQ is drained, armed, drained again.
//
// Remote access (when the device has type 2 memory windows, as rxe and mlx5 do): I/O memory is
// registered for local access and window binding only, so its own rkey opens nothing. Each
// command that the target must RDMA-Read or -Write gets the memory window of its ITT slot, bound
// (one unsignaled work request chained before its Send) to exactly the bytes the target may
// touch, writable for a READ and read-only for a WRITE, under a fresh key. The key dies when the
// command ends: end_command() chains a Local Invalidate (Send with Invalidate by the target is
// not offered: see iser_connect.cpp). A device without windows falls back to the wide
// registration, with a warning.
//
// Sizing: the QP is created before login, when the session's queue depth is not known yet, so it
// is sized for kMaxCommands commands plus kControlSlack control PDUs; enter_full_feature() clamps
// a larger queue depth to that (more commands simply wait for a send buffer, and the target's
// answers for a receive: rnr_retry 7 makes that a delay, never an error).
//
// Busy polling (default off; ISER_BUSY_POLL_US=N in the environment or the constructor flag,
// 0 = off) keeps the CQ unarmed and polls it once per loop iteration (a deferred task, so the
// loop's epoll_wait does not block and the other fds, e.g. ublk's, are still served; an empty
// poll yields the CPU) for up to N microseconds after the last completion or send; then the CQ is
// armed again and the loop sleeps in epoll.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "initiator/datamover/datamover.hpp"
#include "initiator/datamover/iser/extra_wr_budget.hpp"
#include "initiator/datamover/iser/iser_wire.hpp"
#include "initiator/datamover/iser/region_table.hpp"
#include "initiator/datamover/iser/send_ring.hpp"

struct rdma_event_channel;
struct rdma_cm_id;
struct rdma_cm_event;
struct ibv_pd;
struct ibv_cq;
struct ibv_comp_channel;
struct ibv_mr;
struct ibv_wc;
struct ibv_send_wr;

namespace iser::datamover {

class IserDatamover final : public Datamover {
public:
    static constexpr std::uint32_t kMaxCommands = 128;
    static constexpr std::uint32_t kControlSlack = 16;  // NOP-In/Out, Async, Reject, Text, Logout, TMF
    static constexpr std::uint32_t kMaxControlData = 8192;  // data of a non-SCSI-Command PDU we send
    static constexpr std::uint32_t kLoginRecvData = 8192;
    static constexpr std::uint32_t kSignalInterval = 16;  // one signaled Send in this many
    static constexpr std::uint32_t kWantedInline = 128;   // a SCSI Command's headers fit (76 bytes)
    // Memory windows: one per ITT slot in use (the session's ITT table keeps the slot in the low
    // 16 bits, and never has two outstanding commands in one slot), at most this many.
    static constexpr std::uint32_t kMaxWindows = 4096;
    // Send-queue entries for window binds and invalidates, beyond the ring's Sends.
    static constexpr std::uint32_t kWindowWrs = 2 * kMaxCommands;

    IserDatamover(EventLoop& loop, Logger& log, Events& events);
    IserDatamover(EventLoop& loop, Logger& log, Events& events, std::uint32_t busy_poll_us);
    ~IserDatamover() override;

    const char* transport_name() const override { return "iser"; }
    void connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) override;
    bool target_moves_data() const override { return true; }
    std::uint32_t max_immediate_bytes() const override { return params_.max_send_data_segment; }
    Status send_pdu(const pdu::Bhs& bhs, Bytes data) override;
    Status send_data_out(const pdu::Bhs& bhs, Bytes data) override;
    Status send_command(const pdu::Bhs& bhs, const CommandPayload& payload) override;
    void end_command(std::uint32_t itt) override;
    Status enter_full_feature(const FeatureParams& params) override;
    Status add_io_memory(const IoMemory& memory) override;
    void close() override;

private:
    struct WorkRequests;  // the preallocated verbs work requests (iser_work_requests.hpp)
    struct Window;        // one memory window and its two work requests (iser_work_requests.hpp)
    // The loop's deferred task only captures this (allocation-free std::function); it outlives
    // the datamover when a task is still queued at destruction, and the task then frees it.
    struct DeferAnchor {
        IserDatamover* owner;
        bool scheduled;
    };
    // A PDU waiting for a send buffer.
    struct PendingSend {
        pdu::IserHeader iser;
        pdu::Bhs bhs;
        Bytes data;                          // control data, copied into the send buffer
        std::vector<std::uint8_t> owned;     // ... and before that into here, while pending
        std::size_t charged = 0;             // counted in pending_control_bytes_
        const std::uint8_t* immediate = nullptr;  // SCSI immediate data: second SGE, not copied
        std::uint32_t immediate_bytes = 0;
        std::uint32_t immediate_lkey = 0;
        Window* window = nullptr;  // prepared bind, chained just before the Send
    };
    // A registered buffer carved into equal slots.
    struct SlotPool {
        IoMemory memory;
        ibv_mr* mr = nullptr;
        std::size_t slot_bytes = 0;
        std::uint32_t count = 0;
        std::uint8_t* slot(std::uint32_t i) const { return memory.base + std::size_t(i) * slot_bytes; }
    };

    // Connection establishment (iser_connect.cpp).
    void on_cm_channel();
    void on_cm_event(const rdma_cm_event& event);
    bool create_resources();
    void start_connect();
    std::string reject_text(int status) const;
    Error no_device_error(const std::string& step, int err) const;

    // Data path (iser_datamover.cpp).
    void on_cq_channel();
    int drain_cq();  // completions handled, or -1 when the datamover failed or is gone
    bool handle_completion(const ibv_wc& wc);
    void account(const ibv_wc& wc);
    void queue_send(const PendingSend& send);
    bool can_queue(const PendingSend& send) const;  // a ring slot, and room for its window bind
    void link(ibv_send_wr* wr);  // appends to the chain the deferred task posts
    Result<Window*> prepare_window(std::uint32_t itt, const Region& region, const RemoteAccess& access);
    void invalidate(Window& w);  // posts (or queues) a Local Invalidate of the window's key
    void link_invalidate(Window& w);
    bool remote_invalidated(std::uint32_t rkey);
    Status submit(PendingSend&& send);
    bool post_queued_sends();
    void flush_pending();
    bool post_receive(const SlotPool& pool, std::uint32_t index, std::uint32_t kind);
    void queue_receive(std::uint32_t index);
    bool post_queued_receives();
    bool register_pool(SlotPool& pool, std::uint32_t count, std::size_t slot_bytes, const char* what);
    Result<ibv_mr*> register_memory(std::uint8_t* base, std::size_t size, const char* what);
    bool arm_and_drain();
    void start_polling();
    void poll_step();
    void schedule_deferred();
    void run_deferred();

    // Teardown (iser_connect.cpp).
    void fail(Error why);
    void device_removed();
    void stop_io();
    void drain_flushed();
    void release();

    EventLoop& loop_;
    Logger& log_;
    Events& events_;
    std::uint32_t busy_poll_us_ = 0;
    std::string portal_;  // "host:port" for messages

    rdma_event_channel* cm_channel_ = nullptr;
    rdma_cm_id* id_ = nullptr;
    ibv_pd* pd_ = nullptr;
    ibv_comp_channel* comp_channel_ = nullptr;
    ibv_cq* cq_ = nullptr;
    bool qp_created_ = false;
    bool cm_fd_watched_ = false, cq_fd_watched_ = false;
    unsigned unacked_cq_events_ = 0;
    std::uint8_t responder_resources_ = 1;
    EventLoop::TimerId connect_timer_ = 0;

    bool connected_ = false;
    bool failed_ = false;   // no more callbacks after on_disconnected
    bool closed_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // the object still exists

    FeatureParams params_;
    bool full_feature_ = false;

    SlotPool send_pool_;  // one buffer per SendRing slot
    SendRing send_ring_;
    std::uint32_t max_inline_ = 0;
    std::deque<PendingSend> pending_;
    std::size_t pending_control_bytes_ = 0;
    SlotPool login_pool_;  // one Login Response buffer
    bool login_recv_posted_ = false;
    SlotPool recv_pool_;   // full feature receives
    std::uint32_t max_recv_data_ = kLoginRecvData;
    std::uint32_t posted_recvs_ = 0;
    std::unique_ptr<WorkRequests> wrs_;
    DeferAnchor* anchor_ = nullptr;

    bool no_inline_ = false, signal_all_ = false, no_batch_ = false, no_windows_ = false;  // ISER_SEND_TUNING
    bool use_windows_ = false;             // the device binds type 2 windows (create_resources)
    ExtraWrBudget window_wrs_;             // binds and invalidates on the send queue
    std::deque<Window*> waiting_invalidates_;  // no send-queue room yet; posted before any Send
    ibv_send_wr* chain_head_ = nullptr;    // work requests waiting for the next ibv_post_send
    ibv_send_wr* chain_tail_ = nullptr;
    bool cq_armed_ = false;
    bool polling_ = false;
    std::chrono::steady_clock::time_point poll_until_{};

    RegionTable io_regions_;  // add_io_memory() regions (registered when the PD exists)
};

}  // namespace iser::datamover
