// Session lifecycle: connect, login, keepalive, logout, failure. The command path is in
// session_io.cpp.
#include "initiator/session/session.hpp"

#include <cstring>

namespace iser::session {

Session::Session(EventLoop& loop, Logger& log, SessionConfig config, DatamoverFactory factory)
    : loop_(loop), log_(log), config_(std::move(config)), factory_(std::move(factory)), tasks_(config_.max_tasks) {}

Session::~Session() {
    *alive_ = false;
    for (auto id : {login_timer_, nop_timer_, logout_timer_})
        if (id) loop_.cancel_timer(id);
    if (datamover_) datamover_->close();
}

void Session::start(Done done) {
    start_done_ = std::move(done);
    datamover_ = factory_(loop_, log_, *this);
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
        Error e = make_error(ETIMEDOUT, "login to " + config_.host + " timed out");
        datamover_->close();
        on_disconnected(e);
    });
    datamover_->connect(config_.host, config_.port, config_.connect_timeout);
}

Result<IoMemory> Session::allocate_io_memory(std::size_t bytes) {
    auto mem = io_memory_.allocate(bytes);
    if (!mem) return mem;
    if (datamover_) ISER_TRY(datamover_->add_io_memory(*mem));
    return mem;
}

void Session::on_connected() {
    state_ = State::LoggingIn;
    login::LoginConfig lc = config_.login;
    lc.itt = next_control_itt();
    cmdsn_ = lc.cmdsn;
    login_ = std::make_unique<login::LoginMachine>(std::move(lc));
    auto first = login_->start();
    if (!first) {
        Error e = first.take_error();
        datamover_->close();
        on_disconnected(e);
        return;
    }
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
    if (!step) {
        Error e = step.take_error();
        datamover_->close();
        on_disconnected(e);
        return;
    }
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
    if (!st) {
        datamover_->close();
        on_disconnected(st.error());
        return;
    }
    expstatsn_ = params.statsn + 1;
    expcmdsn_ = params.expcmdsn;
    maxcmdsn_ = params.maxcmdsn;
    if (login_timer_) loop_.cancel_timer(std::exchange(login_timer_, 0));
    login_.reset();
    state_ = State::FullFeature;
    arm_keepalive();
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
        Error e = make_error(ETIMEDOUT, "target did not answer NOP-Out within " +
                                            std::to_string(config_.nop_timeout.count()) + " ms");
        datamover_->close();
        on_disconnected(e);
    });
}

void Session::logout(Done done) {
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
    if (state_ != State::LoggingOut || logout_sent_ || tasks_.in_use() != 0 || waiting_head_ || text_done_) return;
    logout_sent_ = true;
    if (nop_timer_) loop_.cancel_timer(std::exchange(nop_timer_, 0));
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
    if (state_ == State::Closed) return;
    state_ = State::Closed;
    for (auto* id : {&logout_timer_, &nop_timer_})
        if (*id) loop_.cancel_timer(std::exchange(*id, 0));
    datamover_->close();
    // A logout that timed out can leave commands the target never answered (in flight or
    // still queued for the window): their owners must hear of them exactly once.
    if (!status) fail_everything(status.error());
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
    ISER_LOG_ERROR(log_, "%s:%u: %s", config_.host.c_str(), config_.port, e.message.c_str());
    datamover_->close();
    on_disconnected(e);
}

void Session::on_disconnected(const Error& why) {
    // Deferred: the datamover may report a failure from inside submit()/send, and task owners
    // must never be called back from inside submit().
    loop_.defer([this, why, alive = alive_] {
        if (!*alive) return;
        if (state_ == State::Closed || state_ == State::Failed) return;
        State was = state_;
        state_ = State::Failed;
        for (auto* id : {&login_timer_, &nop_timer_, &logout_timer_})
            if (*id) loop_.cancel_timer(std::exchange(*id, 0));
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
        tasks_.remove(t->itt);
        t->error = why.code ? why.code : EIO;
        complete(*t);
    }
    while (waiting_head_) {
        ScsiTask* t = waiting_head_;
        waiting_head_ = t->next;
        t->next = nullptr;
        t->error = why.code ? why.code : EIO;
        complete(*t);
    }
    waiting_tail_ = nullptr;
    if (text_done_) std::exchange(text_done_, nullptr)(why);
}

}  // namespace iser::session
