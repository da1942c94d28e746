// A scripted iSCSI target for the session unit tests, reached through a FakeDatamover.
//
// The session's PDUs arrive through Datamover::send_pdu/send_command; the target decodes them
// with the pdu decoders, checks them against the protocol (every breach is recorded in
// `violations`), runs SCSI commands on memory LUNs and answers with encoded target PDUs through
// Events::on_pdu. Every answer is deferred through the EventLoop, so none comes from inside a
// send call. Two transports: TCP-like (R2T, Data-Out, Data-In placed through
// Events::data_in_placement) and iSER-like (target_moves_data: reads are "RDMA-written" with
// memcpy into the command's buffer, writes "RDMA-read" from it, no Data PDUs at all).
#pragma once
#include <cstdint>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "initiator/datamover/datamover.hpp"
#include "initiator/login/text.hpp"
#include "initiator/pdu/pdu.hpp"

namespace fake {

using iser::Bytes;

struct FakeLun {
    std::uint8_t device_type = 0x00;  // 0x0c: storage array controller
    std::uint32_t block_size = 512;
    std::uint64_t blocks = 8192;       // 4 MiB
    bool write_cache = true;           // caching page WCE
    bool dpofua = true;                // MODE SENSE header DPOFUA
    bool thin = true;                  // LBPME + VPD B2 LBPU + B0 unmap limits
    std::uint32_t max_transfer_blocks = 0;  // VPD B0; 0 = no limit
    std::uint32_t max_unmap_lba_count = 2048;
    std::string serial = "FAKE0001";
    std::vector<std::uint8_t> data;    // sized on first use
};

struct TargetOptions {
    bool target_moves_data = false;  // iSER-like
    // Login answers.
    bool immediate_data = true;
    bool initial_r2t = true;
    std::uint32_t first_burst_length = 65536;
    std::uint32_t max_burst_length = 262144;
    std::uint32_t max_recv_data_segment_length = 8192;  // declared by the target (TargetRecvDSL on iSER)
    std::optional<std::pair<std::uint8_t, std::uint8_t>> login_failure;  // status class, detail
    bool connect_fails = false;
    std::uint16_t tsih = 0x0102;
    std::uint32_t login_statsn = 1000;   // StatSN of the first login response
    // Full feature phase.
    std::uint32_t window = 64;       // commands the target accepts in flight (MaxCmdSN - ExpCmdSN + 1)
    std::uint32_t data_in_size = 0;  // Data-In PDU payload; 0 = the initiator's MaxRecvDataSegmentLength
    bool phase_collapse = true;      // status in the last Data-In for a GOOD read
    bool hold_commands = false;      // keep complete commands until release()
    bool answer_pings = true;        // answer the initiator's NOP-Out pings
    bool answer_logout = true;
    // Read NOP-Out data segments from the loop, after send_pdu returned, as a congested socket
    // does (TCP keeps the span queued until writev takes it).
    bool read_nop_data_later = false;
    // Task management: answer ABORT TASK / LOGICAL UNIT RESET at all, and with what.
    bool answer_abort = true;
    std::optional<std::uint8_t> abort_response;  // default: 0 if the task exists, else 1
    bool answer_lun_reset = true;
    std::uint8_t lun_reset_response = 0;
    std::vector<std::string> refuse_portals;  // "host:port" whose connects fail
};

struct Injection {
    std::optional<std::uint8_t> opcode;  // CDB opcode to match; any when empty
    // Drop: the command is received and never answered (until a TMF or a disconnect ends it).
    enum class Kind { Status, Reject, Drop } kind = Kind::Status;
    std::uint8_t status = 0x02;          // CHECK CONDITION, BUSY (0x08), TASK SET FULL (0x28)
    std::uint8_t key = 0, asc = 0, ascq = 0;  // sense for CHECK CONDITION
    int times = 1;
};

struct CommandRecord {
    iser::pdu::ScsiCommand cmd;
    std::uint32_t immediate = 0;      // data segment of the command PDU
    std::uint32_t payload_immediate = 0;  // CommandPayload::immediate_bytes
    std::uint32_t outstanding_at_arrival = 0;
    std::size_t ended_before = 0;     // ended_commands.size() when it was sent
};

struct DataOutRecord {
    iser::pdu::DataOut pdu;
};

struct R2TRecord {
    std::uint32_t itt, ttt, offset, length;
};

struct NopOutRecord {
    iser::pdu::NopOut pdu;
    std::vector<std::uint8_t> data;
};

class FakeTarget {
public:
    explicit FakeTarget(TargetOptions options = {});
    ~FakeTarget();

    TargetOptions options;
    std::map<std::uint32_t, FakeLun> luns;  // LUN 0 is a disk unless the test changes it
    std::deque<Injection> injections;

    // What the target saw.
    std::vector<CommandRecord> commands;
    std::vector<std::uint32_t> ended_commands;  // Datamover::end_command() ITTs, in order
    std::vector<DataOutRecord> data_outs;
    std::vector<R2TRecord> r2ts;
    std::vector<NopOutRecord> nop_outs;
    std::vector<iser::pdu::LoginRequest> login_requests;
    std::map<std::string, std::string> login_keys;  // operational keys the initiator offered
    std::vector<iser::pdu::LogoutRequest> logout_requests;
    std::vector<iser::pdu::TaskMgmtRequest> tmf_requests;
    std::vector<std::string> connects;  // "host:port" of every connect()
    std::vector<std::chrono::steady_clock::time_point> connect_times;
    int logins = 0;                     // logins that reached the full feature phase
    std::vector<std::vector<std::uint8_t>> unmap_lists;  // UNMAP parameter lists received
    std::vector<std::vector<std::uint8_t>> write_same_blocks;  // WRITE SAME data blocks received
    std::vector<std::string> violations;
    std::uint32_t max_outstanding = 0;   // most commands received and not yet answered
    std::uint32_t statsn_sent = 0;       // StatSN of the last status-bearing PDU
    int closes = 0;                      // Datamover::close() calls
    int io_allocations = 0;

    // Scripted target behaviour (answers are deferred through the loop).
    void ping(std::uint32_t ttt, std::vector<std::uint8_t> data);  // NOP-In asking for an answer
    void set_window(std::uint32_t window);                           // announced with a NOP-In
    void release(std::size_t n = SIZE_MAX);                          // run held commands
    void request_logout();                                           // Async Message event 1
    void async_event(std::uint8_t event, std::uint16_t param2 = 0, std::uint16_t param3 = 0);
    void disconnect();                                               // connection lost
    void send_garbage_response(std::uint32_t itt);                   // SCSI Response for a bogus ITT
    void send_garbage_data_in(std::uint32_t itt, std::uint32_t bytes);  // Data-In with status, ditto
    // Any PDU, exactly as given (the session fuzzer's hostile target). A Data-In's data segment
    // is placed where the session says, as TcpDatamover places it; when the session names no
    // buffer of that size the connection drops, as TcpDatamover drops it.
    void inject(const iser::pdu::Bhs& bhs, std::vector<std::uint8_t> data);
    std::size_t held() const { return held_.size(); }
    std::uint32_t outstanding() const { return std::uint32_t(pending_.size()); }
    bool connected() const { return events_ != nullptr; }
    FakeLun& lun(std::uint32_t n);

    // ---- used by FakeDatamover
    void attach(iser::EventLoop& loop, iser::datamover::Events& events);
    void detach();
    void connect(const std::string& host, std::uint16_t port);
    iser::Status send_pdu(const iser::pdu::Bhs& bhs, Bytes data);
    iser::Status send_command(const iser::pdu::Bhs& bhs, const iser::datamover::CommandPayload& payload);
    iser::Status enter_full_feature(const iser::datamover::FeatureParams& params);
    std::uint32_t max_immediate_bytes() const { return feature_.max_send_data_segment; }
    iser::Status add_io_memory(const iser::IoMemory& memory);
    void close();

private:
    struct Pending {
        iser::pdu::ScsiCommand cmd;
        iser::datamover::CommandPayload payload;
        std::vector<std::uint8_t> data;     // write data as assembled
        std::vector<std::uint8_t> covered;  // 1 per byte received
        std::uint32_t received = 0;
        std::uint32_t unsolicited = 0;      // immediate + unsolicited Data-Out bytes
        bool unsolicited_open = false;      // unsolicited Data-Out expected
        std::uint32_t next_solicit = 0;     // next offset to ask for with an R2T
        std::uint32_t r2t_ttt = iser::pdu::kReservedTag, r2t_offset = 0, r2t_end = 0, r2t_datasn = 0;
        std::uint32_t r2tsn = 0;
        std::uint32_t unsolicited_datasn = 0;
    };
    struct ScsiResult {
        std::uint8_t status = 0;
        std::vector<std::uint8_t> data;   // read data
        std::vector<std::uint8_t> sense;  // fixed-format sense
    };

    void later(std::function<void()> fn);
    void deliver(const iser::pdu::Bhs& bhs, std::vector<std::uint8_t> data);
    void deliver_data_in(const iser::pdu::Bhs& bhs, Bytes payload);
    void violation(std::string what);
    std::uint32_t maxcmdsn() const { return answered_base_ + options.window - 1; }
    std::uint32_t next_statsn() { return statsn_sent = statsn_++; }

    void on_login(const iser::pdu::Bhs& bhs, Bytes data);
    void on_data_out(const iser::pdu::Bhs& bhs, Bytes data);
    void on_nop_out(const iser::pdu::Bhs& bhs, Bytes data);
    void on_logout(const iser::pdu::Bhs& bhs);
    void on_task_mgmt(const iser::pdu::Bhs& bhs);
    void check_cmdsn(std::uint32_t cmdsn, bool immediate, const char* what);
    void check_expstatsn(std::uint32_t expstatsn, const char* what);
    void data_complete_or_solicit(std::uint32_t itt);
    void ready(std::uint32_t itt);
    void execute(std::uint32_t itt);
    ScsiResult run_scsi(const iser::pdu::ScsiCommand& cmd, Bytes write_data);
    void respond(Pending& p, const ScsiResult& r);
    void finish_command(std::uint32_t itt);

    iser::EventLoop* loop_ = nullptr;
    iser::datamover::Events* events_ = nullptr;
    std::shared_ptr<bool> live_;  // guards deferred answers of the current connection
    iser::datamover::FeatureParams feature_;
    bool full_feature_ = false;
    std::uint32_t initiator_mrdsl_ = 8192;
    std::uint32_t statsn_ = 0;
    std::uint32_t expcmdsn_ = 0;
    std::uint32_t answered_base_ = 0;  // ExpCmdSN-like base: initial CmdSN + commands answered
    std::uint32_t next_ttt_ = 0x100;
    std::map<std::uint32_t, Pending> pending_;
    std::deque<std::uint32_t> held_;
};

class FakeDatamover final : public iser::datamover::Datamover {
public:
    FakeDatamover(FakeTarget& target, iser::EventLoop& loop, iser::datamover::Events& events);
    ~FakeDatamover() override;
    const char* transport_name() const override { return target_.options.target_moves_data ? "fake-iser" : "fake-tcp"; }
    void connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) override;
    bool target_moves_data() const override { return target_.options.target_moves_data; }
    std::uint32_t max_immediate_bytes() const override { return target_.max_immediate_bytes(); }
    // send_pdu's data is valid only during the call (the datamover copies what it queues): the
    // fake hands the target a copy that dies with the call's deferred work, never the caller's span.
    iser::Status send_pdu(const iser::pdu::Bhs& bhs, Bytes data) override;
    iser::Status send_data_out(const iser::pdu::Bhs& bhs, Bytes data) override { return target_.send_pdu(bhs, data); }
    iser::Status send_command(const iser::pdu::Bhs& bhs, const iser::datamover::CommandPayload& p) override {
        return target_.send_command(bhs, p);
    }
    void end_command(std::uint32_t itt) override { target_.ended_commands.push_back(itt); }
    iser::Status enter_full_feature(const iser::datamover::FeatureParams& params) override {
        return target_.enter_full_feature(params);
    }
    iser::Status add_io_memory(const iser::IoMemory& memory) override { return target_.add_io_memory(memory); }
    void close() override { target_.close(); }

private:
    FakeTarget& target_;
    std::deque<std::vector<std::uint8_t>> copies_;  // the last control PDUs' data, as queued
};

// A target's answer to the operational keys an initiator offered, as TargetOptions say.
iser::login::KeyValues answer_operational_keys(const iser::login::KeyValues& offered, const TargetOptions& options);

// Fixed-format sense data (SPC-5 §4.4.3), 18 bytes.
std::vector<std::uint8_t> fixed_sense(std::uint8_t key, std::uint8_t asc, std::uint8_t ascq);

}  // namespace fake
