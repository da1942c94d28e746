// An iSCSI session with one connection (RFC 7143): login, the full feature phase, logout.
// It owns the CmdSN window, the ITT table and the task lifecycle, and talks to the target
// through a Datamover (TCP or iSER). Everything runs on one EventLoop thread: no locks.
#pragma once
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "initiator/datamover/datamover.hpp"
#include "initiator/datamover/io_memory_pool.hpp"
#include "initiator/login/login.hpp"
#include "initiator/session/itt_table.hpp"
#include "initiator/session/scsi_task.hpp"

namespace iser::session {

struct SessionConfig {
    std::string host;
    std::uint16_t port = 3260;
    login::LoginConfig login;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds login_timeout{15000};
    std::chrono::milliseconds logout_timeout{5000};
    std::chrono::milliseconds nop_interval{5000};  // 0 disables the keepalive
    std::chrono::milliseconds nop_timeout{5000};
    std::uint32_t max_tasks = 128;                  // ITT table size: commands in flight
};

using DatamoverFactory =
    std::function<std::unique_ptr<datamover::Datamover>(EventLoop&, Logger&, datamover::Events&)>;

class Session final : private datamover::Events {
public:
    enum class State { Idle, Connecting, LoggingIn, FullFeature, LoggingOut, Closed, Failed };
    using Done = std::function<void(Status)>;
    using TextDone = std::function<void(Result<std::vector<std::uint8_t>>)>;

    Session(EventLoop& loop, Logger& log, SessionConfig config, DatamoverFactory factory);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Connect and log in; `done` runs once on the loop thread.
    void start(Done done);
    // Queue a SCSI command. Completion via task.owner->task_done() later on this thread.
    void submit(ScsiTask& task);
    // A Text Request (e.g. SendTargets=All) in the full feature phase; joins continued responses.
    void text_request(std::string key, std::string value, TextDone done);
    // Waits for in-flight commands, then logs out and closes the connection.
    void logout(Done done);
    // Called once if the session is lost after login (not after logout()), including a logout
    // the target asked for with an Async Message.
    void on_failure(std::function<void(const Error&)> handler) { failure_handler_ = std::move(handler); }

    State state() const { return state_; }
    const login::SessionParams& params() const { return params_; }
    const SessionConfig& config() const { return config_; }
    const char* transport_name() const { return datamover_ ? datamover_->transport_name() : "none"; }
    // Payload memory for tasks: lives as long as the session, usable by every connection it makes.
    Result<IoMemory> allocate_io_memory(std::size_t bytes);
    std::uint32_t tasks_in_flight() const { return tasks_.in_use(); }

private:
    // datamover::Events
    void on_connected() override;
    void on_pdu(const pdu::Bhs& bhs, Bytes data) override;
    MutableBytes data_in_placement(const pdu::Bhs& bhs) override;
    void on_disconnected(const Error& why) override;

    void send_login_pdu(login::LoginPdu pdu);
    void on_login_response(const pdu::Bhs& bhs, Bytes data);
    void enter_full_feature(const login::SessionParams& params);
    void issue_waiting();
    void issue(ScsiTask& task);
    void send_data_out(ScsiTask& task, std::uint32_t ttt, std::uint32_t offset, std::uint32_t length);
    void complete(ScsiTask& task);
    void complete_later(ScsiTask& task, int error);
    void update_window(std::uint32_t expcmdsn, std::uint32_t maxcmdsn);
    void update_statsn(std::uint32_t statsn);
    bool window_open() const { return sn_le(cmdsn_, maxcmdsn_); }
    std::uint32_t next_control_itt() { return 0x80000000u | (control_itt_++ & 0x7fffffffu); }

    void on_scsi_response(const pdu::Bhs& bhs, Bytes data);
    void on_data_in(const pdu::Bhs& bhs, Bytes data);
    void on_r2t(const pdu::Bhs& bhs);
    void on_nop_in(const pdu::Bhs& bhs, Bytes data);
    void on_text_response(const pdu::Bhs& bhs, Bytes data);
    void on_logout_response(const pdu::Bhs& bhs);
    void on_async_message(const pdu::Bhs& bhs, Bytes data);
    void on_reject(const pdu::Bhs& bhs, Bytes data);
    void protocol_error(std::string what);

    void arm_keepalive();
    void send_ping();
    void maybe_send_logout();
    void finish_logout(Status status);
    void fail_everything(const Error& why);

    EventLoop& loop_;
    Logger& log_;
    SessionConfig config_;
    DatamoverFactory factory_;
    datamover::IoMemoryPool io_memory_;  // declared before datamover_: outlives it
    std::unique_ptr<datamover::Datamover> datamover_;
    State state_ = State::Idle;

    // Login.
    std::unique_ptr<login::LoginMachine> login_;
    login::LoginPdu login_pdu_;  // the request in flight (its data must outlive the send)
    Done start_done_;
    EventLoop::TimerId login_timer_ = 0;
    login::SessionParams params_;

    // Full feature phase.
    std::uint32_t cmdsn_ = 0, expcmdsn_ = 0, maxcmdsn_ = 0, expstatsn_ = 0;
    std::uint32_t control_itt_ = 1;
    IttTable<ScsiTask> tasks_;
    ScsiTask* waiting_head_ = nullptr;
    ScsiTask* waiting_tail_ = nullptr;

    // Text exchange (one at a time).
    std::uint32_t text_itt_ = pdu::kReservedTag;
    std::vector<std::uint8_t> text_out_, text_in_;
    TextDone text_done_;

    // Keepalive.
    EventLoop::TimerId nop_timer_ = 0;
    std::uint32_t ping_itt_ = pdu::kReservedTag;
    // Ping data echoed to the target. The datamover may still hold an answer's span after
    // send_pdu() returns (TCP queues it behind other PDUs), so answers rotate over several
    // buffers instead of overwriting the one that may be queued.
    std::array<std::vector<std::uint8_t>, 8> nop_echoes_;
    std::uint32_t nop_echo_next_ = 0;

    // Logout.
    Done logout_done_;
    std::uint32_t logout_itt_ = pdu::kReservedTag;
    EventLoop::TimerId logout_timer_ = 0;
    bool logout_sent_ = false;

    std::function<void(const Error&)> failure_handler_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards deferred callbacks
};

}  // namespace iser::session
