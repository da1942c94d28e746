// iSER (RFC 7145) over rdma_cm and libibverbs: every iSCSI PDU is an RDMA Send of
// [28-byte iSER header][48-byte BHS][data]; SCSI data never passes through this code: the
// target RDMA-Writes READ data into, and RDMA-Reads WRITE data from, the task buffers, which
// live in memory registered once by add_io_memory().
//
// One event channel (rdma_cm) and one completion channel (send + receive CQ) on the session's
// EventLoop. Sends use a fixed pool of registered buffers (iSER header + BHS + small control
// data); a SCSI Command's immediate data rides in the same Send as a second SGE pointing into
// the task buffer (zero copy). When every send buffer is in use, sends wait in FIFO order.
//
// Sizing: the QP is created before login, when the session's queue depth is not known yet, so it
// is sized for kMaxCommands commands plus kControlSlack control PDUs; enter_full_feature() clamps
// a larger queue depth to that (more commands simply wait for a send buffer, and the target's
// answers for a receive: rnr_retry 7 makes that a delay, never an error).
//
// Busy polling: ISER_BUSY_POLL_US=N in the environment (or the constructor flag) keeps polling
// the CQ for up to N microseconds after it runs dry before going back to epoll.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "initiator/datamover/datamover.hpp"
#include "initiator/datamover/iser/iser_wire.hpp"
#include "initiator/datamover/iser/region_table.hpp"

struct rdma_event_channel;
struct rdma_cm_id;
struct rdma_cm_event;
struct ibv_pd;
struct ibv_cq;
struct ibv_comp_channel;
struct ibv_mr;
struct ibv_wc;

namespace iser::datamover {

class IserDatamover final : public Datamover {
public:
    static constexpr std::uint32_t kMaxCommands = 128;
    static constexpr std::uint32_t kControlSlack = 16;  // NOP-In/Out, Async, Reject, Text, Logout, TMF
    static constexpr std::uint32_t kMaxControlData = 8192;  // data of a non-SCSI-Command PDU we send
    static constexpr std::uint32_t kLoginRecvData = 8192;

    IserDatamover(EventLoop& loop, Logger& log, Events& events);
    IserDatamover(EventLoop& loop, Logger& log, Events& events, std::uint32_t busy_poll_us);
    ~IserDatamover() override;

    const char* transport_name() const override { return "iser"; }
    void connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) override;
    bool target_moves_data() const override { return true; }
    std::uint32_t max_immediate_bytes() const override { return params_.max_send_data_segment; }
    Status send_pdu(const pdu::Bhs& bhs, Bytes data) override;
    Status send_command(const pdu::Bhs& bhs, const CommandPayload& payload) override;
    Status enter_full_feature(const FeatureParams& params) override;
    Status add_io_memory(const IoMemory& memory) override;
    void close() override;

private:
    // A PDU waiting for a send buffer.
    struct PendingSend {
        pdu::IserHeader iser;
        pdu::Bhs bhs;
        Bytes data;                          // control data, copied into the send buffer
        const std::uint8_t* immediate = nullptr;  // SCSI immediate data: second SGE, not copied
        std::uint32_t immediate_bytes = 0;
        std::uint32_t immediate_lkey = 0;
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
    bool drain_cq();
    bool handle_completion(const ibv_wc& wc);
    bool post_send(const PendingSend& send);
    void flush_pending();
    bool post_receive(const SlotPool& pool, std::uint32_t index, std::uint32_t kind);
    bool register_pool(SlotPool& pool, std::uint32_t count, std::size_t slot_bytes, const char* what);
    Result<ibv_mr*> register_memory(std::uint8_t* base, std::size_t size, const char* what);
    void busy_poll();

    // Teardown (iser_connect.cpp).
    void fail(Error why);
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

    SlotPool send_pool_;
    std::vector<std::uint32_t> free_sends_;
    std::deque<PendingSend> pending_;
    SlotPool login_pool_;  // one Login Response buffer
    bool login_recv_posted_ = false;
    SlotPool recv_pool_;   // full feature receives
    std::uint32_t max_recv_data_ = kLoginRecvData;
    std::uint32_t posted_sends_ = 0, posted_recvs_ = 0;

    RegionTable io_regions_;  // add_io_memory() regions (registered when the PD exists)
};

}  // namespace iser::datamover
