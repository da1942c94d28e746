// Session lifecycle: connect, login, keepalive, logout, failure. The command path is in
// session_io.cpp, reconnection in session_recovery.cpp, task management in session_tmf.cpp.
#include "initiator/session/session.hpp"

#include <cstring>

namespace iser::session {

const char* recovery_event_name(RecoveryEvent event) {
    switch (event) {
        case RecoveryEvent::Reconnecting: return "reconnecting";
        case RecoveryEvent::Reconnected: return "reconnected";
        case RecoveryEvent::ReplacementTimeout: return "replacement timeout";
    }
    return "?";
}

Session::Session(EventLoop& loop, Logger& log, SessionConfig config, DatamoverFactory factory)
    : loop_(loop), log_(log), config_(std::move(config)), factory_(std::move(factory)), tasks_(config_.max_tasks) {
    portals_.push_back({config_.host, config_.port});
    portals_.insert(portals_.end(), config_.portals.begin(), config_.portals.end());
}

Session::~Session() {
    // Tasks still held or in flight are not completed: their owners are going away too. What
    // must not happen is a timer or deferred call reaching this object afterwards.
    *alive_ = false;
    cancel_timers();
    if (datamover_) datamover_->close();
}

void Session::cancel_timers() {
    for (auto* id : {&login_timer_, &nop_timer_, &logout_timer_, &reconnect_timer_, &replacement_timer_,
                     &target_logout_timer_, &sweep_timer_, &text_timer_})
        if (*id) loop_.cancel_timer(std::exchange(*id, 0));
}

void Session::start(Done done) {
    start_done_ = std::move(done);
    datamover_ = factory_(loop_, log_, *this);
    ++connection_gen_;
    for (const IoMemory& m : io_memory_.regions()) {
        if (Status st = datamover_->add_io_memory(m); !st) {
            state_ = State::Failed;
            Error e = st.take_error();
            return loop_.defer([this, e, alive = alive_] {
                if (*alive) start_done_(e);
            });
        }
    }
    state_ = State::Connecting;
    login_timer_ = loop_.add_timer(config_.connect_timeout + config_.login_timeout, [this] {
        login_timer_ = 0;
        drop_connection(make_error(ETIMEDOUT, "login to " + config_.host + " timed out"));
    });
    datamover_->connect(config_.host, config_.port, config_.connect_timeout);
}

void Session::cancel_start(const Error& why) {
    if (!start_done_ || (state_ != State::Connecting && state_ != State::LoggingIn)) return;
    drop_connection(why);
}

Result<IoSlicePool*> Session::io_pool() {
    if (!io_pool_) {
        // One chunk now, the others as the load asks for them (see io_slice_pool.hpp): a lane of
        // small, shallow I/O pins 4 MiB, not the whole cap.
        const std::size_t chunk = std::min(config_.io_memory_bytes, kIoPoolChunkBytes);
        auto first = allocate_io_memory(chunk);
        if (!first) return make_error(first.error().code, "I/O memory pool: " + first.error().message);
        io_pool_ = std::make_unique<IoSlicePool>(config_.io_memory_bytes, *first, [this](std::size_t bytes) {
            return grow_io_pool(bytes);
        });
    }
    return io_pool_.get();
}

Result<IoMemory> Session::grow_io_pool(std::size_t bytes) {
    auto mem = io_memory_.allocate(bytes);
    if (!mem) return mem;
    if (datamover_) {
        // A datamover already closed (the session is reconnecting) is not an error: the next
        // one registers every region at start(), and I/O waits for it anyway.
        Status st = datamover_->add_io_memory(*mem);
        if (!st && st.error().code != ENOTCONN) {
            ISER_LOG_WARN(log_, "%s: I/O memory pool stays at its size: %s", config_.host.c_str(), st.error().message.c_str());
            return st.take_error();
        }
    }
    return mem;
}

Result<IoMemory> Session::allocate_io_memory(std::size_t bytes) {
    auto mem = io_memory_.allocate(bytes);
    if (!mem) return mem;
    if (datamover_) ISER_TRY(datamover_->add_io_memory(*mem));
    return mem;
}

void Session::on_connected() {
    if (state_ != State::Reconnecting) state_ = State::LoggingIn;
    login::LoginConfig lc = config_.login;
    lc.itt = next_control_itt();
    // Every login (first or replacement) starts a new session: same ISID, TSIH 0. The target
    // then closes any older session with that ISID (session reinstatement, RFC 7143 §6.3.5).
    lc.tsih = 0;
    cmdsn_ = lc.cmdsn;
    login_ = std::make_unique<login::LoginMachine>(std::move(lc));
    auto first = login_->start();
    if (!first) return drop_connection(first.take_error());
    send_login_pdu(std::move(*first));
}

void Session::send_login_pdu(login::LoginPdu pdu) {
    login_pdu_ = std::move(pdu);
    login_pdu_.header.data_length = std::uint32_t(login_pdu_.data.size());
    auto st = datamover_->send_pdu(pdu::encode(login_pdu_.header), Bytes(login_pdu_.data));
    if (!st) ISER_LOG_DEBUG(log_, "login send failed: %s", st.error().message.c_str());
}

void Session::on_login_response(const pdu::Bhs& bhs, Bytes data) {
    auto resp = pdu::decode_login_response(bhs);
    if (!resp) return protocol_error(resp.error().message);
    auto step = login_->feed(*resp, data);
    if (!step) return drop_connection(step.take_error());
    if (step->next) return send_login_pdu(std::move(*step->next));
    if (step->done) enter_full_feature(*step->done);
}

void Session::enter_full_feature(const login::SessionParams& params) {
    params_ = params;
    datamover::FeatureParams fp;
    fp.header_digest = params.header_digest;
    fp.data_digest = params.data_digest;
    bool iser = params.rdma_extensions;
    fp.max_recv_data_segment = iser ? params.initiator_recv_data_segment_length : params.max_recv_data_segment_length;
    fp.max_send_data_segment = iser ? params.target_recv_data_segment_length : params.max_xmit_data_segment_length;
    fp.queue_depth = config_.max_tasks;
    auto st = datamover_->enter_full_feature(fp);
    if (!st) return drop_connection(st.error());
    expstatsn_ = params.statsn + 1;
    expcmdsn_ = params.expcmdsn;
    maxcmdsn_ = params.maxcmdsn;
    if (login_timer_) loop_.cancel_timer(std::exchange(login_timer_, 0));
    login_.reset();
    state_ = State::FullFeature;
    arm_keepalive();
    arm_sweep();
    if (reconnecting_login_) return reconnected();
    if (start_done_) std::exchange(start_done_, nullptr)(Status{});
}

void Session::arm_keepalive() {
    if (config_.nop_interval.count() == 0 || state_ != State::FullFeature) return;
    nop_timer_ = loop_.add_timer(config_.nop_interval, [this] {
        nop_timer_ = 0;
        send_ping();
    });
}

void Session::send_ping() {
    ping_itt_ = next_control_itt();
    pdu::NopOut nop;
    nop.immediate = true;
    nop.itt = ping_itt_;
    nop.cmdsn = cmdsn_;
    nop.expstatsn = expstatsn_;
    (void)datamover_->send_pdu(pdu::encode(nop), {});
    nop_timer_ = loop_.add_timer(config_.nop_timeout, [this] {
        nop_timer_ = 0;
        drop_connection(make_error(ETIMEDOUT, "target did not answer NOP-Out within " +
                                                  std::to_string(config_.nop_timeout.count()) + " ms"));
    });
}

void Session::logout(Done done) {
    if (state_ == State::Reconnecting) {
        // Nothing to log out of: give up on the held I/O now instead of waiting for a session.
        end_reconnecting(make_error(EIO, "session with " + config_.host + " logged out while reconnecting"));
        loop_.defer([done = std::move(done), alive = alive_] {
            if (*alive) done(Status{});
        });
        return;
    }
    if (state_ == State::LoggingOut && target_logout_) {
        // Already logging out for the target: finish that logout for the caller instead.
        logout_done_ = std::move(done);
        target_logout_ = false;
        if (!logout_timer_)
            logout_timer_ = loop_.add_timer(config_.logout_timeout + config_.nop_timeout, [this] {
                logout_timer_ = 0;
                finish_logout(make_error(ETIMEDOUT, "logout timed out; connection closed"));
            });
        issue_waiting();  // what was held for the new session goes out now; logout waits for it
        maybe_send_logout();
        return;
    }
    if (state_ != State::FullFeature) {
        loop_.defer([done = std::move(done), alive = alive_] {
            if (*alive) done(Status{});
        });
        return;
    }
    state_ = State::LoggingOut;
    logout_done_ = std::move(done);
    logout_timer_ = loop_.add_timer(config_.logout_timeout + config_.nop_timeout, [this] {
        logout_timer_ = 0;
        finish_logout(make_error(ETIMEDOUT, "logout timed out; connection closed"));
    });
    maybe_send_logout();
}

void Session::maybe_send_logout() {
    if (state_ != State::LoggingOut || logout_sent_ || (tasks_.in_use() != 0 && !force_logout_) || text_done_) return;
    // A logout the caller asked for waits for queued commands too; one the target asked for
    // holds them for the replacement session.
    if (waiting_head_ && !target_logout_) return;
    logout_sent_ = true;
    for (auto* id : {&nop_timer_, &target_logout_timer_, &sweep_timer_})
        if (*id) loop_.cancel_timer(std::exchange(*id, 0));
    if (!logout_timer_) {
        logout_timer_ = loop_.add_timer(config_.logout_timeout, [this] {
            logout_timer_ = 0;
            finish_logout(make_error(ETIMEDOUT, "logout timed out; connection closed"));
        });
    }
    pdu::LogoutRequest req;
    req.immediate = true;
    req.reason = 0;  // close the session
    req.itt = logout_itt_ = next_control_itt();
    req.cid = config_.login.cid;
    req.cmdsn = cmdsn_;
    req.expstatsn = expstatsn_;
    auto st = datamover_->send_pdu(pdu::encode(req), {});
    if (!st) finish_logout(st.take_error());
}

void Session::on_logout_response(const pdu::Bhs& bhs) {
    auto resp = pdu::decode_logout_response(bhs);
    if (!resp) return protocol_error(resp.error().message);
    update_statsn(resp->statsn);
    if (resp->itt != logout_itt_) return;
    finish_logout(resp->response == 0 ? Status{}
                                      : Status(make_error(EIO, "target refused logout (response " +
                                                                   std::to_string(resp->response) + ")")));
}

void Session::finish_logout(Status status) {
    if (state_ != State::LoggingOut) return;
    for (auto* id : {&logout_timer_, &nop_timer_, &target_logout_timer_})
        if (*id) loop_.cancel_timer(std::exchange(*id, 0));
    if (target_logout_ && !logout_done_ && recovery_enabled()) {
        // The target wanted this session gone; the I/O still belongs to a session: log in again.
        return connection_lost(make_error(ECONNRESET, "target " + config_.host + " requested logout" +
                                                          (status ? "" : ": " + status.error().message)),
                               std::chrono::milliseconds(0));
    }
    state_ = State::Closed;
    cancel_timers();
    datamover_->close();
    // A logout that timed out can leave commands the target never answered (in flight or
    // still queued for the window): their owners must hear of them exactly once.
    if (!status) fail_everything(status.error());
    // Held for a new session during a logout the target asked for, which the owner then made
    // final with logout(): there will be no new session.
    else if (waiting_head_ || tasks_.in_use()) fail_everything(make_error(EIO, "session closed by logout"));
    if (logout_done_) {
        std::exchange(logout_done_, nullptr)(std::move(status));
    } else if (failure_handler_) {
        // The target asked for this logout (Async Message): for the owner the session is lost.
        failure_handler_(make_error(ECONNRESET, "target " + config_.host + " requested logout; session closed" +
                                                    (status ? "" : ": " + status.error().message)));
    }
}

void Session::protocol_error(std::string what) {
    Error e = make_error(EPROTO, "protocol error from target: " + what);
    ISER_LOG_ERROR(log_, "%s:%u: %s", current_portal().host.c_str(), current_portal().port, e.message.c_str());
    drop_connection(e);
}

void Session::drop_connection(const Error& why) {
    if (datamover_) datamover_->close();
    on_disconnected(why);
}

void Session::on_disconnected(const Error& why) {
    // Deferred: the datamover may report a failure from inside submit()/send, and task owners
    // must never be called back from inside submit(). Only the first report about a connection
    // counts (the session may both close it and hear from it).
    loop_.defer([this, why, gen = connection_gen_, alive = alive_] {
        if (!*alive || gen != connection_gen_) return;
        ++connection_gen_;
        if (state_ == State::Closed || state_ == State::Failed) return;
        if (state_ == State::Reconnecting) return reconnect_failed(why);
        if (recovery_enabled() && (state_ == State::FullFeature || (state_ == State::LoggingOut && !logout_done_)))
            return connection_lost(why, std::chrono::milliseconds(0));
        State was = state_;
        state_ = State::Failed;
        cancel_timers();
        login_.reset();
        Error err = why;
        if (was == State::Connecting)
            err.message = "cannot connect to " + config_.host + ":" + std::to_string(config_.port) + ": " + why.message;
        fail_everything(err);
        if (start_done_) std::exchange(start_done_, nullptr)(err);
        if (logout_done_) {
            // The target dropped the connection while we logged out: the session is over anyway.
            std::exchange(logout_done_, nullptr)(Status{});
            return;
        }
        // LoggingOut without logout_done_: a logout the target asked for, cut short.
        if ((was == State::FullFeature || was == State::LoggingOut) && failure_handler_) failure_handler_(err);
    });
}

void Session::fail_everything(const Error& why) {
    std::vector<ScsiTask*> victims;
    tasks_.for_each([&](ScsiTask* t) { victims.push_back(t); });
    for (auto* t : victims) {
        take_task(t->itt);
        t->error = why.code ? why.code : EIO;
        if (t->error == EIO) ++stats_.tasks_failed_eio;
        complete(*t);
    }
    while (waiting_head_) {
        ScsiTask* t = waiting_head_;
        waiting_head_ = t->next;
        if (!waiting_head_) waiting_tail_ = nullptr;
        t->next = nullptr;
        t->error = why.code ? why.code : EIO;
        if (t->error == EIO) ++stats_.tasks_failed_eio;
        complete(*t);
    }
    waiting_tail_ = nullptr;
    if (text_done_) finish_text(why);
}

}  // namespace iser::session
