#include "initiator/scsi/status.hpp"

#include <cerrno>

namespace iser::scsi {

const char* status_name(std::uint8_t s) {
    switch (s) {
    case status::Good: return "GOOD";
    case status::CheckCondition: return "CHECK CONDITION";
    case status::ConditionMet: return "CONDITION MET";
    case status::Busy: return "BUSY";
    case status::ReservationConflict: return "RESERVATION CONFLICT";
    case status::TaskSetFull: return "TASK SET FULL";
    case status::AcaActive: return "ACA ACTIVE";
    case status::TaskAborted: return "TASK ABORTED";
    default: return "UNKNOWN STATUS";
    }
}

int status_to_errno(std::uint8_t s) {
    switch (s) {
    case status::Good:
    case status::ConditionMet:  // PRE-FETCH success; Linux treats it as good
        return 0;
    case status::Busy:
    case status::TaskSetFull:
    case status::TaskAborted:
    case status::AcaActive:
        return EAGAIN;  // transient: the midlayer requeues the command
    case status::ReservationConflict:
        return EBADE;  // BLK_STS_RESV_CONFLICT; another initiator holds the reservation
    default:
        return EIO;
    }
}

}  // namespace iser::scsi
