// An iSCSI session with one connection (RFC 7143): login, the full feature phase, logout, and
// recovery. It owns the CmdSN window, the ITT table and the task lifecycle, and talks to the
// target through a Datamover (TCP or iSER). Everything runs on one EventLoop thread: no locks.
//
// Recovery (replacement_timeout > 0): a command older than command_timeout is aborted with
// ABORT TASK and reissued; a failed abort escalates to LOGICAL UNIT RESET, a failed reset to
// dropping the connection. A lost connection (after the first login) does not fail tasks: the
// session reconnects with backoff, rotating through the portals, logs in again with the same
// ISID and TSIH 0 (session reinstatement, RFC 7143 §6.3.5) and reissues every outstanding task
// in its original submission order, then the ones queued meanwhile. Only when no new session
// exists after replacement_timeout are held and new tasks failed with EIO (reconnecting goes on
// in the background; new I/O works again once it succeeds). session_recovery.cpp and
// session_tmf.cpp hold that machinery.
#pragma once
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/io_slice_pool.hpp"
#include "common/log.hpp"
#include "common/log_rate_limit.hpp"
#include "initiator/datamover/datamover.hpp"
#include "initiator/datamover/io_memory_pool.hpp"
#include "initiator/login/login.hpp"
#include "initiator/session/itt_table.hpp"
#include "initiator/session/scsi_task.hpp"

namespace iser::session {

struct Portal {
    std::string host;
    std::uint16_t port = 3260;
};

struct SessionConfig {
    std::string host;
    std::uint16_t port = 3260;
    // Further portals of the same target: reconnects rotate through host:port, then these.
    std::vector<Portal> portals;
    login::LoginConfig login;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds login_timeout{15000};
    std::chrono::milliseconds logout_timeout{5000};
    // A Text exchange (SendTargets) that has not ended by then fails with ETIMEDOUT; the
    // target's late answer to it is ignored.
    std::chrono::milliseconds text_timeout{15000};
    std::chrono::milliseconds nop_interval{5000};  // 0 disables the keepalive
    std::chrono::milliseconds nop_timeout{5000};   // an unanswered ping drops the connection
    // A command older than this is aborted (ABORT TASK) and reissued; 0 disables.
    std::chrono::milliseconds command_timeout{30000};
    // How long an ABORT TASK or LOGICAL UNIT RESET may take before escalating.
    std::chrono::milliseconds abort_timeout{10000};
    // How long I/O is held while reconnecting before it fails with EIO. 0 disables recovery:
    // a lost connection fails every task at once and calls on_failure().
    std::chrono::milliseconds replacement_timeout{120000};
    // Reconnect backoff: first delay, doubled per failed attempt up to the maximum; never
    // shorter than the negotiated DefaultTime2Wait.
    std::chrono::milliseconds reconnect_delay_first{1000};
    std::chrono::milliseconds reconnect_delay_max{30000};
    std::uint32_t max_tasks = 128;                  // ITT table size: commands in flight
    // The cap of io_pool(): payload memory shared by every LUN and frontend of this session.
    std::size_t io_memory_bytes = std::size_t(32) << 20;
};

// Counters for the daemon; read on the loop thread.
struct SessionStats {
    std::uint64_t reconnects = 0;        // replacement sessions logged in
    std::uint64_t reconnect_attempts = 0;
    std::uint64_t command_timeouts = 0;  // commands older than command_timeout
    std::uint64_t aborts = 0;            // ABORT TASK requests sent
    std::uint64_t lun_resets = 0;        // LOGICAL UNIT RESET requests sent
    std::uint64_t retries = 0;           // commands reissued after an abort or a LUN reset
    std::uint64_t tasks_failed_eio = 0;  // tasks the session gave up on (EIO)
    std::uint64_t late_answers = 0;      // answers for commands already aborted and reissued, ignored
};

enum class RecoveryEvent {
    Reconnecting,        // connection lost; I/O held (Error: why)
    Reconnected,         // a replacement session is in the full feature phase (no Error)
    ReplacementTimeout,  // no session within replacement_timeout; I/O fails with EIO (Error: last failure)
};
const char* recovery_event_name(RecoveryEvent event);

using DatamoverFactory =
    std::function<std::unique_ptr<datamover::Datamover>(EventLoop&, Logger&, datamover::Events&)>;

class Session final : private datamover::Events {
public:
    enum class State { Idle, Connecting, LoggingIn, FullFeature, LoggingOut, Reconnecting, Closed, Failed };
    using Done = std::function<void(Status)>;
    using TextDone = std::function<void(Result<std::vector<std::uint8_t>>)>;

    Session(EventLoop& loop, Logger& log, SessionConfig config, DatamoverFactory factory);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Connect and log in; `done` runs once on the loop thread. The first login is not retried:
    // its failure ends in done(error). Recovery starts once the session has logged in.
    void start(Done done);
    // Ends a start() still connecting or logging in: its `done` gets `why`. Nothing otherwise.
    void cancel_start(const Error& why);
    // Queue a SCSI command. Completion via task.owner->task_done() later on this thread.
    // While reconnecting the task is held; after the replacement timeout it fails with EIO.
    void submit(ScsiTask& task);
    // A Text Request (e.g. SendTargets=All) in the full feature phase; joins continued responses.
    // Bounded: it waits for the CmdSN window, ends within config().text_timeout, and a target
    // that keeps continuing (more than kMaxTextResponses PDUs, or 1 MiB) drops the connection.
    void text_request(std::string key, std::string value, TextDone done);
    static constexpr std::uint32_t kMaxTextResponses = 256;
    // The longest wait before a reconnect that a target's DefaultTime2Wait (negotiated up to
    // 3600 s) or an Async Message's Time2Wait can impose: beyond it, I/O held for the
    // replacement session would wait on the target's say-so alone.
    static constexpr std::chrono::seconds kMaxTime2Wait{30};
    // Waits for in-flight commands, then logs out and closes the connection. While
    // reconnecting it ends at once: held tasks fail with EIO, then `done` runs.
    void logout(Done done);
    // The session can no longer carry I/O. With recovery (replacement_timeout > 0): called on
    // each replacement timeout (held and new tasks now fail with EIO while reconnecting goes
    // on). Without recovery: called once when the session is lost after login (not after
    // logout()), including a logout the target asked for with an Async Message.
    void on_failure(std::function<void(const Error&)> handler) { failure_handler_ = std::move(handler); }
    // Recovery progress: Reconnecting, Reconnected, ReplacementTimeout (see RecoveryEvent).
    void on_recovery(std::function<void(RecoveryEvent, const Error*)> handler) { recovery_handler_ = std::move(handler); }
    const SessionStats& stats() const { return stats_; }

    State state() const { return state_; }
    const login::SessionParams& params() const { return params_; }
    const SessionConfig& config() const { return config_; }
    const char* transport_name() const { return datamover_ ? datamover_->transport_name() : "none"; }
    // Payload memory for tasks: lives as long as the session, usable by every connection it makes.
    Result<IoMemory> allocate_io_memory(std::size_t bytes);
    static constexpr std::size_t kIoPoolChunkBytes = 4u << 20;  // io_pool() grows by this much
    // The bounded pool requests take their payload from (up to config().io_memory_bytes, in
    // chunks made as the load needs them, each registered once per connection). Made on first use.
    Result<IoSlicePool*> io_pool();
    // The pool if a request made it already, else nullptr (statistics must not make one).
    const IoSlicePool* io_pool_if_made() const { return io_pool_.get(); }
    // Commands the target holds (sent, not answered).
    std::uint32_t tasks_in_flight() const { return tasks_.in_use(); }
    // Commands accepted but not sent: waiting for the CmdSN window, or held while reconnecting.
    std::uint32_t tasks_waiting() const {
        std::uint32_t n = 0;
        for (const ScsiTask* t = waiting_head_; t; t = t->next) ++n;
        return n;
    }

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
    Result<IoMemory> grow_io_pool(std::size_t bytes);  // a new chunk for io_pool()
    // False (and the connection dropped) when the target acknowledges commands never sent.
    [[nodiscard]] bool update_window(std::uint32_t expcmdsn, std::uint32_t maxcmdsn);
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
    void reset_results(ScsiTask& task);
    void drop_connection(const Error& why);  // close the datamover, then recover or fail

    // Recovery (session_recovery.cpp).
    bool recovery_enabled() const { return config_.replacement_timeout.count() > 0; }
    void connection_lost(const Error& why, std::chrono::milliseconds min_wait);
    void hold_outstanding();
    void requeue(ScsiTask& task);
    void schedule_reconnect(std::chrono::milliseconds min_wait);
    void reconnect_attempt();
    void reconnect_failed(const Error& why);
    void reconnected();
    void replacement_timeout();
    void end_reconnecting(const Error& why);
    void cancel_timers();
    void on_target_logout_request(const pdu::AsyncMessage& msg);
    const Portal& current_portal() const;
    void recovery_event(RecoveryEvent event, const Error* why);

    // Task management (session_tmf.cpp).
    void arm_sweep();
    void sweep();
    void send_abort_task(ScsiTask& task);
    void send_lun_reset(std::uint32_t lun);
    void on_task_mgmt_response(const pdu::Bhs& bhs);
    void reissue(ScsiTask& task);
    void give_up(ScsiTask& task, const char* why);

    EventLoop& loop_;
    Logger& log_;
    SessionConfig config_;
    DatamoverFactory factory_;
    datamover::IoMemoryPool io_memory_;  // declared before datamover_: outlives it
    std::unique_ptr<IoSlicePool> io_pool_;  // carves one region of io_memory_
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
    void send_text_if_window();
    void finish_text(Result<std::vector<std::uint8_t>> result);
    std::uint32_t text_itt_ = pdu::kReservedTag;
    std::uint32_t text_abandoned_itt_ = pdu::kReservedTag;  // timed out: a late answer is ignored
    bool text_unsent_ = false;            // waiting for the CmdSN window
    std::uint32_t text_ttt_ = pdu::kReservedTag;  // the TTT the next (continuation) request carries
    std::vector<std::uint8_t> text_out_, text_in_;
    std::uint32_t text_responses_ = 0;
    EventLoop::TimerId text_timer_ = 0;
    TextDone text_done_;

    // Keepalive.
    EventLoop::TimerId nop_timer_ = 0;
    std::uint32_t ping_itt_ = pdu::kReservedTag;

    // Logout.
    Done logout_done_;
    std::uint32_t logout_itt_ = pdu::kReservedTag;
    EventLoop::TimerId logout_timer_ = 0;
    bool logout_sent_ = false;

    // Recovery.
    std::vector<Portal> portals_;      // host:port, then config_.portals
    std::size_t portal_index_ = 0;
    std::uint64_t connection_gen_ = 0;  // bumps per datamover: stale disconnects are ignored
    bool reconnecting_login_ = false;   // the login in progress replaces a lost session
    bool io_failing_ = false;           // replacement timeout passed: tasks fail with EIO
    bool target_logout_ = false;        // logging out because the target asked
    bool force_logout_ = false;         // ... and its deadline passed: do not wait for commands
    std::chrono::milliseconds backoff_{0};
    std::chrono::milliseconds extra_wait_{0};  // Time2Wait from an Async Message
    EventLoop::TimerId reconnect_timer_ = 0, replacement_timer_ = 0, target_logout_timer_ = 0;
    std::uint64_t next_seq_ = 0;

    // Task management.
    struct Tmf {
        std::uint32_t itt = 0;
        std::uint8_t function = 0;  // 1 ABORT TASK, 5 LOGICAL UNIT RESET
        std::uint32_t lun = 0;
        std::uint32_t referenced_itt = pdu::kReservedTag;
        std::chrono::steady_clock::time_point deadline;
    };
    std::vector<Tmf> tmfs_;
    EventLoop::TimerId sweep_timer_ = 0;
    // ITTs of commands that ABORT TASK or LOGICAL UNIT RESET retired (the command went again under
    // a new ITT). The target may still answer the old one: LIO 6.12 answers "task does not
    // exist" for a command whose response is queued and then sends that response. Such a late
    // answer is dropped with a warning; taken for a protocol error it would drop the connection,
    // and LIO then hangs on the commands still in its backend. The last kRetiredItts only.
    static constexpr std::size_t kRetiredItts = 64;
    std::vector<std::uint32_t> retired_itts_ = std::vector<std::uint32_t>(kRetiredItts, pdu::kReservedTag);
    std::size_t retired_next_ = 0;
    // The task of `itt` leaves the ITT table (answered, rejected, aborted, or failed with the
    // connection); the datamover withdraws the target's access to its buffer (end_command).
    ScsiTask* take_task(std::uint32_t itt);
    void retire_itt(std::uint32_t itt);
    bool retired(std::uint32_t itt) const;
    bool late_answer_for_retired(std::uint32_t itt, const char* what);
    // Where the data of such a late Data-In (TCP) is read to and dropped; bounded because it
    // is the target's word.
    static constexpr std::uint32_t kMaxDiscardedDataIn = 16u << 20;
    std::vector<std::uint8_t> discarded_data_in_;

    SessionStats stats_;
    std::function<void(RecoveryEvent, const Error*)> recovery_handler_;
    std::function<void(const Error&)> failure_handler_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards deferred callbacks
    LogRateLimit peer_log_limit_{10, std::chrono::seconds(10)};   // Reject and Async Message lines
};

}  // namespace iser::session
