// The command path of a Session: CmdSN window, ITTs, immediate/unsolicited/solicited write data,
// Data-In placement, SCSI Responses, and the target's other PDUs.
#include <algorithm>
#include <cstring>

#include "initiator/session/session.hpp"

namespace iser::session {
namespace {
std::string suppressed_note(std::uint64_t n) {
    return n ? " (" + std::to_string(n) + " more such lines suppressed)" : std::string();
}
}  // namespace

void Session::reset_results(ScsiTask& task) {
    task.error = 0;
    task.status = 0;
    task.underflow = task.overflow = false;
    task.residual = task.transferred = task.data_out_sent = 0;
    task.sense_length = 0;
    task.next = nullptr;
}

void Session::submit(ScsiTask& task) {
    reset_results(task);
    task.seq = next_seq_++;
    task.retries = 0;
    task.aborting = false;
    if (state_ == State::Reconnecting && io_failing_) {
        ++stats_.tasks_failed_eio;
        complete_later(task, EIO);
        return;
    }
    // Held for the replacement session.
    const bool hold = state_ == State::Reconnecting || (state_ == State::LoggingOut && target_logout_);
    if (state_ != State::FullFeature && !hold) {
        complete_later(task, state_ == State::LoggingOut ? ESHUTDOWN : ENOTCONN);
        return;
    }
    if (hold || waiting_head_ || tasks_.full() || !window_open()) {
        (waiting_tail_ ? waiting_tail_->next : waiting_head_) = &task;
        waiting_tail_ = &task;
        return;
    }
    issue(task);
}

void Session::complete_later(ScsiTask& task, int error) {
    task.error = error;
    ScsiTask* t = &task;
    loop_.defer([this, t, alive = alive_] {
        if (*alive) complete(*t);
    });
}

void Session::complete(ScsiTask& task) { task.owner->task_done(task); }

void Session::issue_waiting() {
    // Commands queued for the window before logout() was called were accepted: they still go
    // out (logout waits for them), but nothing is issued once the Logout Request is sent.
    const bool can_issue =
        state_ == State::FullFeature || (state_ == State::LoggingOut && !logout_sent_ && !target_logout_);
    while (waiting_head_ && !tasks_.full() && window_open() && can_issue) {
        ScsiTask* t = waiting_head_;
        waiting_head_ = t->next;
        if (!waiting_head_) waiting_tail_ = nullptr;
        t->next = nullptr;
        issue(*t);
    }
}

void Session::issue(ScsiTask& task) {
    task.itt = tasks_.insert(&task);
    task.cmdsn = cmdsn_++;
    task.issued_at = std::chrono::steady_clock::now();

    std::uint32_t immediate = 0, unsolicited = 0;
    if (task.write) {
        std::uint32_t first_burst = std::min(task.length, params_.first_burst_length);
        if (params_.immediate_data) immediate = std::min(first_burst, datamover_->max_immediate_bytes());
        // iSER targets RDMA-Read everything after the immediate data: no Data-Out PDUs.
        if (!params_.initial_r2t && !datamover_->target_moves_data()) unsolicited = first_burst - immediate;
    }

    pdu::ScsiCommand cmd;
    cmd.final = unsolicited == 0;
    cmd.read = task.read;
    cmd.write = task.write;
    cmd.task_attr = task.task_attr;
    cmd.lun = pdu::encode_lun(task.lun);
    cmd.itt = task.itt;
    cmd.expected_length = task.length;
    cmd.cmdsn = task.cmdsn;
    cmd.expstatsn = expstatsn_;
    cmd.cdb = task.cdb;
    cmd.data_length = immediate;

    datamover::CommandPayload payload{task.buffer, task.length, task.read, task.write, immediate};
    auto st = datamover_->send_command(pdu::encode(cmd), payload);
    if (!st) return;  // the datamover reports the connection loss; the task fails with it
    task.data_out_sent = immediate;
    task.next_r2tsn = task.next_datasn = 0;        // R2TSNs and DataSNs count per command, from 0
    task.solicited_end = immediate + unsolicited;  // R2Ts ask for what was not sent unasked
    if (unsolicited) send_data_out(task, pdu::kReservedTag, immediate, unsolicited);
}

void Session::send_data_out(ScsiTask& task, std::uint32_t ttt, std::uint32_t offset, std::uint32_t length) {
    std::uint32_t max_pdu = std::max<std::uint32_t>(512, params_.max_xmit_data_segment_length);
    std::uint32_t datasn = 0;
    for (std::uint32_t done = 0; done < length;) {
        std::uint32_t n = std::min(max_pdu, length - done);
        pdu::DataOut out;
        out.final = done + n == length;
        out.lun = pdu::encode_lun(task.lun);
        out.itt = task.itt;
        out.ttt = ttt;
        out.expstatsn = expstatsn_;
        out.datasn = datasn++;
        out.buffer_offset = offset + done;
        out.data_length = n;
        if (!datamover_->send_data_out(pdu::encode(out), Bytes(task.buffer + offset + done, n))) return;
        done += n;
    }
    task.data_out_sent += length;
}

bool Session::update_window(std::uint32_t expcmdsn, std::uint32_t maxcmdsn) {
    // RFC 7143 §4.2.2.1: ignore a window whose MaxCmdSN < ExpCmdSN - 1; otherwise only move forward.
    if (sn_lt(maxcmdsn, expcmdsn - 1)) return true;
    // ExpCmdSN is the next CmdSN the target expects: beyond ours, it claims commands never sent.
    if (sn_lt(cmdsn_, expcmdsn)) {
        protocol_error("ExpCmdSN " + std::to_string(expcmdsn) + " beyond the next CmdSN " + std::to_string(cmdsn_));
        return false;
    }
    if (sn_lt(expcmdsn_, expcmdsn)) expcmdsn_ = expcmdsn;
    if (sn_lt(maxcmdsn_, maxcmdsn)) maxcmdsn_ = maxcmdsn;
    return true;
}

void Session::update_statsn(std::uint32_t statsn) {
    if (sn_le(expstatsn_, statsn)) expstatsn_ = statsn + 1;
}

void Session::on_pdu(const pdu::Bhs& bhs, Bytes data) {
    if (login_ || state_ == State::LoggingIn || state_ == State::Connecting) {
        if (bhs.opcode() != pdu::Opcode::LoginResponse)
            return protocol_error(std::string("unexpected ") + pdu::opcode_name(bhs.opcode()) + " during login");
        return on_login_response(bhs, data);
    }
    switch (bhs.opcode()) {
        case pdu::Opcode::ScsiResponse: on_scsi_response(bhs, data); break;
        case pdu::Opcode::DataIn: on_data_in(bhs, data); break;
        case pdu::Opcode::R2T: on_r2t(bhs); break;
        case pdu::Opcode::NopIn: on_nop_in(bhs, data); break;
        case pdu::Opcode::TextResponse: on_text_response(bhs, data); break;
        case pdu::Opcode::LogoutResponse: on_logout_response(bhs); break;
        case pdu::Opcode::AsyncMessage: on_async_message(bhs, data); break;
        case pdu::Opcode::Reject: on_reject(bhs, data); break;
        case pdu::Opcode::TaskMgmtResponse: on_task_mgmt_response(bhs); break;
        default:
            return protocol_error(std::string("unexpected ") + pdu::opcode_name(bhs.opcode()) + " in full feature phase");
    }
    if (state_ == State::FullFeature || state_ == State::LoggingOut) {
        issue_waiting();
        send_text_if_window();
        maybe_send_logout();
    }
}

MutableBytes Session::data_in_placement(const pdu::Bhs& bhs) {
    auto din = pdu::decode_data_in(bhs);
    if (!din) return {};
    ScsiTask* task = tasks_.find(din->itt);
    if (!task && retired(din->itt) && din->data_length <= kMaxDiscardedDataIn) {
        // A late answer for a reissued command (see retired_itts_): read off the wire, dropped.
        discarded_data_in_.resize(din->data_length);
        return MutableBytes(discarded_data_in_.data(), discarded_data_in_.size());
    }
    if (!task || !task->read) return {};
    if (din->buffer_offset > task->length || din->data_length > task->length - din->buffer_offset) return {};
    return MutableBytes(task->buffer + din->buffer_offset, din->data_length);
}

void Session::on_data_in(const pdu::Bhs& bhs, Bytes data) {
    auto din = pdu::decode_data_in(bhs);
    if (!din) return protocol_error(din.error().message);
    if (!update_window(din->expcmdsn, din->maxcmdsn)) return;
    ScsiTask* task = tasks_.find(din->itt);
    if (!task) {
        if (din->has_status) update_statsn(din->statsn);
        if (late_answer_for_retired(din->itt, "Data-In")) return;
        return protocol_error("Data-In for unknown ITT " + std::to_string(din->itt));
    }
    // DataPDUInOrder and DataSequenceInOrder are always Yes (we offer Yes; both are OR keys):
    // each Data-In carries the next DataSN and starts where the previous one ended. So the data
    // covers the transfer without a hole or an overlap, and `transferred` counts real bytes (a
    // short read fails in the LUN layer instead of returning stale buffer bytes as good).
    if (din->datasn != task->next_datasn || (!data.empty() && din->buffer_offset != task->transferred))
        return protocol_error("Data-In for ITT " + std::to_string(din->itt) + " out of order: DataSN " +
                              std::to_string(din->datasn) + " at offset " + std::to_string(din->buffer_offset) +
                              ", expected DataSN " + std::to_string(task->next_datasn) + " at offset " +
                              std::to_string(task->transferred));
    ++task->next_datasn;
    task->transferred += std::uint32_t(data.size());
    if (!din->has_status) return;
    update_statsn(din->statsn);
    take_task(din->itt);
    task->status = din->status;
    task->underflow = din->underflow;
    task->overflow = din->overflow;
    task->residual = din->residual;
    complete(*task);
}

void Session::on_scsi_response(const pdu::Bhs& bhs, Bytes data) {
    auto resp = pdu::decode_scsi_response(bhs);
    if (!resp) return protocol_error(resp.error().message);
    update_statsn(resp->statsn);
    if (!update_window(resp->expcmdsn, resp->maxcmdsn)) return;
    ScsiTask* task = take_task(resp->itt);
    if (!task) {
        if (late_answer_for_retired(resp->itt, "SCSI Response")) return;
        return protocol_error("SCSI Response for unknown ITT " + std::to_string(resp->itt));
    }
    if (resp->response != 0) {
        task->error = EIO;  // the target could not complete the command at all
    }
    task->status = resp->status;
    task->underflow = resp->underflow;
    task->overflow = resp->overflow;
    task->residual = resp->residual;
    if (datamover_->target_moves_data() && task->read)
        task->transferred = task->length - (resp->underflow ? std::min(resp->residual, task->length) : 0);
    // Sense data: 2-byte SenseLength, then the sense bytes.
    if (data.size() >= 2) {
        std::uint16_t len = load_be16(data.data());
        len = std::uint16_t(std::min<std::size_t>({len, data.size() - 2, task->sense.size()}));
        std::memcpy(task->sense.data(), data.data() + 2, len);
        task->sense_length = len;
    }
    complete(*task);
}

void Session::on_r2t(const pdu::Bhs& bhs) {
    auto r2t = pdu::decode_r2t(bhs);
    if (!r2t) return protocol_error(r2t.error().message);
    if (!update_window(r2t->expcmdsn, r2t->maxcmdsn)) return;
    ScsiTask* task = tasks_.find(r2t->itt);
    if (!task || !task->write) return protocol_error("R2T for unknown or non-write ITT " + std::to_string(r2t->itt));
    if (datamover_->target_moves_data()) return protocol_error("R2T on an iSER connection");
    if (r2t->desired_length == 0 || r2t->buffer_offset > task->length ||
        r2t->desired_length > task->length - r2t->buffer_offset || r2t->desired_length > params_.max_burst_length)
        return protocol_error("R2T outside the command's buffer");
    // Each R2T is answered at once with all its Data-Out, so what bounds the data a target can
    // make us queue is that every byte is asked for once: R2TSNs in order (no duplicate, no
    // gap: this session runs ErrorRecoveryLevel 0, which never resends an R2T), and with
    // DataSequenceInOrder=Yes each R2T after the previous one's data. Anything else drops the
    // connection (session recovery reissues the command).
    if (r2t->r2tsn != task->next_r2tsn)
        return protocol_error("R2T with R2TSN " + std::to_string(r2t->r2tsn) + " for ITT " + std::to_string(r2t->itt) +
                              " where " + std::to_string(task->next_r2tsn) + " was due (duplicate or out of order)");
    if (params_.data_sequence_in_order && r2t->buffer_offset < task->solicited_end)
        return protocol_error("R2T for ITT " + std::to_string(r2t->itt) + " asks again for data at offset " +
                              std::to_string(r2t->buffer_offset) + " (sent or asked for up to " +
                              std::to_string(task->solicited_end) + ")");
    if (r2t->desired_length > task->length - task->data_out_sent)
        return protocol_error("R2Ts for ITT " + std::to_string(r2t->itt) + " ask for more than the command's " +
                              std::to_string(task->length) + " bytes");
    ++task->next_r2tsn;
    task->solicited_end = std::max(task->solicited_end, r2t->buffer_offset + r2t->desired_length);
    send_data_out(*task, r2t->ttt, r2t->buffer_offset, r2t->desired_length);
}

void Session::on_nop_in(const pdu::Bhs& bhs, Bytes data) {
    auto nop = pdu::decode_nop_in(bhs);
    if (!nop) return protocol_error(nop.error().message);
    if (!update_window(nop->expcmdsn, nop->maxcmdsn)) return;
    if (nop->itt != pdu::kReservedTag) {
        update_statsn(nop->statsn);
        if (nop->itt == ping_itt_) {
            ping_itt_ = pdu::kReservedTag;
            if (nop_timer_) loop_.cancel_timer(std::exchange(nop_timer_, 0));
            arm_keepalive();
        }
        return;
    }
    if (nop->ttt == pdu::kReservedTag) return;  // unsolicited, no answer wanted
    // The target pings us: answer with its TTT, echoing its data (send_pdu copies what it
    // cannot send at once; `data` is gone after this call).
    pdu::NopOut out;
    out.immediate = true;
    out.lun = nop->lun;
    out.itt = pdu::kReservedTag;
    out.ttt = nop->ttt;
    out.cmdsn = cmdsn_;
    out.expstatsn = expstatsn_;
    out.data_length = std::uint32_t(data.size());
    (void)datamover_->send_pdu(pdu::encode(out), data);
}

void Session::text_request(std::string key, std::string value, TextDone done) {
    if (state_ != State::FullFeature || text_done_) {
        loop_.defer([done = std::move(done), alive = alive_] {
            if (*alive) done(make_error(EBUSY, "session not ready for a text request"));
        });
        return;
    }
    text_done_ = std::move(done);
    text_in_.clear();
    text_responses_ = 0;
    text_out_.assign(key.begin(), key.end());
    text_out_.push_back('=');
    text_out_.insert(text_out_.end(), value.begin(), value.end());
    text_out_.push_back(0);
    text_itt_ = next_control_itt();
    text_ttt_ = pdu::kReservedTag;
    text_unsent_ = true;
    text_timer_ = loop_.add_timer(config_.text_timeout, [this] {
        text_timer_ = 0;
        // The target may still answer; that late answer must not be taken for a new exchange.
        text_abandoned_itt_ = text_itt_;
        finish_text(make_error(ETIMEDOUT, "no answer to the Text Request within " +
                                              std::to_string(config_.text_timeout.count()) + " ms"));
    });
    send_text_if_window();
}

// A Text Request is a non-immediate command: it takes a CmdSN, so it waits for the window like
// a SCSI command (on_pdu calls this again after each window update).
void Session::send_text_if_window() {
    if (!text_unsent_ || !window_open() || !datamover_) return;
    text_unsent_ = false;
    pdu::TextRequest req;
    req.itt = text_itt_;
    req.ttt = text_ttt_;
    req.cmdsn = cmdsn_++;
    req.expstatsn = expstatsn_;
    req.data_length = std::uint32_t(text_out_.size());
    (void)datamover_->send_pdu(pdu::encode(req), Bytes(text_out_));  // a failed send ends in on_disconnected
}

void Session::finish_text(Result<std::vector<std::uint8_t>> result) {
    if (text_timer_) loop_.cancel_timer(std::exchange(text_timer_, 0));
    text_itt_ = pdu::kReservedTag;
    text_unsent_ = false;
    text_out_.clear();
    if (text_done_) std::exchange(text_done_, nullptr)(std::move(result));
}

void Session::on_text_response(const pdu::Bhs& bhs, Bytes data) {
    auto resp = pdu::decode_text_response(bhs);
    if (!resp) return protocol_error(resp.error().message);
    update_statsn(resp->statsn);
    if (!update_window(resp->expcmdsn, resp->maxcmdsn)) return;
    if (resp->itt != pdu::kReservedTag && resp->itt == text_abandoned_itt_) {
        ISER_LOG_WARN(log_, "%s: late Text Response for an exchange that timed out; ignored", config_.host.c_str());
        return;
    }
    if (resp->itt != text_itt_ || !text_done_ || text_unsent_) return protocol_error("unexpected Text Response");
    if (text_in_.size() + data.size() > (1u << 20)) return protocol_error("Text Response larger than 1 MiB");
    // Continuations are the target's to end; a target that never does (empty F=0 answers, say)
    // must not keep us asking forever.
    if (++text_responses_ > kMaxTextResponses)
        return protocol_error("Text exchange not ended after " + std::to_string(kMaxTextResponses) + " responses");
    text_in_.insert(text_in_.end(), data.begin(), data.end());
    if (resp->cont || !resp->final) {
        // Ask for the rest: an empty Text Request carrying the target's TTT.
        text_out_.clear();
        text_ttt_ = resp->ttt;
        text_unsent_ = true;
        send_text_if_window();
        return;
    }
    finish_text(std::move(text_in_));
}

void Session::on_async_message(const pdu::Bhs& bhs, Bytes) {
    auto msg = pdu::decode_async_message(bhs);
    if (!msg) return protocol_error(msg.error().message);
    update_statsn(msg->statsn);
    if (!update_window(msg->expcmdsn, msg->maxcmdsn)) return;
    // A target decides how many of these it sends: their log lines are rate-limited.
    const bool log_it = peer_log_limit_.allow();
    const std::string more = log_it ? suppressed_note(peer_log_limit_.take_suppressed()) : std::string();
    const char* host = config_.host.c_str();
    switch (msg->event) {
        case 0:
            if (log_it) ISER_LOG_INFO(log_, "%s: target reported a SCSI asynchronous event%s", host, more.c_str());
            break;
        case 1:
            if (log_it) ISER_LOG_WARN(log_, "%s: target requests logout within %u s%s", host, msg->param3, more.c_str());
            if (recovery_enabled()) {
                on_target_logout_request(*msg);
            } else if (state_ == State::FullFeature) {
                state_ = State::LoggingOut;
                // Same bound as logout(): a target that never answers must not leave us hanging.
                logout_timer_ = loop_.add_timer(config_.logout_timeout + config_.nop_timeout, [this] {
                    logout_timer_ = 0;
                    finish_logout(make_error(ETIMEDOUT, "logout requested by the target timed out; connection closed"));
                });
                maybe_send_logout();
            }
            break;
        case 2:
        case 3:
            if (log_it)
                ISER_LOG_WARN(log_, "%s: target will drop the %s (Time2Wait %u s)%s", host,
                              msg->event == 2 ? "connection" : "session", msg->param2, more.c_str());
            if (recovery_enabled() && state_ == State::FullFeature) {
                if (datamover_) datamover_->close();
                return connection_lost(make_error(ECONNRESET, "target dropped the connection (Async Message)"),
                                       std::min<std::chrono::milliseconds>(std::chrono::seconds(msg->param2), kMaxTime2Wait));
            }
            break;
        case 4:
            if (log_it) ISER_LOG_WARN(log_, "%s: target requests parameter renegotiation (not supported)%s", host, more.c_str());
            break;
        default:
            if (log_it) ISER_LOG_INFO(log_, "%s: async event %u ignored%s", host, msg->event, more.c_str());
            break;
    }
}

void Session::on_reject(const pdu::Bhs& bhs, Bytes data) {
    auto rej = pdu::decode_reject(bhs);
    if (!rej) return protocol_error(rej.error().message);
    update_statsn(rej->statsn);
    if (!update_window(rej->expcmdsn, rej->maxcmdsn)) return;
    if (data.size() < pdu::kBhsSize) return protocol_error("Reject without the rejected header");
    std::uint32_t itt = load_be32(data.data() + 16);
    if (peer_log_limit_.allow())
        ISER_LOG_ERROR(log_, "%s: target rejected a PDU (reason 0x%02x, ITT 0x%08x)%s",
                       config_.host.c_str(), rej->reason, itt, suppressed_note(peer_log_limit_.take_suppressed()).c_str());
    if (ScsiTask* task = take_task(itt)) {
        task->error = EIO;
        complete(*task);
    }
}

}  // namespace iser::session
