// Sense -> errno, modelled on the Linux SCSI midlayer (scsi_check_sense() and
// scsi_io_completion_action() in drivers/scsi) and on the block layer's blk_status -> errno
// table (blk_errors[] in block/blk-core.c). Following the kernel matters beyond taste: the
// ublk frontend hands our errno to the kernel, whose errno_to_blk_status() turns ENOSPC,
// ENODATA, EREMOTEIO, EOPNOTSUPP, EBADE, EILSEQ back into the very BLK_STS_* a local SCSI
// disk would have produced, so filesystems and dm see the same failure classes.
//
// Where we depart from the kernel, the comment says so and why.
#include <cerrno>

#include "initiator/scsi/cdb.hpp"
#include "initiator/scsi/sense.hpp"

namespace iser::scsi {
namespace {

// NOT READY, ASC 04: states that clear by themselves. The kernel does a delayed retry for
// exactly these ASCQs, and for 04/0A (ALUA state transition) re-prepares and retries.
bool not_ready_is_transient(std::uint8_t asc, std::uint8_t ascq) {
    if (asc != 0x04) return false;
    switch (ascq) {
    case 0x01:  // becoming ready
    case 0x04:  // format in progress
    case 0x05:  // rebuild in progress
    case 0x06:  // recalculation in progress
    case 0x07:  // operation in progress
    case 0x08:  // long write in progress
    case 0x09:  // self-test in progress
    case 0x0a:  // asymmetric access state transition
    case 0x11:  // notify (enable spinup) required
    case 0x14:  // space allocation in progress
    case 0x1a:  // start stop unit in progress
    case 0x1b:  // sanitize in progress
    case 0x1d:  // configuration in progress
    case 0x24:  // depopulation in progress
    case 0x25:  // depopulation restoration in progress
        return true;
    default:
        return false;
    }
}

}  // namespace

int sense_to_errno(const Sense& s) {
    // No decodable sense: nothing more specific than an I/O error can be said.
    if (!s.valid) return EIO;
    switch (s.key) {
    case sense_key::RecoveredError:
        // The target recovered; Linux logs it and completes the command as successful.
        return 0;
    case sense_key::NoSense:
        // CHECK CONDITION with NO SENSE: Linux fails the command (ACTION_FAIL, BLK_STS_IOERR).
        return EIO;
    case sense_key::NotReady:
        // Transient "becoming ready" states are retried; anything else (manual intervention,
        // medium not present, standby/unavailable ALUA ports) fails like BLK_STS_IOERR.
        return not_ready_is_transient(s.asc, s.ascq) ? EAGAIN : EIO;
    case sense_key::MediumError:
        // 11/xx unrecovered read, 13/xx address mark not found, 14/xx record not found:
        // Linux marks SCSIML_STAT_MED_ERROR -> BLK_STS_MEDIUM -> ENODATA.
        if (s.asc == 0x11 || s.asc == 0x13 || s.asc == 0x14) return ENODATA;
        // Other medium errors (0C/xx write errors...): Linux retries them a few times, then
        // reports BLK_STS_IOERR. The target has already retried internally, so we report EIO
        // at once instead of hammering a failing medium.
        return EIO;
    case sense_key::HardwareError:
        // SCSIML_STAT_TGT_FAILURE -> BLK_STS_TARGET -> EREMOTEIO ("critical target error").
        return EREMOTEIO;
    case sense_key::IllegalRequest:
        // 10/xx protection information check failed: BLK_STS_PROTECTION -> EILSEQ.
        if (s.asc == 0x10) return EILSEQ;
        // 20/00 invalid command operation code. Linux reports BLK_STS_TARGET and sd disables
        // the feature (discard, write same); we say EOPNOTSUPP directly, which the block
        // layer reads as BLK_STS_NOTSUPP: "this device cannot do that", not a broken disk.
        if (s.asc == 0x20) return EOPNOTSUPP;
        // 24/00 invalid field in CDB, 26/xx invalid field in parameter list, 1A/00
        // parameter list length error: the request we built was refused. EINVAL names that
        // (Linux reports EREMOTEIO); sense_to_errno(s, opcode) refines UNMAP/WRITE SAME.
        if (s.asc == 0x24 || s.asc == 0x26 || s.asc == 0x1a) return EINVAL;
        // 21/00 LBA out of range, 22/00 illegal function: Linux marks a target failure ->
        // BLK_STS_TARGET -> EREMOTEIO. (Not plain EIO: EREMOTEIO keeps the kernel's
        // "critical target error" class across ublk.)
        if (s.asc == 0x21 || s.asc == 0x22) return EREMOTEIO;
        // 27/xx write protected, reported by some targets as ILLEGAL REQUEST: see DATA PROTECT.
        if (s.asc == 0x27) return EROFS;
        // 25/00 logical unit not supported: the LUN is gone (e.g. unmapped on the target).
        if (s.asc == 0x25) return ENODEV;
        return EIO;
    case sense_key::UnitAttention:
        // Reset, power on, mode/capacity/LUN inventory changed...: the command was not
        // executed; Linux retries it on non-removable disks. The caller should also act on
        // 2A/09 (capacity changed) and 3F/0E (reported LUNs changed).
        return EAGAIN;
    case sense_key::DataProtect:
        // 27/07 space allocation failed write protect (thin pool hard threshold):
        // Linux SCSIML_STAT_NOSPC -> BLK_STS_NOSPC -> ENOSPC.
        if (s.asc == 0x27 && s.ascq == 0x07) return ENOSPC;
        // 27/xx write protected. Linux reports BLK_STS_TARGET (EREMOTEIO); we return EROFS
        // because it tells the operator what is wrong, and the daemon uses it to switch the
        // block device read-only. The kernel side still sees an I/O error.
        if (s.asc == 0x27) return EROFS;
        return EREMOTEIO;
    case sense_key::AbortedCommand:
        // 10/xx protection information error detected by the target: BLK_STS_PROTECTION.
        if (s.asc == 0x10) return EILSEQ;
        // Otherwise the target aborted the command (often a transport hiccup, 47/xx CRC,
        // 4B/xx data phase error): Linux retries.
        return EAGAIN;
    case sense_key::BlankCheck:
    case sense_key::CopyAborted:
    case sense_key::VolumeOverflow:
    case sense_key::Miscompare:
        // All marked as target failure by Linux -> BLK_STS_TARGET.
        return EREMOTEIO;
    default:
        // VENDOR SPECIFIC, COMPLETED, reserved: Linux's default is ACTION_FAIL / IOERR.
        return EIO;
    }
}

int sense_to_errno(const Sense& s, std::uint8_t cdb_opcode) {
    // Like sd_done(): an UNMAP or WRITE SAME refused with 20/00 or 24/00 means the target
    // does not support (that form of) discard; report "not supported" so it gets disabled.
    bool discard = cdb_opcode == opcode::Unmap || cdb_opcode == opcode::WriteSame16 ||
                   cdb_opcode == opcode::WriteSame10;
    if (discard && s.valid && s.key == sense_key::IllegalRequest && (s.asc == 0x20 || s.asc == 0x24))
        return EOPNOTSUPP;
    return sense_to_errno(s);
}

bool sense_is_retryable(const Sense& s) { return sense_to_errno(s) == EAGAIN; }

}  // namespace iser::scsi
