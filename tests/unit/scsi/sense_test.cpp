// Sense data as LIO and tgtd send it, in both formats, through the iSCSI sense segment.
#include <doctest/doctest.h>

#include <cerrno>
#include <vector>

#include "initiator/scsi/cdb.hpp"
#include "initiator/scsi/sense.hpp"
#include "initiator/scsi/status.hpp"

using namespace iser::scsi;
using Vec = std::vector<std::uint8_t>;

namespace {
Sense sense_of(std::uint8_t key, std::uint8_t asc, std::uint8_t ascq) {
    Sense s;
    s.valid = true;
    s.key = key;
    s.asc = asc;
    s.ascq = ascq;
    return s;
}
}  // namespace

TEST_CASE("fixed format: LIO LBA out of range (18 bytes, additional length 10)") {
    Vec d = {0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00,
             0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00};
    auto r = parse_sense(d);
    REQUIRE(r.ok());
    CHECK(r->valid);
    CHECK_FALSE(r->descriptor_format);
    CHECK_FALSE(r->deferred);
    CHECK(r->key == sense_key::IllegalRequest);
    CHECK(r->asc == 0x21);
    CHECK(r->ascq == 0x00);
    CHECK_FALSE(r->information.has_value());
    CHECK(describe(*r) == "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (asc 0x21 ascq 0x00)");
    CHECK(sense_to_errno(*r) == EREMOTEIO);
    CHECK_FALSE(sense_is_retryable(*r));
}

TEST_CASE("fixed format with VALID and INFORMATION: medium error at LBA 0x1234") {
    Vec d = {0xf0, 0x00, 0x03, 0x00, 0x00, 0x12, 0x34, 0x0a, 0x00, 0x00,
             0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00};
    auto r = parse_sense(d);
    REQUIRE(r.ok());
    REQUIRE(r->information.has_value());
    CHECK(*r->information == 0x1234);
    CHECK(r->key == sense_key::MediumError);
    CHECK(sense_to_errno(*r) == ENODATA);
    CHECK(describe(*r) == "MEDIUM ERROR: UNRECOVERED READ ERROR (asc 0x11 ascq 0x00)");
}

TEST_CASE("fixed format deferred error") {
    Vec d = {0x71, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x0a, 0, 0, 0, 0, 0x0c, 0x00};
    auto r = parse_sense(d);
    REQUIRE(r.ok());
    CHECK(r->deferred);
    CHECK(r->asc == 0x0c);
    CHECK(describe(*r) == "MEDIUM ERROR: WRITE ERROR (asc 0x0c ascq 0x00) [deferred]");
}

TEST_CASE("fixed format truncated after the sense key reads ASC/ASCQ as 0") {
    Vec d = {0x70, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x0a};
    auto r = parse_sense(d);
    REQUIRE(r.ok());
    CHECK(r->key == sense_key::UnitAttention);
    CHECK(r->asc == 0);
    CHECK(r->ascq == 0);
}

TEST_CASE("fixed format: ADDITIONAL SENSE LENGTH limits what is read") {
    // Additional length 4 covers bytes 8..11 only: the 0x29 at byte 12 is stale buffer.
    Vec d = {0x70, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 0, 0x29, 0x07};
    auto r = parse_sense(d);
    REQUIRE(r.ok());
    CHECK(r->asc == 0);
}

TEST_CASE("descriptor format: LIO with D_SENSE, unit attention I_T nexus loss") {
    Vec d = {0x72, 0x06, 0x29, 0x07, 0x00, 0x00, 0x00, 0x00};
    auto r = parse_sense(d);
    REQUIRE(r.ok());
    CHECK(r->descriptor_format);
    CHECK(r->key == sense_key::UnitAttention);
    CHECK(r->asc == 0x29);
    CHECK(r->ascq == 0x07);
    CHECK(sense_to_errno(*r) == EAGAIN);
    CHECK(sense_is_retryable(*r));
    CHECK(describe(*r) == "UNIT ATTENTION: I_T NEXUS LOSS OCCURRED (asc 0x29 ascq 0x07)");
}

TEST_CASE("descriptor format with an information descriptor (64-bit LBA)") {
    Vec d = {0x72, 0x03, 0x11, 0x00, 0x00, 0x00, 0x00, 0x0c,
             0x00, 0x0a, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x12, 0x34};
    auto r = parse_sense(d);
    REQUIRE(r.ok());
    REQUIRE(r->information.has_value());
    CHECK(*r->information == 0x0000000100001234ull);
}

TEST_CASE("descriptor format: information descriptor without VALID is ignored, truncated one too") {
    Vec no_valid = {0x72, 0x03, 0x11, 0x00, 0, 0, 0, 0x0c, 0x00, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34};
    CHECK_FALSE(parse_sense(no_valid)->information.has_value());
    Vec truncated = {0x72, 0x03, 0x11, 0x00, 0, 0, 0, 0x0c, 0x00, 0x0a, 0x80, 0, 0, 0};
    auto r = parse_sense(truncated);
    REQUIRE(r.ok());
    CHECK_FALSE(r->information.has_value());
    CHECK(r->asc == 0x11);
}

TEST_CASE("sense errors") {
    CHECK(parse_sense(Vec{}).error().code == EPROTO);
    CHECK(parse_sense(Vec{0x70, 0x00}).error().code == EPROTO);
    CHECK(parse_sense(Vec{0x72}).error().code == EPROTO);
    auto bad = parse_sense(Vec{0x7f, 0, 5, 0, 0, 0, 0, 0});
    CHECK(bad.error().code == EPROTO);
    CHECK(bad.error().message == "sense data has unknown response code 0x7f");
}

TEST_CASE("iSCSI sense segment: SenseLength prefix, padding, empty") {
    // 2-byte SenseLength 18, 18 bytes of fixed sense, 2 bytes of padding to a multiple of 4.
    Vec seg = {0x00, 0x12, 0x70, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00,
               0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    auto r = parse_iscsi_sense_segment(seg);
    REQUIRE(r.ok());
    CHECK(r->key == sense_key::NotReady);
    CHECK(r->asc == 0x04);
    CHECK(r->ascq == 0x01);
    CHECK(sense_to_errno(*r) == EAGAIN);

    auto none = parse_iscsi_sense_segment(Vec{});
    REQUIRE(none.ok());
    CHECK_FALSE(none->valid);
    auto zero = parse_iscsi_sense_segment(Vec{0x00, 0x00, 0x00, 0x00});
    REQUIRE(zero.ok());
    CHECK_FALSE(zero->valid);
    CHECK(describe(*zero) == "no sense data");

    CHECK(parse_iscsi_sense_segment(Vec{0x00}).error().code == EPROTO);
    auto over = parse_iscsi_sense_segment(Vec{0x00, 0x12, 0x70, 0x00, 0x05});
    CHECK(over.error().code == EPROTO);
    CHECK(over.error().message == "SenseLength 18 exceeds the 3 bytes of the data segment");
}

TEST_CASE("sense_to_errno follows the Linux midlayer") {
    CHECK(sense_to_errno(Sense{}) == EIO);
    CHECK(sense_to_errno(sense_of(sense_key::RecoveredError, 0x17, 0x01)) == 0);
    CHECK(sense_to_errno(sense_of(sense_key::NoSense, 0, 0)) == EIO);
    CHECK(sense_to_errno(sense_of(sense_key::NotReady, 0x04, 0x01)) == EAGAIN);
    CHECK(sense_to_errno(sense_of(sense_key::NotReady, 0x04, 0x0a)) == EAGAIN);
    CHECK(sense_to_errno(sense_of(sense_key::NotReady, 0x04, 0x03)) == EIO);
    CHECK(sense_to_errno(sense_of(sense_key::NotReady, 0x3a, 0x00)) == EIO);
    CHECK(sense_to_errno(sense_of(sense_key::MediumError, 0x11, 0x04)) == ENODATA);
    CHECK(sense_to_errno(sense_of(sense_key::MediumError, 0x14, 0x01)) == ENODATA);
    CHECK(sense_to_errno(sense_of(sense_key::MediumError, 0x0c, 0x00)) == EIO);
    CHECK(sense_to_errno(sense_of(sense_key::HardwareError, 0x44, 0x00)) == EREMOTEIO);
    CHECK(sense_to_errno(sense_of(sense_key::IllegalRequest, 0x20, 0x00)) == EOPNOTSUPP);
    CHECK(sense_to_errno(sense_of(sense_key::IllegalRequest, 0x24, 0x00)) == EINVAL);
    CHECK(sense_to_errno(sense_of(sense_key::IllegalRequest, 0x21, 0x00)) == EREMOTEIO);
    CHECK(sense_to_errno(sense_of(sense_key::IllegalRequest, 0x10, 0x01)) == EILSEQ);
    CHECK(sense_to_errno(sense_of(sense_key::IllegalRequest, 0x25, 0x00)) == ENODEV);
    CHECK(sense_to_errno(sense_of(sense_key::UnitAttention, 0x2a, 0x09)) == EAGAIN);
    CHECK(sense_to_errno(sense_of(sense_key::DataProtect, 0x27, 0x07)) == ENOSPC);
    CHECK(sense_to_errno(sense_of(sense_key::DataProtect, 0x27, 0x00)) == EROFS);
    CHECK(sense_to_errno(sense_of(sense_key::AbortedCommand, 0x47, 0x01)) == EAGAIN);
    CHECK(sense_to_errno(sense_of(sense_key::AbortedCommand, 0x10, 0x01)) == EILSEQ);
    CHECK(sense_to_errno(sense_of(sense_key::Miscompare, 0x1d, 0x00)) == EREMOTEIO);
    CHECK(sense_is_retryable(sense_of(sense_key::AbortedCommand, 0x4b, 0x00)));
    CHECK_FALSE(sense_is_retryable(sense_of(sense_key::MediumError, 0x11, 0x00)));
}

TEST_CASE("UNMAP / WRITE SAME refused with INVALID FIELD IN CDB means not supported") {
    Sense s = sense_of(sense_key::IllegalRequest, 0x24, 0x00);
    CHECK(sense_to_errno(s, opcode::Unmap) == EOPNOTSUPP);
    CHECK(sense_to_errno(s, opcode::WriteSame16) == EOPNOTSUPP);
    CHECK(sense_to_errno(s, opcode::Write16) == EINVAL);
}

TEST_CASE("describe: table, vendor specific and unknown") {
    CHECK(describe(sense_of(sense_key::UnitAttention, 0x3f, 0x0e)) ==
          "UNIT ATTENTION: REPORTED LUNS DATA HAS CHANGED (asc 0x3f ascq 0x0e)");
    CHECK(describe(sense_of(sense_key::DataProtect, 0x27, 0x07)) ==
          "DATA PROTECT: SPACE ALLOCATION FAILED WRITE PROTECT (asc 0x27 ascq 0x07)");
    CHECK(describe(sense_of(sense_key::HardwareError, 0x80, 0x01)) ==
          "HARDWARE ERROR: VENDOR SPECIFIC ADDITIONAL SENSE (asc 0x80 ascq 0x01)");
    CHECK(describe(sense_of(sense_key::IllegalRequest, 0x24, 0x07)) ==
          "ILLEGAL REQUEST: UNKNOWN ADDITIONAL SENSE (asc 0x24 ascq 0x07)");
    CHECK(asc_ascq_text(0x2a, 0x01) == std::string("MODE PARAMETERS CHANGED"));
    CHECK(asc_ascq_text(0x7e, 0x00) == nullptr);
}

TEST_CASE("status names and errno") {
    CHECK(std::string(status_name(status::Good)) == "GOOD");
    CHECK(std::string(status_name(status::CheckCondition)) == "CHECK CONDITION");
    CHECK(std::string(status_name(status::ReservationConflict)) == "RESERVATION CONFLICT");
    CHECK(std::string(status_name(status::TaskSetFull)) == "TASK SET FULL");
    CHECK(std::string(status_name(0x01)) == "UNKNOWN STATUS");
    CHECK(status_to_errno(status::Good) == 0);
    CHECK(status_to_errno(status::Busy) == EAGAIN);
    CHECK(status_to_errno(status::ReservationConflict) == EBADE);
    CHECK(status_to_errno(status::CheckCondition) == EIO);
}
