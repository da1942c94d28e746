// Convenience umbrella for the whole pure SCSI layer.
#pragma once
#include "initiator/scsi/capacity.hpp"
#include "initiator/scsi/cdb.hpp"
#include "initiator/scsi/inquiry.hpp"
#include "initiator/scsi/mode_sense.hpp"
#include "initiator/scsi/report_luns.hpp"
#include "initiator/scsi/sense.hpp"
#include "initiator/scsi/status.hpp"
#include "initiator/scsi/unmap.hpp"
