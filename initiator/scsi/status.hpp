// SCSI status byte values (SAM-5 §5.3) as carried in the iSCSI SCSI Response "Status" field.
#pragma once
#include <cstdint>

namespace iser::scsi {

namespace status {
constexpr std::uint8_t Good = 0x00;
constexpr std::uint8_t CheckCondition = 0x02;
constexpr std::uint8_t ConditionMet = 0x04;
constexpr std::uint8_t Busy = 0x08;
constexpr std::uint8_t ReservationConflict = 0x18;
constexpr std::uint8_t TaskSetFull = 0x28;
constexpr std::uint8_t AcaActive = 0x30;
constexpr std::uint8_t TaskAborted = 0x40;
}  // namespace status

// "GOOD", "CHECK CONDITION", ...; "UNKNOWN STATUS" for values SAM does not define.
const char* status_name(std::uint8_t status);

// errno for a non-GOOD status that carries no sense data, following the Linux midlayer:
// GOOD and CONDITION MET -> 0; BUSY, TASK SET FULL, TASK ABORTED, ACA ACTIVE -> EAGAIN
// (Linux requeues them); RESERVATION CONFLICT -> EBADE (BLK_STS_RESV_CONFLICT);
// CHECK CONDITION without sense and anything unknown -> EIO.
int status_to_errno(std::uint8_t status);

}  // namespace iser::scsi
