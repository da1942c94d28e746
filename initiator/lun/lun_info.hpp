// What the initiator learned about one LUN at attach time, and the block geometry that follows.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "common/block_backend.hpp"
#include "initiator/scsi/capacity.hpp"
#include "initiator/scsi/inquiry.hpp"

namespace iser::lun {

struct LunInfo {
    std::uint32_t lun = 0;
    scsi::StandardInquiry inquiry;
    scsi::ReadCapacity16 capacity;
    std::optional<scsi::BlockLimits> limits;                   // VPD B0 when offered
    std::optional<scsi::LogicalBlockProvisioning> provisioning; // VPD B2 when offered
    bool write_cache = false;  // MODE SENSE caching page WCE
    bool dpofua = false;       // the target honours FUA
    std::string device_id;     // VPD 83 preferred designator, or the serial
};

// Limits of the transport that bound one command's transfer.
inline constexpr std::uint32_t kDefaultMaxIoBytes = 1u << 20;

BlockGeometry geometry_for(const LunInfo& info, std::string name, std::uint32_t transport_max_io);

}  // namespace iser::lun
