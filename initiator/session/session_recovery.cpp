// Session recovery: a lost connection holds the outstanding tasks, reconnects with backoff
// through the portals, logs in again with the same ISID and TSIH 0 (session reinstatement) and
// reissues the tasks in their submission order. The replacement timeout bounds how long I/O is
// held; after it tasks fail with EIO while reconnecting goes on.
#include <algorithm>
#include <cstring>

#include "initiator/session/session.hpp"

namespace iser::session {

using std::chrono::milliseconds;

const Portal& Session::current_portal() const { return portals_[portal_index_ % portals_.size()]; }

void Session::recovery_event(RecoveryEvent event, const Error* why) {
    if (recovery_handler_) recovery_handler_(event, why);
}

void Session::connection_lost(const Error& why, milliseconds min_wait) {
    const Portal& p = current_portal();
    ISER_LOG_WARN(log_, "%s:%u: connection lost (%s); holding %u commands in flight and %u queued; reconnecting",
                  p.host.c_str(), p.port, why.message.c_str(), tasks_.in_use(), tasks_waiting());
    // The datamover may still be on the stack (an Async Message, a logout response): close it
    // now, destroy it only when the next one is made. Later reports about it are stale.
    if (datamover_) datamover_->close();
    ++connection_gen_;
    for (auto* id : {&login_timer_, &nop_timer_, &logout_timer_, &target_logout_timer_, &sweep_timer_})
        if (*id) loop_.cancel_timer(std::exchange(*id, 0));
    login_.reset();
    tmfs_.clear();
    ping_itt_ = logout_itt_ = pdu::kReservedTag;
    logout_sent_ = false;
    target_logout_ = false;
    force_logout_ = false;
    state_ = State::Reconnecting;
    hold_outstanding();
    if (text_done_) finish_text(why);
    if (!replacement_timer_ && !io_failing_)
        replacement_timer_ = loop_.add_timer(config_.replacement_timeout, [this] {
            replacement_timer_ = 0;
            replacement_timeout();
        });
    backoff_ = io_failing_ ? config_.reconnect_delay_max : config_.reconnect_delay_first;
    schedule_reconnect(min_wait);
    recovery_event(RecoveryEvent::Reconnecting, &why);
}

// Every task the target had (none of them can complete on a closed connection) plus the ones
// queued for the window, as one queue in submission order: a FLUSH or FUA write goes out again
// after the writes submitted before it.
void Session::hold_outstanding() {
    std::vector<ScsiTask*> held;
    tasks_.for_each([&](ScsiTask* t) { held.push_back(t); });
    for (ScsiTask* t : held) {
        take_task(t->itt);
        t->aborting = false;
        reset_results(*t);
    }
    for (ScsiTask* t = waiting_head_; t; t = t->next) held.push_back(t);
    std::stable_sort(held.begin(), held.end(), [](const ScsiTask* a, const ScsiTask* b) { return a->seq < b->seq; });
    waiting_head_ = waiting_tail_ = nullptr;
    for (ScsiTask* t : held) {
        t->next = nullptr;
        (waiting_tail_ ? waiting_tail_->next : waiting_head_) = t;
        waiting_tail_ = t;
    }
}

void Session::requeue(ScsiTask& task) {
    // Into the waiting queue by submission order (reissues of aborted commands go first).
    ScsiTask** link = &waiting_head_;
    while (*link && (*link)->seq < task.seq) link = &(*link)->next;
    task.next = *link;
    *link = &task;
    if (!task.next) waiting_tail_ = &task;
}

void Session::schedule_reconnect(milliseconds min_wait) {
    const milliseconds time2wait = std::min<milliseconds>(std::chrono::seconds(params_.default_time2wait), kMaxTime2Wait);
    const milliseconds delay = std::max({backoff_, time2wait, min_wait});
    if (reconnect_timer_) loop_.cancel_timer(reconnect_timer_);
    reconnect_timer_ = loop_.add_timer(delay, [this] {
        reconnect_timer_ = 0;
        reconnect_attempt();
    });
}

void Session::reconnect_attempt() {
    ++stats_.reconnect_attempts;
    const Portal& p = current_portal();
    ISER_LOG_INFO(log_, "%s:%u: reconnecting to %s", p.host.c_str(), p.port, config_.login.target_name.c_str());
    // One datamover at a time: the old one goes before its replacement exists.
    datamover_.reset();
    datamover_ = factory_(loop_, log_, *this);
    ++connection_gen_;
    for (const IoMemory& m : io_memory_.regions()) {
        if (Status st = datamover_->add_io_memory(m); !st) return drop_connection(st.error());
    }
    reconnecting_login_ = true;
    login_timer_ = loop_.add_timer(config_.connect_timeout + config_.login_timeout, [this] {
        login_timer_ = 0;
        drop_connection(make_error(ETIMEDOUT, "login timed out"));
    });
    datamover_->connect(p.host, p.port, config_.connect_timeout);
}

void Session::reconnect_failed(const Error& why) {
    if (login_timer_) loop_.cancel_timer(std::exchange(login_timer_, 0));
    // The target answered but refused the login (status class 2: not found, authentication,
    // missing parameter...): that needs an operator, though the target may come back configured.
    const bool refused = login_ != nullptr && why.code != ETIMEDOUT && why.code != ECONNRESET;
    login_.reset();
    reconnecting_login_ = false;
    const Portal& p = current_portal();
    backoff_ = std::min(std::max(backoff_ * 2, config_.reconnect_delay_first), config_.reconnect_delay_max);
    // Logged every time, at error level when refused.
    if (refused)
        ISER_LOG_ERROR(log_, "%s:%u: login for %s refused: %s; retrying in %lld ms", p.host.c_str(), p.port,
                       config_.login.target_name.c_str(), why.message.c_str(), (long long)backoff_.count());
    else
        ISER_LOG_WARN(log_, "%s:%u: reconnect failed: %s; retrying in %lld ms", p.host.c_str(), p.port,
                      why.message.c_str(), (long long)backoff_.count());
    portal_index_ = (portal_index_ + 1) % portals_.size();
    schedule_reconnect(milliseconds(0));
}

void Session::reconnected() {
    reconnecting_login_ = false;
    io_failing_ = false;
    if (replacement_timer_) loop_.cancel_timer(std::exchange(replacement_timer_, 0));
    ++stats_.reconnects;
    const Portal& p = current_portal();
    std::uint32_t held = 0;
    for (ScsiTask* t = waiting_head_; t; t = t->next) ++held;
    ISER_LOG_INFO(log_, "%s:%u: session reinstated (TSIH 0x%04x); reissuing %u commands", p.host.c_str(), p.port,
                  params_.tsih, held);
    recovery_event(RecoveryEvent::Reconnected, nullptr);
    issue_waiting();
}

void Session::replacement_timeout() {
    io_failing_ = true;
    backoff_ = config_.reconnect_delay_max;
    Error e = make_error(EIO, "no session with " + config_.login.target_name + " within " +
                                  std::to_string(config_.replacement_timeout.count()) +
                                  " ms; failing I/O while reconnecting");
    ISER_LOG_ERROR(log_, "%s", e.message.c_str());
    // Owners may submit again from task_done(): those fail at once (io_failing_), never queue.
    while (waiting_head_) {
        ScsiTask* t = waiting_head_;
        waiting_head_ = t->next;
        if (!waiting_head_) waiting_tail_ = nullptr;
        t->next = nullptr;
        t->error = EIO;
        ++stats_.tasks_failed_eio;
        complete(*t);
    }
    recovery_event(RecoveryEvent::ReplacementTimeout, &e);
    if (failure_handler_) failure_handler_(e);
}

void Session::end_reconnecting(const Error& why) {
    state_ = State::Closed;
    cancel_timers();
    login_.reset();
    reconnecting_login_ = false;
    if (datamover_) datamover_->close();
    ++connection_gen_;
    fail_everything(why);
}

void Session::on_target_logout_request(const pdu::AsyncMessage& msg) {
    if (state_ != State::FullFeature) return;
    state_ = State::LoggingOut;
    target_logout_ = true;
    // Give the commands in flight part of the time the target allows (Parameter3 seconds, or
    // logout_timeout), then log out anyway: what is still outstanding is reissued on the new
    // session.
    milliseconds allowed = msg.param3 ? milliseconds(std::chrono::seconds(msg.param3)) / 2 : config_.logout_timeout;
    allowed = std::min(allowed, config_.logout_timeout);
    target_logout_timer_ = loop_.add_timer(allowed, [this] {
        target_logout_timer_ = 0;
        if (state_ != State::LoggingOut || logout_sent_) return;
        // Commands still in flight: the logout closes the session; what the target does not
        // answer before it is reissued on the new session.
        force_logout_ = true;
        maybe_send_logout();
    });
    maybe_send_logout();
}

}  // namespace iser::session
