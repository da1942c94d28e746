// One SCSI command as the session carries it. The caller owns the task object (one per
// frontend slot; no allocation per I/O) and keeps it alive until TaskOwner::task_done().
#pragma once
#include <array>
#include <chrono>
#include <cstdint>

#include "initiator/scsi/cdb.hpp"

namespace iser::session {

struct ScsiTask;

class TaskOwner {
public:
    // On the session's loop thread, never from inside Session::submit().
    virtual void task_done(ScsiTask& task) = 0;

protected:
    ~TaskOwner() = default;
};

struct ScsiTask {
    // ---- set by the caller
    std::uint32_t lun = 0;
    scsi::Cdb cdb{};
    bool read = false, write = false;
    std::uint8_t* buffer = nullptr;  // inside the session's I/O memory for iSER
    std::uint32_t length = 0;        // expected data transfer length
    std::uint8_t task_attr = 1;      // SIMPLE
    TaskOwner* owner = nullptr;
    std::uint64_t cookie = 0;

    // ---- results, valid in task_done()
    int error = 0;            // 0: the target answered (see status); else errno of a transport failure
    std::uint8_t status = 0;  // SCSI status
    bool underflow = false, overflow = false;
    std::uint32_t residual = 0;
    std::uint32_t transferred = 0;  // Data-In bytes received (TCP) or length - residual (iSER)
    std::uint16_t sense_length = 0;
    std::array<std::uint8_t, 252> sense{};

    // ---- session-private state
    std::uint32_t itt = 0;
    std::uint32_t cmdsn = 0;
    std::uint32_t data_out_sent = 0;  // unsolicited + solicited bytes handed to the datamover
    std::uint32_t next_r2tsn = 0;     // the R2TSN the target's next R2T must carry
    std::uint32_t next_datasn = 0;    // the DataSN the target's next Data-In must carry
    std::uint32_t solicited_end = 0;  // end of the data asked for so far (in order: next R2T starts here or later)
    ScsiTask* next = nullptr;         // intrusive queue link while waiting for the CmdSN window
    std::uint64_t seq = 0;            // submission order: reissues keep it
    std::chrono::steady_clock::time_point issued_at{};
    std::uint8_t retries = 0;         // reissues after ABORT TASK / LOGICAL UNIT RESET
    bool aborting = false;            // an ABORT TASK or LUN reset covers it
};

}  // namespace iser::session
