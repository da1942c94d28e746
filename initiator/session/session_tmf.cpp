// Command timeouts and task management (RFC 7143 §11.5), escalating like the Linux SCSI error
// handler: a command older than command_timeout is aborted with ABORT TASK and reissued (new
// ITT and CmdSN, same buffer: once the abort is answered the target no longer touches it); an
// abort that is refused or times out becomes a LOGICAL UNIT RESET, after which every command of
// that LUN is reissued; a reset that fails drops the connection and session recovery takes over.
#include <algorithm>

#include "initiator/session/session.hpp"

namespace iser::session {
namespace {
constexpr std::uint8_t kAbortTask = 1, kLogicalUnitReset = 5;
constexpr std::uint8_t kFunctionComplete = 0, kTaskDoesNotExist = 1;
constexpr std::uint8_t kMaxRetries = 5;
}  // namespace

void Session::arm_sweep() {
    if (config_.command_timeout.count() == 0 || sweep_timer_) return;
    // A tenth of the shortest timeout: checks stay cheap (one pass over the ITT table) and
    // timeouts fire at most 10% late.
    auto shortest = std::min(config_.command_timeout, config_.abort_timeout.count() ? config_.abort_timeout
                                                                                    : config_.command_timeout);
    auto period = std::clamp(shortest / 10, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
    sweep_timer_ = loop_.add_timer(period, [this] {
        sweep_timer_ = 0;
        sweep();
    });
}

void Session::sweep() {
    if (state_ != State::FullFeature) return;
    const auto now = std::chrono::steady_clock::now();
    // Task management requests past their deadline escalate.
    for (std::size_t i = 0; i < tmfs_.size(); ++i) {
        if (now < tmfs_[i].deadline) continue;
        Tmf t = tmfs_[i];
        tmfs_.erase(tmfs_.begin() + std::ptrdiff_t(i--));
        if (t.function == kLogicalUnitReset) {
            return drop_connection(make_error(ETIMEDOUT, "LOGICAL UNIT RESET of LUN " + std::to_string(t.lun) +
                                                             " not answered within " +
                                                             std::to_string(config_.abort_timeout.count()) + " ms"));
        }
        ISER_LOG_WARN(log_, "%s: ABORT TASK for ITT 0x%08x not answered; resetting LUN %u", config_.host.c_str(),
                      t.referenced_itt, t.lun);
        if (tasks_.find(t.referenced_itt)) send_lun_reset(t.lun);
    }
    std::vector<ScsiTask*> late;
    tasks_.for_each([&](ScsiTask* t) {
        if (!t->aborting && now - t->issued_at >= config_.command_timeout) late.push_back(t);
    });
    for (ScsiTask* t : late) {
        if (!tasks_.find(t->itt) || t->aborting) continue;  // a LUN reset above may cover it already
        ++stats_.command_timeouts;
        ISER_LOG_WARN(log_, "%s: command 0x%02x (ITT 0x%08x, LUN %u) timed out after %lld ms; aborting it",
                      config_.host.c_str(), t->cdb[0], t->itt, t->lun, (long long)config_.command_timeout.count());
        send_abort_task(*t);
    }
    arm_sweep();
}

void Session::send_abort_task(ScsiTask& task) {
    task.aborting = true;
    // A reset of the LUN in flight already covers this command.
    for (const Tmf& t : tmfs_)
        if (t.function == kLogicalUnitReset && t.lun == task.lun) return;
    ++stats_.aborts;
    pdu::TaskMgmtRequest req;
    req.immediate = true;
    req.function = kAbortTask;
    req.lun = pdu::encode_lun(task.lun);
    req.itt = next_control_itt();
    req.referenced_itt = task.itt;
    req.refcmdsn = task.cmdsn;
    req.cmdsn = cmdsn_;  // immediate: carries the next CmdSN without taking it
    req.expstatsn = expstatsn_;
    tmfs_.push_back({req.itt, kAbortTask, task.lun, task.itt, std::chrono::steady_clock::now() + config_.abort_timeout});
    (void)datamover_->send_pdu(pdu::encode(req), {});  // a failed send ends in on_disconnected
}

void Session::send_lun_reset(std::uint32_t lun) {
    for (const Tmf& t : tmfs_)
        if (t.function == kLogicalUnitReset && t.lun == lun) return;
    // The reset supersedes the aborts for this LUN.
    std::erase_if(tmfs_, [&](const Tmf& t) { return t.lun == lun; });
    tasks_.for_each([&](ScsiTask* t) {
        if (t->lun == lun) t->aborting = true;
    });
    ++stats_.lun_resets;
    pdu::TaskMgmtRequest req;
    req.immediate = true;
    req.function = kLogicalUnitReset;
    req.lun = pdu::encode_lun(lun);
    req.itt = next_control_itt();
    req.cmdsn = cmdsn_;
    req.expstatsn = expstatsn_;
    tmfs_.push_back({req.itt, kLogicalUnitReset, lun, pdu::kReservedTag,
                     std::chrono::steady_clock::now() + config_.abort_timeout});
    (void)datamover_->send_pdu(pdu::encode(req), {});
}

void Session::on_task_mgmt_response(const pdu::Bhs& bhs) {
    auto r = pdu::decode_task_mgmt_response(bhs);
    if (!r) return protocol_error(r.error().message);
    update_statsn(r->statsn);
    if (!update_window(r->expcmdsn, r->maxcmdsn)) return;
    auto it = std::find_if(tmfs_.begin(), tmfs_.end(), [&](const Tmf& t) { return t.itt == r->itt; });
    if (it == tmfs_.end()) return;  // answered after it was escalated or superseded
    const Tmf t = *it;
    tmfs_.erase(it);
    if (t.function == kAbortTask) {
        ScsiTask* task = tasks_.find(t.referenced_itt);
        if (!task) return;  // it completed before the abort reached it
        if (r->response == kFunctionComplete || r->response == kTaskDoesNotExist) {
            take_task(t.referenced_itt);
            retire_itt(t.referenced_itt);
            return reissue(*task);
        }
        ISER_LOG_WARN(log_, "%s: ABORT TASK for ITT 0x%08x refused (response %u); resetting LUN %u",
                      config_.host.c_str(), t.referenced_itt, r->response, t.lun);
        return send_lun_reset(t.lun);
    }
    if (r->response != kFunctionComplete)
        return drop_connection(make_error(EIO, "LOGICAL UNIT RESET of LUN " + std::to_string(t.lun) +
                                                   " refused (response " + std::to_string(r->response) + ")"));
    ISER_LOG_WARN(log_, "%s: LUN %u reset; reissuing its commands", config_.host.c_str(), t.lun);
    std::vector<ScsiTask*> victims;
    tasks_.for_each([&](ScsiTask* task) {
        if (task->lun == t.lun) victims.push_back(task);
    });
    std::sort(victims.begin(), victims.end(), [](const ScsiTask* a, const ScsiTask* b) { return a->seq < b->seq; });
    for (ScsiTask* task : victims) {
        take_task(task->itt);
        retire_itt(task->itt);
        reissue(*task);
    }
}

ScsiTask* Session::take_task(std::uint32_t itt) {
    ScsiTask* task = tasks_.remove(itt);
    if (task && datamover_) datamover_->end_command(itt);
    return task;
}

void Session::retire_itt(std::uint32_t itt) {
    retired_itts_[retired_next_] = itt;
    retired_next_ = (retired_next_ + 1) % retired_itts_.size();
}

bool Session::retired(std::uint32_t itt) const {
    return std::find(retired_itts_.begin(), retired_itts_.end(), itt) != retired_itts_.end();
}

bool Session::late_answer_for_retired(std::uint32_t itt, const char* what) {
    if (!retired(itt)) return false;
    ++stats_.late_answers;
    ISER_LOG_WARN(log_, "%s: %s for ITT 0x%08x after its command was aborted and reissued; ignored",
                  config_.host.c_str(), what, itt);
    return true;
}

void Session::reissue(ScsiTask& task) {
    task.aborting = false;
    if (task.retries >= kMaxRetries) return give_up(task, "retries exhausted");
    ++task.retries;
    ++stats_.retries;
    reset_results(task);
    requeue(task);  // issued by issue_waiting() at the end of on_pdu()
}

void Session::give_up(ScsiTask& task, const char* why) {
    ISER_LOG_ERROR(log_, "%s: command 0x%02x on LUN %u failed: %s", config_.host.c_str(), task.cdb[0], task.lun, why);
    reset_results(task);
    task.error = EIO;
    ++stats_.tasks_failed_eio;
    complete(task);
}

}  // namespace iser::session
